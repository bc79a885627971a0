package clusterwire

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestTableAwait(t *testing.T) {
	t.Run("done once Want answers are counted", func(t *testing.T) {
		tab := NewTable()
		p := NewPending(MsgServerSideEmit, 0)
		p.Want = 2
		err := tab.Await(context.Background(), "id1", p, func() error {
			go func() {
				for range 3 { // the third is counted by nobody: p is done
					if _, q := tab.Lookup("id1"); q != nil {
						q.AddAnswer(json.RawMessage(`"pong"`), nil)
					}
				}
			}()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := p.Result(); r.Got < 2 || len(r.Answers) < 2 || string(r.Answers[0].Arg(0)) != `"pong"` {
			t.Fatalf("result %+v, want two answers", r)
		}
		if tab.Has("id1") {
			t.Fatal("the table still holds the request after Await returned")
		}
	})
	t.Run("ends with its context", func(t *testing.T) {
		tab := NewTable()
		p := NewPending(MsgFetchSockets, 0)
		p.Want = 1
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if err := tab.Await(ctx, "id2", p, func() error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Await: %v, want the context's error", err)
		}
		if r := p.Result(); r.Got != 0 || r.Want != 1 {
			t.Fatalf("result %+v, want 0 of 1", r)
		}
	})
	t.Run("a failed publish is returned", func(t *testing.T) {
		tab := NewTable()
		boom := errors.New("boom")
		if err := tab.Await(context.Background(), "id3", NewPending(MsgFetchSockets, 0), func() error { return boom }); err != boom {
			t.Fatalf("Await: %v, want %v", err, boom)
		}
	})
	t.Run("acks are forgotten when their context ends", func(t *testing.T) {
		tab := NewTable()
		ctx, cancel := context.WithCancel(context.Background())
		tab.AddAck(ctx, "id4", &Ack{})
		if a, _ := tab.Lookup("id4"); a == nil {
			t.Fatal("ack not registered")
		}
		cancel()
		deadline := time.Now().Add(time.Second)
		for tab.Has("id4") && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if tab.Has("id4") {
			t.Fatal("ack still registered after its context ended")
		}
	})
}
