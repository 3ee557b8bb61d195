package protocol

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"fmt"
)

// ErrBadKey is wrapped by CheckBoxKeys' errors: a key a box offered, or one stored for it, that
// cannot be used.
var ErrBadKey = errors.New("unusable box key")

// keyProbe is a fixed X25519 private key: agreeing with it tells a usable public key from a
// low-order one, with which every key agreement gives all zeros.
var keyProbe = func() *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey([]byte("swarmbox box key probe scalar 32"))
	if err != nil {
		panic(err) // 32 bytes are always an X25519 private key
	}
	return k
}()

// CheckKEMKey checks that kem is an X25519 public key licenses can be sealed to: 32 bytes and
// not a low-order point (all-zero shared secret; crypto/ecdh refuses those).
func CheckKEMKey(kem []byte) error {
	pub, err := ecdh.X25519().NewPublicKey(kem)
	if err != nil {
		return fmt.Errorf("%w: kem_key must be a 32-byte X25519 public key", ErrBadKey)
	}
	if _, err := keyProbe.ECDH(pub); err != nil {
		return fmt.Errorf("%w: kem_key is a low-order X25519 point, with which no license could be sealed: make a new key pair", ErrBadKey)
	}
	return nil
}

// CheckBoxKeys checks a box's signing key (an Ed25519 public key) and KEM key (CheckKEMKey)
// before the head-end registers them.
func CheckBoxKeys(sign, kem []byte) error {
	if len(sign) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: sign_key must be a 32-byte Ed25519 public key", ErrBadKey)
	}
	return CheckKEMKey(kem)
}
