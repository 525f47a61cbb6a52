package table

// parentsFirst orders pairs so that a table comes after the tables its
// foreign keys reference at the destination (Dst.Refs), among those of
// the job; otherwise in the order given (by name). Planned and leased in
// this order, a child table's chunks run after its parents' have been
// handed out, so that a destination checking its foreign keys
// (PostgreSQL) rarely sees a child row before its parent. Tables in a
// cycle of references keep their order.
func parentsFirst(pairs []Pair) []Pair {
	pos := map[string]int{}
	for i, p := range pairs {
		pos[p.Dst.Name] = i
	}
	out := make([]Pair, 0, len(pairs))
	done := make([]bool, len(pairs))
	ready := func(p Pair) bool {
		for _, r := range p.Dst.Refs {
			if i, ok := pos[r]; ok && !done[i] {
				return false
			}
		}
		return true
	}
	for len(out) < len(pairs) {
		next := -1
		for i, p := range pairs {
			if !done[i] && ready(p) {
				next = i
				break
			}
		}
		if next < 0 { // a cycle: the first one left goes next
			for i := range pairs {
				if !done[i] {
					next = i
					break
				}
			}
		}
		done[next] = true
		out = append(out, pairs[next])
	}
	return out
}
