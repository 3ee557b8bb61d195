package keyvault

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"swarmbox/media"
)

// KeyStore is where the wrapped content keys live (the head-end's store).
type KeyStore interface {
	WrappedKeys(ctx context.Context) (map[media.ItemID][]byte, error)
	RewrapKeys(ctx context.Context, old, new map[media.ItemID][]byte) error
}

// Rotate makes a new master key and re-wraps every content key under it; no media changes, the
// content keys themselves stay the same. The new key is written to master.key.next first, the
// keys re-wrapped in one transaction, then master.key.next replaces master.key. Open tries
// master.key.next as well while it exists, so a crash at any step leaves every key readable.
// A master key from $SWARMBOX_MASTER_KEY cannot be rotated here: rotate into a file, then move
// the new key into the environment.
func (v *Vault) Rotate(ctx context.Context, dir string, keys KeyStore) (int, error) {
	if v.fromEnv {
		return 0, fmt.Errorf("the master key comes from %s: unset it to rotate the key file, or rotate it yourself", EnvMasterKey)
	}
	old, err := keys.WrappedKeys(ctx)
	if err != nil {
		return 0, err
	}
	next := make([]byte, 32)
	rand.Read(next)
	nv, err := New(next, v.signing)
	if err != nil {
		return 0, err
	}
	rewrapped := make(map[media.ItemID][]byte, len(old))
	for id, w := range old {
		key, err := v.Unwrap(id, w)
		if err != nil {
			return 0, fmt.Errorf("item %s: %w; nothing was changed", id, err)
		}
		rewrapped[id] = nv.Wrap(id, key)
	}
	nextPath, path := filepath.Join(dir, "master.key.next"), filepath.Join(dir, "master.key")
	if err := writeSecret(nextPath, next); err != nil {
		return 0, err
	}
	if err := keys.RewrapKeys(ctx, old, rewrapped); err != nil {
		os.Remove(nextPath)
		return 0, fmt.Errorf("re-wrap: %w; the old master key stays", err)
	}
	if err := os.Rename(nextPath, path); err != nil {
		return 0, fmt.Errorf("install new master key: %w (it is in %s; move it to %s)", err, nextPath, path)
	}
	v.mu.Lock()
	v.master, v.fallback = nv.master, nil
	v.mu.Unlock()
	return len(rewrapped), nil
}

func writeSecret(path string, k []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// loadFallback reads master.key.next, left by a rotation that is under way or was interrupted.
func loadFallback(dir string) (cipher.AEAD, error) {
	path := filepath.Join(dir, "master.key.next")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("%s is damaged: remove it if no rotation is under way", path)
	}
	return newAEAD(k)
}
