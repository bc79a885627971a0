package loop

import "testing"

type costOp int

func (costOp) Run()        {}
func (c costOp) Cost() int { return int(c) }

// TestTakeOpsRoundBudget checks how Run splits a backlog into rounds: as
// many ops as fit roundBudget, always at least one, in queue order, and the
// whole queue by swapping when it fits.
func TestTakeOpsRoundBudget(t *testing.T) {
	tests := []struct {
		name   string
		costs  []int
		rounds [][]int
	}{
		{name: "fits", costs: []int{1, 2, 3}, rounds: [][]int{{1, 2, 3}}},
		{name: "big op alone", costs: []int{1, roundBudget, 1, 1}, rounds: [][]int{{1}, {roundBudget}, {1, 1}}},
		{name: "over budget", costs: []int{roundBudget + 5, roundBudget / 2, roundBudget / 2, 1}, rounds: [][]int{{roundBudget + 5}, {roundBudget / 2, roundBudget / 2}, {1}}},
		{name: "plain ops count one", costs: []int{0, 0}, rounds: [][]int{{1, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Loop{}
			var total int64
			for _, c := range tt.costs {
				var op Op = costOp(c)
				if c == 0 {
					op = funcOp(func() {})
				}
				l.ops = append(l.ops, op)
				total += opCost(op)
			}
			for i, want := range tt.rounds {
				ops, cost := l.takeOpsLocked()
				var got []int
				var sum int64
				for _, op := range ops {
					got = append(got, int(opCost(op)))
					sum += opCost(op)
				}
				if len(got) != len(want) || sum != cost {
					t.Fatalf("round %d: took %v (cost %d), want %v", i, got, cost, want)
				}
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("round %d: took %v, want %v", i, got, want)
					}
				}
				l.spareOps = ops[:0]
				total -= cost
			}
			if len(l.ops) != 0 || total != 0 {
				t.Fatalf("%d ops (%d units) left", len(l.ops), total)
			}
		})
	}
}
