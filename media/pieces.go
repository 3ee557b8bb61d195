package media

// PieceRange is the half-open range of piece indexes [Begin, End) of a title's torrent: the
// unit in which the server's copy is shared and flash crowds are placed range by range.
type PieceRange struct {
	Begin int `json:"begin"`
	End   int `json:"end"`
}

// Len is how many pieces the range spans (0 when empty or inverted).
func (r PieceRange) Len() int { return max(0, r.End-r.Begin) }

// Empty says the range holds no piece.
func (r PieceRange) Empty() bool { return r.End <= r.Begin }

// Contains says piece i is in the range.
func (r PieceRange) Contains(i int) bool { return r.Begin <= i && i < r.End }

// Valid says the range is a non-empty range of a torrent with n pieces.
func (r PieceRange) Valid(n int) bool { return 0 <= r.Begin && r.Begin < r.End && r.End <= n }
