package hub

// Selector says who receives a broadcast, with socket.io semantics.
//
// A nil *Selector, or one with no Rooms, selects every registered member
// (io.emit). Several Rooms select their union, each member once
// (io.to(a).to(b)). Members of any Except room are removed
// (io.except(r)), and so is ExceptMember when HasExceptMember is set
// (socket.broadcast excludes the sender). Room names that do not exist
// select nothing and exclude nothing.
type Selector[M Member] struct {
	Rooms           []string
	Except          []string
	ExceptMember    M
	HasExceptMember bool
}

// scratch is pooled working space for selections that need more than one
// snapshot or a filtered copy.
type scratch[M Member] struct {
	sel  []*snapshot[M]
	ex   []*snapshot[M]
	out  []M
	seen map[M]struct{} // members already emitted for this group (unions)
	excl map[M]struct{} // members of the except rooms in this group
}

func newScratch[M Member]() *scratch[M] {
	return &scratch[M]{seen: make(map[M]struct{}), excl: make(map[M]struct{})}
}

func (h *Hub[M]) getScratch() *scratch[M] { return h.scratch.Get().(*scratch[M]) }

func (h *Hub[M]) putScratch(sc *scratch[M]) {
	clear(sc.sel[:cap(sc.sel)])
	clear(sc.ex[:cap(sc.ex)])
	sc.sel, sc.ex = sc.sel[:0], sc.ex[:0]
	h.scratch.Put(sc)
}

// ForEachGroup calls fn once for each group that has at least one selected
// member, in increasing group order, with that group's recipients. Each
// selected member appears exactly once; the order within a group is
// unspecified.
//
// The members slice is valid only until fn returns and must not be
// modified: it is a room snapshot or pooled scratch. fn runs with no hub
// lock held and may call any Hub method. Selecting one room (or everyone)
// with no Except rooms does not allocate; other selections use pooled
// scratch space. Safe from any goroutine.
func (h *Hub[M]) ForEachGroup(sel *Selector[M], fn func(group int, members []M)) {
	if sel == nil || (len(sel.Rooms) <= 1 && len(sel.Except) == 0) {
		var r *room[M]
		if sel == nil || len(sel.Rooms) == 0 {
			r = &h.all
		} else if r = h.lookup(sel.Rooms[0]); r == nil {
			return
		}
		s := r.load(h.groups)
		if sel != nil && sel.HasExceptMember {
			h.eachExceptOne(s, sel.ExceptMember, fn)
			return
		}
		for g, ms := range s.groups {
			if len(ms) > 0 {
				// Cap the slice so that an append by fn cannot reach the
				// spare capacity later joins append into.
				fn(g, ms[:len(ms):len(ms)])
			}
		}
		return
	}
	sc := h.getScratch()
	h.resolve(sc, sel)
	switch {
	case len(sc.sel) == 0:
	case len(sc.sel) == 1 && len(sc.ex) == 0:
		if sel.HasExceptMember {
			h.eachExceptOne(sc.sel[0], sel.ExceptMember, fn)
		} else {
			for g, ms := range sc.sel[0].groups {
				if len(ms) > 0 {
					fn(g, ms[:len(ms):len(ms)])
				}
			}
		}
	default:
		h.eachMerged(sc, sel, fn)
	}
	h.putScratch(sc)
}

// Count returns how many members sel selects, counting each once. Safe from
// any goroutine; it allocates nothing for one room (or everyone) with no
// Except rooms.
func (h *Hub[M]) Count(sel *Selector[M]) int {
	if sel == nil || (len(sel.Rooms) <= 1 && len(sel.Except) == 0) {
		var r *room[M]
		if sel == nil || len(sel.Rooms) == 0 {
			r = &h.all
		} else if r = h.lookup(sel.Rooms[0]); r == nil {
			return 0
		}
		s := r.load(h.groups)
		n := s.n
		if sel != nil && sel.HasExceptMember {
			if _, i := h.indexIn(s, sel.ExceptMember); i >= 0 {
				n--
			}
		}
		return n
	}
	n := 0
	h.ForEachGroup(sel, func(_ int, ms []M) { n += len(ms) })
	return n
}

// indexIn returns the group and position of m in s, or -1, -1. It looks
// in m's group first; a snapshot taken before m was regrouped (Regrouped)
// holds it in its old group.
func (h *Hub[M]) indexIn(s *snapshot[M], m M) (int, int) {
	g := h.groupOf(m)
	if g >= 0 && g < len(s.groups) {
		if i := indexOf(s.groups[g], m); i >= 0 {
			return g, i
		}
	}
	for og, ms := range s.groups {
		if og == g {
			continue
		}
		if i := indexOf(ms, m); i >= 0 {
			return og, i
		}
	}
	return -1, -1
}

func indexOf[M Member](ms []M, m M) int {
	for i, x := range ms {
		if x == m {
			return i
		}
	}
	return -1
}

// eachExceptOne walks s skipping one member. Only the excluded member's
// group is copied (into pooled scratch): an O(members of one group) memmove
// is far cheaper than the writes the caller is about to do per member.
func (h *Hub[M]) eachExceptOne(s *snapshot[M], ex M, fn func(int, []M)) {
	skipG, skipI := h.indexIn(s, ex)
	for g, ms := range s.groups {
		if g != skipG {
			if len(ms) > 0 {
				fn(g, ms[:len(ms):len(ms)])
			}
			continue
		}
		if len(ms) == 1 {
			continue
		}
		sc := h.getScratch()
		out := append(sc.out[:0], ms[:skipI]...)
		out = append(out, ms[skipI+1:]...)
		fn(g, out)
		clear(out)
		sc.out = out[:0]
		h.putScratch(sc)
	}
}

// resolve loads the snapshots named by sel into sc, dropping missing, empty
// and repeated rooms, and rooms that are also excluded.
func (h *Hub[M]) resolve(sc *scratch[M], sel *Selector[M]) {
	for _, name := range sel.Except {
		r := h.lookup(name)
		if r == nil {
			continue
		}
		if s := r.load(h.groups); s.n > 0 && !containsSnap(sc.ex, s) {
			sc.ex = append(sc.ex, s)
		}
	}
	if len(sel.Rooms) == 0 {
		if s := h.all.load(h.groups); s.n > 0 {
			sc.sel = append(sc.sel, s)
		}
		return
	}
	for _, name := range sel.Rooms {
		r := h.lookup(name)
		if r == nil {
			continue
		}
		s := r.load(h.groups)
		if s.n > 0 && !containsSnap(sc.sel, s) && !containsSnap(sc.ex, s) {
			sc.sel = append(sc.sel, s)
		}
	}
}

func containsSnap[M Member](list []*snapshot[M], s *snapshot[M]) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// eachMerged handles unions and except rooms, one group at a time so the
// sets stay as small as one group's share.
func (h *Hub[M]) eachMerged(sc *scratch[M], sel *Selector[M], fn func(int, []M)) {
	last := len(sc.sel) - 1
	// The last room is only looked up in the set, never inserted: make it
	// the largest, since inserts cost more than lookups.
	big := 0
	for i, s := range sc.sel {
		if s.n > sc.sel[big].n {
			big = i
		}
	}
	sc.sel[big], sc.sel[last] = sc.sel[last], sc.sel[big]
	for g := 0; g < h.groups; g++ {
		if len(sc.ex) > 0 {
			clear(sc.excl)
			for _, s := range sc.ex {
				for _, m := range s.groups[g] {
					sc.excl[m] = struct{}{}
				}
			}
		}
		if last > 0 {
			clear(sc.seen)
		}
		out := sc.out[:0]
		for i, s := range sc.sel {
			for _, m := range s.groups[g] {
				if sel.HasExceptMember && m == sel.ExceptMember {
					continue
				}
				if len(sc.excl) > 0 {
					if _, x := sc.excl[m]; x {
						continue
					}
				}
				if last > 0 {
					// A room has no duplicates of its own: the first room
					// needs no lookup and the last needs no insert.
					if i > 0 {
						if _, dup := sc.seen[m]; dup {
							continue
						}
					}
					if i < last {
						sc.seen[m] = struct{}{}
					}
				}
				out = append(out, m)
			}
		}
		if len(out) > 0 {
			fn(g, out)
		}
		clear(out)
		sc.out = out[:0]
	}
	// Drop references to members so pooled scratch does not keep them alive.
	clear(sc.excl)
	clear(sc.seen)
}

// Snapshot returns the recipients of a selection of one room (or everyone)
// with no Except rooms, bucketed by group (index g holds the members whose
// Group() is g), and true. The result is an immutable snapshot: it stays
// valid after the call and may be kept (a deferred broadcast walks it
// later), but must not be modified; ExceptMember is not applied. Other
// selections report false: use ForEachGroup. A room that does not exist
// yields nil, true. Safe from any goroutine; it does not allocate.
func (h *Hub[M]) Snapshot(sel *Selector[M]) ([][]M, bool) {
	if sel != nil && (len(sel.Rooms) > 1 || len(sel.Except) > 0) {
		return nil, false
	}
	r := &h.all
	if sel != nil && len(sel.Rooms) == 1 {
		if r = h.lookup(sel.Rooms[0]); r == nil {
			return nil, true
		}
	}
	return r.load(h.groups).groups, true
}
