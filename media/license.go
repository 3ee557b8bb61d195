package media

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// LicenseKind says how a title was bought.
type LicenseKind string

// License kinds. Owned licenses expire too and are renewed periodically, so a closed or
// suspended account stops playing.
const (
	Rental LicenseKind = "rental"
	Owned  LicenseKind = "owned"
)

// License lets one box play one title until it expires. The content key inside is wrapped to the
// box's X25519 key with HPKE, so only that box can use it.
type License struct {
	ID         string      `json:"id"` // 32 random hex digits
	Box        BoxID       `json:"box"`
	Item       ItemID      `json:"item"`
	Kind       LicenseKind `json:"kind"`
	Region     string      `json:"region"`
	Issued     time.Time   `json:"issued"`
	Expires    time.Time   `json:"expires"`
	WrappedKey []byte      `json:"wrapped_key"`
}

// License errors; each refusal has its own. A license for another title is ErrWrongItem.
var (
	ErrMalformedLicense = errors.New("license is malformed")
	ErrUnknownKind      = errors.New("license kind is unknown to this box")
	ErrBadSignature     = errors.New("license signature does not verify: it was not issued by this box's head-end or was altered")
	ErrWrongBox         = errors.New("license is for another box")
	ErrExpired          = errors.New("license expired")
	ErrNotYetValid      = errors.New("license is not valid yet")
	ErrKeyUnwrap        = errors.New("content key in the license does not open with this box's key")
)

// MaxLicenseSize bounds what ParseLicense accepts.
const MaxLicenseSize = 64 << 10

// clockSkew is how far ahead of the box's clock a license's issue time may be.
const clockSkew = 5 * time.Minute

// The HPKE suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
var (
	hpkeKDF  = hpke.HKDFSHA256()
	hpkeAEAD = hpke.AES256GCM()
)

// hpkeInfo binds a wrapped key to its license, so it cannot be moved to another. The id may have
// any length; box and item have fixed lengths at the end, so the encoding is unambiguous.
func (l *License) hpkeInfo() []byte {
	info := make([]byte, 0, 19+len(l.ID)+32)
	info = append(info, "swarmbox license v1"...)
	info = append(info, l.ID...)
	info = append(info, l.Box[:]...)
	return append(info, l.Item[:]...)
}

// WrapKey wraps key to the box's X25519 public key and stores it in l.WrappedKey. l's ID, Box
// and Item must be set first: they are bound into the wrapping.
func WrapKey(boxPub *ecdh.PublicKey, key ContentKey, l *License) error {
	switch {
	case l == nil:
		return errors.New("wrap content key: no license")
	case l.ID == "" || l.Box.IsZero() || l.Item.IsZero():
		return errors.New("wrap content key: license id, box and item must be set first")
	case boxPub == nil || boxPub.Curve() != ecdh.X25519():
		return errors.New("wrap content key: box key must be an X25519 key")
	}
	pk, err := hpke.NewDHKEMPublicKey(boxPub)
	if err != nil {
		return fmt.Errorf("wrap content key: %w", err)
	}
	ct, err := hpke.Seal(pk, hpkeKDF, hpkeAEAD, l.hpkeInfo(), key[:])
	if err != nil {
		return fmt.Errorf("wrap content key: %w", err)
	}
	l.WrappedKey = ct
	return nil
}

// UnwrapKey recovers the content key with the box's X25519 private key. It fails with
// ErrKeyUnwrap if the key is another box's or the license was altered.
func (l License) UnwrapKey(boxPriv *ecdh.PrivateKey) (ContentKey, error) {
	if boxPriv == nil || boxPriv.Curve() != ecdh.X25519() {
		return ContentKey{}, fmt.Errorf("%w: not an X25519 key", ErrKeyUnwrap)
	}
	sk, err := hpke.NewDHKEMPrivateKey(boxPriv)
	if err != nil {
		return ContentKey{}, fmt.Errorf("%w: %w", ErrKeyUnwrap, err)
	}
	pt, err := hpke.Open(sk, hpkeKDF, hpkeAEAD, l.hpkeInfo(), l.WrappedKey)
	if err != nil || len(pt) != len(ContentKey{}) {
		return ContentKey{}, ErrKeyUnwrap
	}
	return ContentKey(pt), nil
}

// envelope is the signed form. Signing the payload bytes as sent spares us a canonical JSON.
type envelope struct {
	V       int    `json:"v"`
	Payload []byte `json:"payload"`
	Sig     []byte `json:"sig"`
}

// validate checks what every license must have, so Sign never issues what ParseLicense refuses.
func (l *License) validate() error {
	switch {
	case len(l.ID) != 32 || !isHex(l.ID):
		return fmt.Errorf("%w: id %q is not 32 hex digits", ErrMalformedLicense, l.ID)
	case l.Box.IsZero():
		return fmt.Errorf("%w: no box", ErrMalformedLicense)
	case l.Item.IsZero():
		return fmt.Errorf("%w: no item", ErrMalformedLicense)
	case l.Kind != Rental && l.Kind != Owned:
		return fmt.Errorf("%w: %w (%q): update the box's software", ErrMalformedLicense, ErrUnknownKind, l.Kind)
	case l.Issued.IsZero():
		return fmt.Errorf("%w: no issue time", ErrMalformedLicense)
	case !l.Expires.After(l.Issued):
		return fmt.Errorf("%w: expires %s, not after it was issued", ErrMalformedLicense, l.Expires.Format(time.RFC3339))
	case len(l.WrappedKey) == 0:
		return fmt.Errorf("%w: no content key", ErrMalformedLicense)
	}
	return nil
}

// Sign returns the license signed with the head-end's key, as the envelope
// {"v":1,"payload":"<base64 license JSON>","sig":"<base64 Ed25519 signature of the payload>"}.
func (l License) Sign(headend ed25519.PrivateKey) ([]byte, error) {
	if len(headend) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign license: head-end key has %d bytes, want %d", len(headend), ed25519.PrivateKeySize)
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("sign license: %w", err)
	}
	payload, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("sign license: %w", err)
	}
	return json.Marshal(envelope{V: 1, Payload: payload, Sig: ed25519.Sign(headend, payload)})
}

// ParseLicense verifies a signed envelope with the head-end's key and decodes the license
// strictly. It does not check that the license is for this box, this item or now: see Check.
func ParseLicense(data []byte, headend ed25519.PublicKey) (License, error) {
	if len(data) > MaxLicenseSize {
		return License{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformedLicense, len(data), MaxLicenseSize)
	}
	var env envelope
	if err := strictJSON(data, &env); err != nil {
		return License{}, fmt.Errorf("%w: envelope: %w", ErrMalformedLicense, err)
	}
	if env.V != 1 {
		return License{}, fmt.Errorf("%w: envelope version %d", ErrMalformedLicense, env.V)
	}
	if len(headend) != ed25519.PublicKeySize {
		return License{}, fmt.Errorf("%w: head-end key has %d bytes", ErrBadSignature, len(headend))
	}
	if !ed25519.Verify(headend, env.Payload, env.Sig) {
		return License{}, ErrBadSignature
	}
	var l License
	if err := strictJSON(env.Payload, &l); err != nil {
		return License{}, fmt.Errorf("%w: %w", ErrMalformedLicense, err)
	}
	if err := l.validate(); err != nil {
		return License{}, err
	}
	return l, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// strictJSON decodes exactly one JSON value with no unknown fields and nothing after it.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// Check says whether the license lets box play item at now. The error says why not, for a
// person: ErrWrongBox, ErrWrongItem, ErrExpired or ErrNotYetValid.
func (l License) Check(box BoxID, item ItemID, now time.Time) error {
	const when = "2006-01-02 15:04 MST"
	switch {
	case l.Box != box:
		return fmt.Errorf("%w (%s); this is box %s", ErrWrongBox, l.Box, box)
	case l.Item != item:
		return fmt.Errorf("license %w: it is for %s, not %s", ErrWrongItem, l.Item, item)
	case !now.Before(l.Expires):
		what := "buy or renew it"
		if l.Kind == Owned {
			what = "connect the box to the network so it can renew it"
		}
		return fmt.Errorf("%w at %s: %s", ErrExpired, l.Expires.UTC().Format(when), what)
	case l.Issued.Sub(now) > clockSkew:
		return fmt.Errorf("%w: it was issued at %s, ahead of this box's clock (%s): check the clock",
			ErrNotYetValid, l.Issued.UTC().Format(when), now.UTC().Format(when))
	}
	return nil
}
