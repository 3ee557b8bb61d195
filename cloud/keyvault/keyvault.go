// Package keyvault holds the head-end's secrets: the master key that wraps every title's content
// key at rest, and the Ed25519 key that signs licenses. It issues licenses: a content key
// unwrapped from the vault and wrapped again, with HPKE, to one box's public key.
package keyvault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"swarmbox/media"
)

// EnvMasterKey names the environment variable that may carry the master key (64 hex digits),
// for operators who keep it out of the state folder.
const EnvMasterKey = "SWARMBOX_MASTER_KEY"

// ErrUnwrap is returned when a wrapped key does not open under the master key.
var ErrUnwrap = errors.New("content key does not unwrap under the master key")

// Vault wraps content keys and signs licenses.
type Vault struct {
	dir      string     // where the key files are ("" for New)
	mu       sync.Mutex // guards master and fallback, which a rotation replaces
	master   cipher.AEAD
	fallback cipher.AEAD // master.key.next of an interrupted rotation, tried after master
	fromEnv  bool
	signing  ed25519.PrivateKey
}

// Open loads the vault's keys from dir (master.key, signing.key), creating them with mode 0600 on
// first use. The master key comes from $SWARMBOX_MASTER_KEY instead when that is set.
func Open(dir string) (*Vault, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key vault folder: %w", err)
	}
	var master []byte
	fromEnv := false
	if env := strings.TrimSpace(os.Getenv(EnvMasterKey)); env != "" {
		fromEnv = true
		b, err := hex.DecodeString(env)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("%s must be 64 hex digits", EnvMasterKey)
		}
		master = b
	} else {
		b, err := loadOrCreate(filepath.Join(dir, "master.key"), 32)
		if err != nil {
			return nil, err
		}
		master = b
	}
	seed, err := loadOrCreate(filepath.Join(dir, "signing.key"), ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	v, err := New(master, ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return nil, err
	}
	v.fromEnv, v.dir = fromEnv, dir
	if !fromEnv {
		if v.fallback, err = loadFallback(dir); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// reload re-reads the key files after a failed unwrap: another process (swarmbox-cloud keys
// rotate) may have rotated the master key under this running head-end.
func (v *Vault) reload() bool {
	if v.dir == "" || v.fromEnv {
		return false
	}
	b, err := os.ReadFile(filepath.Join(v.dir, "master.key"))
	if err != nil {
		return false
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return false
	}
	m, err := newAEAD(k)
	if err != nil {
		return false
	}
	fb, _ := loadFallback(v.dir)
	v.mu.Lock()
	v.master, v.fallback = m, fb
	v.mu.Unlock()
	return true
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return cipher.NewGCM(block)
}

// New makes a vault from a 32-byte master key and a signing key.
func New(master []byte, signing ed25519.PrivateKey) (*Vault, error) {
	gcm, err := newAEAD(master)
	if err != nil {
		return nil, err
	}
	return &Vault{master: gcm, signing: signing}, nil
}

// loadOrCreate reads a secret of n bytes (hex in the file), or writes a new random one. The new
// file is written under a temporary name and renamed, so a crash never leaves half a key.
func loadOrCreate(path string, n int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != n {
			return nil, fmt.Errorf("%s is damaged (want %d hex-encoded bytes): restore it from backup", path, n)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, n)
	rand.Read(k)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return k, nil
}

func aad(item media.ItemID) []byte { return append([]byte("swarmbox keyvault v1 "), item[:]...) }

// Wrap encrypts a content key under the master key, bound to its item.
func (v *Vault) Wrap(item media.ItemID, key media.ContentKey) []byte {
	v.mu.Lock()
	m := v.master
	v.mu.Unlock()
	nonce := make([]byte, m.NonceSize())
	rand.Read(nonce)
	return m.Seal(nonce, nonce, key[:], aad(item))
}

// Unwrap reverses Wrap.
func (v *Vault) Unwrap(item media.ItemID, wrapped []byte) (media.ContentKey, error) {
	key, err := v.unwrap(item, wrapped)
	if errors.Is(err, ErrUnwrap) && v.reload() {
		return v.unwrap(item, wrapped)
	}
	return key, err
}

func (v *Vault) unwrap(item media.ItemID, wrapped []byte) (media.ContentKey, error) {
	var key media.ContentKey
	v.mu.Lock()
	keys := []cipher.AEAD{v.master, v.fallback}
	v.mu.Unlock()
	for _, m := range keys {
		if m == nil || len(wrapped) < m.NonceSize() {
			continue
		}
		ns := m.NonceSize()
		if pt, err := m.Open(nil, wrapped[:ns], wrapped[ns:], aad(item)); err == nil && len(pt) == len(key) {
			copy(key[:], pt)
			return key, nil
		}
	}
	return key, ErrUnwrap
}

// PublicKey is the key boxes verify licenses with.
func (v *Vault) PublicKey() ed25519.PublicKey { return v.signing.Public().(ed25519.PublicKey) }

// Issue wraps key to the box's KEM key inside l and returns the signed license envelope.
func (v *Vault) Issue(l media.License, boxKEM []byte, key media.ContentKey) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(boxKEM)
	if err != nil {
		return nil, fmt.Errorf("box key: %w", err)
	}
	if err := media.WrapKey(pub, key, &l); err != nil {
		return nil, err
	}
	return l.Sign(v.signing)
}

// SignStatement signs a head-end statement (protocol.TimeStatement: the time it vouches for in
// an answer) with the licence-signing key, which boxes pinned at registration. Statements begin
// with their own "swarmbox-…-v1" line, so none can pass for a licence payload (JSON).
func (v *Vault) SignStatement(msg []byte) []byte { return ed25519.Sign(v.signing, msg) }

// Token returns a MAC over parts, for URLs the head-end hands to one box (its announce URL, its
// web seed URLs), so that nobody else can use them. It is derived from the signing key, so it
// survives restarts without another secret to keep.
func (v *Vault) Token(parts ...string) string {
	k := sha256.Sum256(append([]byte("swarmbox token v1 "), v.signing.Seed()...))
	m := hmac.New(sha256.New, k[:])
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// CheckToken reports whether token is Token(parts...), in constant time.
func (v *Vault) CheckToken(token string, parts ...string) bool {
	return hmac.Equal([]byte(token), []byte(v.Token(parts...)))
}
