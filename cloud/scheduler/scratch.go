package scheduler

// scratch is what planning one request uses and the next one reuses: the range it asks for,
// whether it is a range placement from peers, the candidate buffer, and the marks of the boxes
// already considered for it. Nothing in it outlives the request.
type scratch struct {
	// placing: range placements from peers may use only half of a source's uplink, so the
	// wishes they will serve are never starved by them.
	placing bool
	want    PieceRange // the range the request being planned asks for
	candBuf []cand
	mark    []uint32 // mark[box] == stamp: already considered for the current request
	stamp   uint32
}

// cand is a usable source for the current request.
type cand struct {
	box   boxIdx
	rate  int64
	relay bool
	fed   bool
	rng   PieceRange
}

// begin starts a request for the range want (empty: the whole item) into box self: nobody is
// seen yet but the receiver.
func (sc *scratch) begin(self boxIdx, want PieceRange) {
	sc.want = want
	sc.stamp++
	sc.seen(self)
}

// end forgets the request's range.
func (sc *scratch) end() { sc.want = PieceRange{} }

// seen marks box b as considered for the current request and says whether it already was.
func (sc *scratch) seen(b boxIdx) bool {
	if sc.mark[b] == sc.stamp {
		return true
	}
	sc.mark[b] = sc.stamp
	return false
}

// isSeen says whether box b was already considered for the current request, without marking it.
func (sc *scratch) isSeen(b boxIdx) bool { return sc.mark[b] == sc.stamp }

// cands hands out the candidate buffer, emptied: the caller is done with the previous list.
func (sc *scratch) cands() []cand { return sc.candBuf[:0] }

// keep takes the buffer back after a list was built in it.
func (sc *scratch) keep(out []cand) { sc.candBuf = out[:0] }
