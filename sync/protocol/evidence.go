package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"io"

	"swarmbox/media"
)

// Challenge asks a box to prove it holds an item it claims: the SHA-256 of Nonce (its bytes as
// text) followed by the Length bytes of the sealed container at Offset. The head-end names a box
// as a source only for holdings it has evidence of (what it sent the box, what planned peers
// sent it) or that the box proved; it challenges the rest, and the box answers in its next sync.
type Challenge struct {
	Item   media.ItemID `json:"item"`
	Offset int64        `json:"offset"`
	Length int64        `json:"length"`
	Nonce  string       `json:"nonce"`
}

// Proof answers a Challenge: Hash is the hex SHA-256 of the nonce and the container bytes.
type Proof struct {
	Item  media.ItemID `json:"item"`
	Nonce string       `json:"nonce"`
	Hash  string       `json:"hash"`
}

// MaxChallengeLength bounds the bytes a challenge may ask a box to read.
const MaxChallengeLength = 1 << 20

// ProofHash answers a challenge over the bytes r holds (a sealed container): the hex SHA-256
// of the nonce followed by the n bytes at off.
func ProofHash(nonce string, r io.ReaderAt, off, n int64) (string, error) {
	h := sha256.New()
	h.Write([]byte(nonce))
	if _, err := io.Copy(h, io.NewSectionReader(r, off, n)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
