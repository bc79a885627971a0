package hub

import (
	"slices"
	"testing"
)

// tm is a test member: a pointer handle with a fixed group.
type tm struct {
	id int
	g  int
}

func (m *tm) Group() int { return m.g }

// collect runs ForEachGroup and returns the selected member ids, sorted. It
// fails t if fn is called for an empty or repeated group, out of order, or
// with a member of another group, or if a member appears twice.
func collect(t testing.TB, h *Hub[*tm], sel *Selector[*tm]) []int {
	t.Helper()
	var ids []int
	seen := map[*tm]bool{}
	lastG := -1
	h.ForEachGroup(sel, func(g int, ms []*tm) {
		if g <= lastG {
			t.Errorf("group %d after group %d", g, lastG)
		}
		lastG = g
		if len(ms) == 0 {
			t.Errorf("group %d called with no members", g)
		}
		for _, m := range ms {
			if m.g != g {
				t.Errorf("member %d of group %d delivered in group %d", m.id, m.g, g)
			}
			if seen[m] {
				t.Errorf("member %d delivered twice", m.id)
			}
			seen[m] = true
			ids = append(ids, m.id)
		}
	})
	slices.Sort(ids)
	return ids
}

func newMembers(n, groups int) []*tm {
	ms := make([]*tm, n)
	for i := range ms {
		ms[i] = &tm{id: i, g: i % groups}
	}
	return ms
}
