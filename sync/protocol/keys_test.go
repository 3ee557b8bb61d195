package protocol

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
)

// TestLowOrderKEMKeyRefused: an X25519 public key that is a low-order point (the all-zero key
// among them), with which every key agreement gives zeros, is refused, as are keys of the
// wrong length; a real key passes.
func TestLowOrderKEMKeyRefused(t *testing.T) {
	good, _ := ecdh.X25519().GenerateKey(rand.Reader)
	lowOrder := func(h string) []byte { b, _ := hex.DecodeString(h); return b }
	tests := []struct {
		name string
		key  []byte
		ok   bool
	}{
		{"generated", good.PublicKey().Bytes(), true},
		{"all zero", make([]byte, 32), false},
		{"one", append([]byte{1}, make([]byte, 31)...), false},
		{"order 8", lowOrder("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"), false},
		{"order 8 (other)", lowOrder("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"), false},
		{"p-1", lowOrder("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), false},
		{"short", make([]byte, 31), false},
		{"long", bytes.Repeat([]byte{9}, 33), false},
		{"none", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckKEMKey(tc.key)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadKey)) {
				t.Fatalf("CheckKEMKey(%x) = %v, want ok %v", tc.key, err, tc.ok)
			}
			if err := CheckBoxKeys(make([]byte, 32), tc.key); tc.ok != (err == nil) {
				t.Fatalf("CheckBoxKeys with kem %x = %v, want ok %v", tc.key, err, tc.ok)
			}
		})
	}
	if err := CheckBoxKeys(make([]byte, 31), good.PublicKey().Bytes()); !errors.Is(err, ErrBadKey) {
		t.Fatalf("a 31-byte signing key: %v, want ErrBadKey", err)
	}
}
