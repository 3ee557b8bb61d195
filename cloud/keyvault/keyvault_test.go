package keyvault

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"swarmbox/media"
)

func TestOpenPersistsKeysAndWrapBindsItem(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvMasterKey, "")
	v1, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var item, other media.ItemID
	item[0], other[0] = 1, 2
	key, _ := media.NewContentKey()
	w := v1.Wrap(item, key)

	v2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v2.Unwrap(item, w)
	if err != nil || got != key {
		t.Fatalf("reopened vault: unwrap = %v, %v", got, err)
	}
	if _, err := v2.Unwrap(other, w); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("unwrap under another item id: err = %v, want ErrUnwrap", err)
	}
	if _, err := v2.Unwrap(item, w[:5]); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("short wrapped key: err = %v", err)
	}
	if !v1.PublicKey().Equal(v2.PublicKey()) {
		t.Fatal("signing key changed across Open")
	}
	st, _ := os.Stat(filepath.Join(dir, "master.key"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("master.key mode %v, want 0600", st.Mode().Perm())
	}
}

func TestMasterKeyFromEnvironment(t *testing.T) {
	t.Setenv(EnvMasterKey, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key")); !os.IsNotExist(err) {
		t.Fatal("master.key written although the key came from the environment")
	}
	t.Setenv(EnvMasterKey, "nothex")
	if _, err := Open(t.TempDir()); err == nil {
		t.Fatal("bad master key in environment accepted")
	}
}

func TestIssueMakesALicenseTheBoxCanOpen(t *testing.T) {
	t.Setenv(EnvMasterKey, "")
	v, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	boxKEM, _ := ecdh.X25519().GenerateKey(rand.Reader)
	key, _ := media.NewContentKey()
	now := time.Now()
	l := media.License{ID: "0123456789abcdef0123456789abcdef", Kind: media.Rental, Region: "eu", Issued: now, Expires: now.Add(time.Hour)}
	l.Box[0], l.Item[0] = 7, 9
	env, err := v.Issue(l, boxKEM.PublicKey().Bytes(), key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := media.ParseLicense(env, v.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	k, err := got.UnwrapKey(boxKEM)
	if err != nil || k != key {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := v.Issue(l, []byte("short"), key); err == nil {
		t.Fatal("bad box key accepted")
	}
}
