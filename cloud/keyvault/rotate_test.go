package keyvault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"swarmbox/media"
)

// memKeys is a KeyStore in memory for the rotation test.
type memKeys struct {
	m    map[media.ItemID][]byte
	fail bool
}

func (k *memKeys) WrappedKeys(context.Context) (map[media.ItemID][]byte, error) {
	out := map[media.ItemID][]byte{}
	for id, w := range k.m {
		out[id] = w
	}
	return out, nil
}

func (k *memKeys) RewrapKeys(_ context.Context, _, n map[media.ItemID][]byte) error {
	if k.fail {
		return errors.New("database went away")
	}
	k.m = n
	return nil
}

func TestRotateRewrapsEveryKey(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvMasterKey, "")
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys := &memKeys{m: map[media.ItemID][]byte{}}
	plain := map[media.ItemID]media.ContentKey{}
	for i := range 3 {
		id := media.ItemID{byte(i + 1)}
		k, _ := media.NewContentKey()
		plain[id], keys.m[id] = k, v.Wrap(id, k)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	old, _ := keys.WrappedKeys(context.Background())

	keys.fail = true
	if _, err := v.Rotate(context.Background(), dir, keys); err == nil {
		t.Fatal("rotation succeeded although the store failed")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "master.key")); string(after) != string(before) {
		t.Fatal("a failed rotation changed the master key")
	}
	keys.fail = false
	n, err := v.Rotate(context.Background(), dir, keys)
	if err != nil || n != 3 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key.next")); !os.IsNotExist(err) {
		t.Fatal("master.key.next left behind")
	}
	reopened, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for id, w := range keys.m {
		if got, err := reopened.Unwrap(id, w); err != nil || got != plain[id] {
			t.Fatalf("item %s after rotation: %v", id, err)
		}
		if _, err := reopened.Unwrap(id, old[id]); !errors.Is(err, ErrUnwrap) {
			t.Fatal("the old master key still opens a key")
		}
	}
	// A head-end that was running during the rotation picks up the new key file by itself.
	if got, err := v.Unwrap(media.ItemID{1}, keys.m[media.ItemID{1}]); err != nil || got != plain[media.ItemID{1}] {
		t.Fatalf("running vault after rotation: %v", err)
	}
}

func TestRotateInterruptedKeepsKeysReadable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvMasterKey, "")
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := media.ItemID{1}
	k, _ := media.NewContentKey()
	// A crash after the store was re-wrapped but before master.key.next was renamed.
	next := make([]byte, 32)
	next[0] = 7
	if err := writeSecret(filepath.Join(dir, "master.key.next"), next); err != nil {
		t.Fatal(err)
	}
	nv, _ := New(next, v.signing)
	reopened, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := reopened.Unwrap(id, nv.Wrap(id, k)); err != nil || got != k {
		t.Fatalf("key wrapped under the interrupted rotation's key: %v", err)
	}
	if got, err := reopened.Unwrap(id, v.Wrap(id, k)); err != nil || got != k {
		t.Fatalf("key wrapped under the old key: %v", err)
	}
}

func TestRotateRefusesEnvironmentKey(t *testing.T) {
	t.Setenv(EnvMasterKey, strings.Repeat("ab", 32))
	v, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Rotate(context.Background(), t.TempDir(), &memKeys{}); err == nil {
		t.Fatal("rotated a key that lives in the environment")
	}
}
