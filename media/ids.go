// Package media holds what the head-end and the box share about a title: its id, the sealed
// container it travels in, and the license that lets one box play it. It knows nothing of the
// network, the database or the UI.
package media

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// ItemID identifies a title everywhere: 16 random bytes, shown as 32 lowercase hex digits.
type ItemID [16]byte

// BoxID identifies a box: the first 16 bytes of the SHA-256 of its Ed25519 signing key, so an id
// cannot be claimed without the key.
type BoxID [16]byte

// ContentKey is a title's AES-256 key.
type ContentKey [32]byte

// NewItemID returns a random item id.
func NewItemID() (ItemID, error) {
	var id ItemID
	if _, err := rand.Read(id[:]); err != nil {
		return ItemID{}, fmt.Errorf("new item id: %w", err)
	}
	return id, nil
}

// NewContentKey returns a random content key.
func NewContentKey() (ContentKey, error) {
	var k ContentKey
	if _, err := rand.Read(k[:]); err != nil {
		return ContentKey{}, fmt.Errorf("new content key: %w", err)
	}
	return k, nil
}

// BoxIDFromKey derives a box's id from its signing key.
func BoxIDFromKey(pub ed25519.PublicKey) BoxID {
	sum := sha256.Sum256(pub)
	return BoxID(sum[:16])
}

// parseID decodes s into id, which it leaves alone on error.
func parseID(kind, s string, id *[16]byte) error {
	if len(s) != 2*len(id) {
		if len(s) > 64 { // don't echo a huge input back
			s = s[:64] + "…"
		}
		return fmt.Errorf("%s id %q: want %d hex digits", kind, s, 2*len(id))
	}
	var v [16]byte
	if _, err := hex.Decode(v[:], []byte(s)); err != nil {
		return fmt.Errorf("%s id %q: %w", kind, s, err)
	}
	*id = v
	return nil
}

// ParseItemID parses an item id from its 32 hex digits.
func ParseItemID(s string) (ItemID, error) {
	var id [16]byte
	err := parseID("item", s, &id)
	return id, err
}

// ParseBoxID parses a box id from its 32 hex digits.
func ParseBoxID(s string) (BoxID, error) {
	var id [16]byte
	err := parseID("box", s, &id)
	return id, err
}

// String returns the id as 32 lowercase hex digits.
func (id ItemID) String() string { return hex.EncodeToString(id[:]) }

// String returns the id as 32 lowercase hex digits.
func (id BoxID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether the id is unset.
func (id ItemID) IsZero() bool { return id == ItemID{} }

// IsZero reports whether the id is unset.
func (id BoxID) IsZero() bool { return id == BoxID{} }

// MarshalText encodes the id as hex, so it is a string in JSON, also as a map key.
func (id ItemID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses the id from hex; on error id is unchanged.
func (id *ItemID) UnmarshalText(b []byte) error { return parseID("item", string(b), (*[16]byte)(id)) }

// MarshalText encodes the id as hex, so it is a string in JSON, also as a map key.
func (id BoxID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses the id from hex; on error id is unchanged.
func (id *BoxID) UnmarshalText(b []byte) error { return parseID("box", string(b), (*[16]byte)(id)) }
