package media

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

type licenseFixture struct {
	headPub  ed25519.PublicKey
	headPriv ed25519.PrivateKey
	boxKEM   *ecdh.PrivateKey
	box      BoxID
	key      ContentKey
	lic      License
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func newLicenseFixture(t testing.TB) *licenseFixture {
	t.Helper()
	f := &licenseFixture{}
	var err error
	if f.headPub, f.headPriv, err = ed25519.GenerateKey(nil); err != nil {
		t.Fatal(err)
	}
	boxSign, _, _ := ed25519.GenerateKey(nil)
	f.box = BoxIDFromKey(boxSign)
	if f.boxKEM, err = ecdh.X25519().GenerateKey(nil); err != nil {
		t.Fatal(err)
	}
	if f.key, err = NewContentKey(); err != nil {
		t.Fatal(err)
	}
	f.lic = License{ID: "0123456789abcdef0123456789abcdef", Box: f.box, Item: testItem, Kind: Rental, Region: "eu-west",
		Issued: t0, Expires: t0.Add(48 * time.Hour)}
	if err := WrapKey(f.boxKEM.PublicKey(), f.key, &f.lic); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *licenseFixture) sign(t testing.TB, l License) []byte {
	t.Helper()
	env, err := l.Sign(f.headPriv)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return env
}

func TestLicenseRoundTrip(t *testing.T) {
	f := newLicenseFixture(t)
	env := f.sign(t, f.lic)

	var raw map[string]any
	if err := json.Unmarshal(env, &raw); err != nil || raw["v"] != 1.0 || len(raw) != 3 {
		t.Fatalf("envelope %s: %v", env, err)
	}
	payload, _ := base64.StdEncoding.DecodeString(raw["payload"].(string))
	for _, field := range []string{"id", "box", "item", "kind", "region", "issued", "expires", "wrapped_key"} {
		if !bytes.Contains(payload, []byte(`"`+field+`":`)) {
			t.Errorf("payload %s has no field %q", payload, field)
		}
	}

	got, err := ParseLicense(env, f.headPub)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != f.lic.ID || got.Box != f.box || got.Item != testItem || got.Kind != Rental || got.Region != "eu-west" ||
		!got.Issued.Equal(t0) || !got.Expires.Equal(f.lic.Expires) || !bytes.Equal(got.WrappedKey, f.lic.WrappedKey) {
		t.Fatalf("ParseLicense = %+v, want %+v", got, f.lic)
	}
	if err := got.Check(f.box, testItem, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	key, err := got.UnwrapKey(f.boxKEM)
	if err != nil || key != f.key {
		t.Fatalf("UnwrapKey = %x, %v; want %x", key, err, f.key)
	}
}

func TestLicenseCheck(t *testing.T) {
	f := newLicenseFixture(t)
	owned := f.lic
	owned.Kind = Owned
	tests := []struct {
		name string
		lic  License
		box  BoxID
		item ItemID
		now  time.Time
		want error
		says string // part of the message
	}{
		{"valid", f.lic, f.box, testItem, t0, nil, ""},
		{"clock a little behind", f.lic, f.box, testItem, t0.Add(-4 * time.Minute), nil, ""},
		{"wrong box", f.lic, BoxID{1}, testItem, t0, ErrWrongBox, "another box"},
		{"wrong item", f.lic, f.box, ItemID{1}, t0, ErrWrongItem, "another title"},
		{"expired", f.lic, f.box, testItem, t0.Add(48 * time.Hour), ErrExpired, "license expired at 2026-11-26 10:00 UTC: buy or renew it"},
		{"owned expired", owned, f.box, testItem, t0.Add(49 * time.Hour), ErrExpired, "renew"},
		{"not yet valid", f.lic, f.box, testItem, t0.Add(-6 * time.Minute), ErrNotYetValid, "check the clock"},
	}
	seen := map[error]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.lic.Check(tt.box, tt.item, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Check = %v, want %v saying %q", err, tt.want, tt.says)
			}
			for other := range seen {
				if other != tt.want && errors.Is(err, other) {
					t.Fatalf("Check = %v, which is also %v", err, other)
				}
			}
			seen[tt.want] = true
		})
	}
}

func TestParseLicenseRejects(t *testing.T) {
	f := newLicenseFixture(t)
	good := f.sign(t, f.lic)
	otherPub, _, _ := ed25519.GenerateKey(nil)

	// resign signs an arbitrary payload, to reach the checks behind the signature.
	resign := func(payload string) []byte {
		b, _ := json.Marshal(envelope{V: 1, Payload: []byte(payload), Sig: ed25519.Sign(f.headPriv, []byte(payload))})
		return b
	}
	payloadOf := func(l License) string { b, _ := json.Marshal(l); return string(b) }
	withKind := f.lic
	withKind.Kind = "subscription"
	backwards := f.lic
	backwards.Expires = t0.Add(-time.Hour)
	flipped := func() []byte {
		var env envelope
		_ = json.Unmarshal(good, &env)
		env.Payload[len(env.Payload)/2] ^= 1
		b, _ := json.Marshal(env)
		return b
	}()

	tests := []struct {
		name string
		in   []byte
		key  ed25519.PublicKey
		want error
	}{
		{"other head-end", good, otherPub, ErrBadSignature},
		{"flipped payload byte", flipped, f.headPub, ErrBadSignature},
		{"short head-end key", good, f.headPub[:5], ErrBadSignature},
		{"not JSON", []byte("license please"), f.headPub, ErrMalformedLicense},
		{"empty", nil, f.headPub, ErrMalformedLicense},
		{"null", []byte("null"), f.headPub, ErrMalformedLicense},
		{"truncated", good[:len(good)-2], f.headPub, ErrMalformedLicense},
		{"trailing data", append(bytes.Clone(good), "{}"...), f.headPub, ErrMalformedLicense},
		{"trailing bracket", append(bytes.Clone(good), ']'), f.headPub, ErrMalformedLicense},
		{"unknown envelope field", bytes.Replace(good, []byte(`{"v":1`), []byte(`{"x":0,"v":1`), 1), f.headPub, ErrMalformedLicense},
		{"envelope version 2", bytes.Replace(good, []byte(`"v":1`), []byte(`"v":2`), 1), f.headPub, ErrMalformedLicense},
		{"too big", append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxLicenseSize)...), f.headPub, ErrMalformedLicense},
		{"payload not JSON", resign("hello"), f.headPub, ErrMalformedLicense},
		{"unknown payload field", resign(strings.Replace(payloadOf(f.lic), `{"id"`, `{"price":1,"id"`, 1)), f.headPub, ErrMalformedLicense},
		{"missing field", resign(strings.Replace(payloadOf(f.lic), `"kind":"rental",`, ``, 1)), f.headPub, ErrMalformedLicense},
		{"empty payload object", resign("{}"), f.headPub, ErrMalformedLicense},
		{"unknown kind", resign(payloadOf(withKind)), f.headPub, ErrUnknownKind},
		{"expires before issued", resign(payloadOf(backwards)), f.headPub, ErrMalformedLicense},
		{"bad box id", resign(strings.Replace(payloadOf(f.lic), f.box.String(), "xyz", 1)), f.headPub, ErrMalformedLicense},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseLicense(tt.in, tt.key); !errors.Is(err, tt.want) {
				t.Fatalf("ParseLicense error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignRefusesInvalid(t *testing.T) {
	f := newLicenseFixture(t)
	noKey := f.lic
	noKey.WrappedKey = nil
	badKind := f.lic
	badKind.Kind = ""
	for _, l := range []License{noKey, badKind, {}} {
		if _, err := l.Sign(f.headPriv); !errors.Is(err, ErrMalformedLicense) {
			t.Errorf("Sign(%+v) = %v, want ErrMalformedLicense", l, err)
		}
	}
	if _, err := f.lic.Sign(f.headPriv[:10]); err == nil {
		t.Error("Sign with a short key succeeded")
	}
}

func TestUnwrapKeyRejects(t *testing.T) {
	f := newLicenseFixture(t)
	otherBox, _ := ecdh.X25519().GenerateKey(nil)
	p256, _ := ecdh.P256().GenerateKey(nil)
	moved := f.lic
	moved.ID = "ffffffffffffffffffffffffffffffff" // the same wrapped key under another license
	otherItem := f.lic
	otherItem.Item = ItemID{7}
	cut := f.lic
	cut.WrappedKey = cut.WrappedKey[:10]

	tests := []struct {
		name string
		lic  License
		priv *ecdh.PrivateKey
	}{
		{"another box's key", f.lic, otherBox},
		{"moved to another license", moved, f.boxKEM},
		{"moved to another item", otherItem, f.boxKEM},
		{"cut short", cut, f.boxKEM},
		{"no key", f.lic, nil},
		{"P-256 key", f.lic, p256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, err := tt.lic.UnwrapKey(tt.priv); !errors.Is(err, ErrKeyUnwrap) || k != (ContentKey{}) {
				t.Fatalf("UnwrapKey = %x, %v; want ErrKeyUnwrap", k, err)
			}
		})
	}
}

func TestWrapKeyRejects(t *testing.T) {
	f := newLicenseFixture(t)
	p256, _ := ecdh.P256().GenerateKey(nil)
	noID := f.lic
	noID.ID = ""
	noBox := f.lic
	noBox.Box = BoxID{}
	tests := []struct {
		name string
		pub  *ecdh.PublicKey
		lic  *License
	}{
		{"nil license", f.boxKEM.PublicKey(), nil},
		{"nil key", nil, &f.lic},
		{"P-256 key", p256.PublicKey(), &f.lic},
		{"no id", f.boxKEM.PublicKey(), &noID},
		{"no box", f.boxKEM.PublicKey(), &noBox},
	}
	for _, tt := range tests {
		if err := WrapKey(tt.pub, f.key, tt.lic); err == nil {
			t.Errorf("%s: WrapKey succeeded", tt.name)
		}
	}
}

func FuzzParseLicense(f *testing.F) {
	fx := newLicenseFixture(f)
	good := fx.sign(f, fx.lic)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(`{"v":1,"payload":"e30=","sig":""}`))
	f.Add([]byte(`{"v":1,"payload":null,"sig":null}`))
	f.Add([]byte("junk"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLicense(data, fx.headPub)
		if err != nil {
			return
		}
		// Only the head-end can sign, so anything that parses must be the license it signed.
		if l.ID != fx.lic.ID || !bytes.Equal(l.WrappedKey, fx.lic.WrappedKey) {
			t.Fatalf("parsed a license the head-end did not sign: %+v", l)
		}
		_ = l.Check(fx.box, testItem, t0)
	})
}
