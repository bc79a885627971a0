package hub_test

import (
	"fmt"
	"slices"

	"github.com/sioloop/sioloop/hub"
)

// conn stands in for a connection handle owned by event loop loop.
type conn struct {
	name string
	loop int
}

func (c *conn) Group() int { return c.loop }

// Example shows a broadcast: the message is encoded once, and every event
// loop is handed its share of the recipients to write it to.
func Example() {
	h := hub.New(2, (*conn).Group)
	alice, bob, carol := &conn{"alice", 0}, &conn{"bob", 1}, &conn{"carol", 1}
	h.Join(alice, "lobby")
	h.Join(bob, "lobby", "admins")
	h.Join(carol, "admins")

	msg := []byte(`42["chat","hi"]`) // encoded once, shared read-only
	// socket.broadcast.to("lobby").to("admins").emit from alice's socket.
	sel := &hub.Selector[*conn]{Rooms: []string{"lobby", "admins"}, ExceptMember: alice, HasExceptMember: true}
	h.ForEachGroup(sel, func(loop int, members []*conn) {
		// A real server posts one task to the loop here; members must be
		// copied if the task outlives this call.
		var names []string
		for _, c := range members {
			names = append(names, c.name) // the task would write msg to c
		}
		slices.Sort(names) // order within a loop is unspecified
		fmt.Printf("loop %d: %v <- %s\n", loop, names, msg)
	})
	fmt.Println(h.Count(sel), "recipients")
	// Output:
	// loop 1: [bob carol] <- 42["chat","hi"]
	// 2 recipients
}

// ExampleHub_Snapshot keeps a room's recipients for later: a broadcast that
// is delivered after the call (by a queued task) reaches exactly the
// members of the moment it was sent.
func ExampleHub_Snapshot() {
	h := hub.New(2, (*conn).Group)
	alice, bob := &conn{"alice", 0}, &conn{"bob", 1}
	h.Join(alice, "lobby")
	h.Join(bob, "lobby")

	groups, ok := h.Snapshot(&hub.Selector[*conn]{Rooms: []string{"lobby"}})
	h.Leave(bob, "lobby") // after the broadcast: bob still gets it
	h.Join(&conn{"carol", 1}, "lobby")

	for loop, members := range groups {
		for _, c := range members {
			fmt.Printf("loop %d task writes to %s\n", loop, c.name)
		}
	}
	fmt.Println(ok, h.Size("lobby"), "members now")
	// Output:
	// loop 0 task writes to alice
	// loop 1 task writes to bob
	// true 2 members now
}
