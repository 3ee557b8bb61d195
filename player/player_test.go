package player

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"swarmbox/media"
)

type world struct {
	keys     Keys
	headend  ed25519.PrivateKey
	item     media.ItemID
	key      media.ContentKey
	path     string
	plain    []byte
	now      time.Time
	envelope []byte
}

func newWorld(t *testing.T) *world { return newWorldSize(t, 300_000) }

// newWorldSize makes a bought title of n plaintext bytes.
func newWorldSize(t testing.TB, n int) *world {
	t.Helper()
	w := &world{now: time.Unix(1_800_000_000, 0)}
	hpub, hpriv, _ := ed25519.GenerateKey(rand.Reader)
	bpub, _, _ := ed25519.GenerateKey(rand.Reader)
	kem, _ := ecdh.X25519().GenerateKey(rand.Reader)
	w.keys = Keys{Box: media.BoxIDFromKey(bpub), KEM: kem, Headend: hpub}
	w.headend = hpriv
	w.item, _ = media.NewItemID()
	w.key, _ = media.NewContentKey()
	w.plain = make([]byte, n)
	rand.Read(w.plain)
	var sealed bytes.Buffer
	if _, err := media.Seal(context.Background(), &sealed, bytes.NewReader(w.plain), int64(len(w.plain)), w.item, w.key, media.SealOptions{}); err != nil {
		t.Fatal(err)
	}
	w.path = filepath.Join(t.TempDir(), "c.sbx")
	os.WriteFile(w.path, sealed.Bytes(), 0o600)
	w.envelope = w.license(t, w.keys.Box, kem.PublicKey(), w.now.Add(time.Hour))
	return w
}

func (w *world) license(t testing.TB, box media.BoxID, to *ecdh.PublicKey, expires time.Time) []byte {
	l := media.License{ID: "00112233445566778899aabbccddeeff", Box: box, Item: w.item, Kind: media.Rental, Region: "eu", Issued: w.now.Add(-time.Minute), Expires: expires}
	if err := media.WrapKey(to, w.key, &l); err != nil {
		t.Fatal(err)
	}
	env, err := l.Sign(w.headend)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestPlayDecryptsBoughtTitle(t *testing.T) {
	w := newWorld(t)
	title, err := Open(w.keys, w.item, w.envelope, w.path, w.now)
	if err != nil {
		t.Fatal(err)
	}
	defer title.Close()
	out := filepath.Join(t.TempDir(), "out")
	if err := WriteFile(context.Background(), title, out); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, w.plain) {
		t.Fatal("decrypted output differs")
	}
}

func TestPlayRefusals(t *testing.T) {
	w := newWorld(t)
	otherKEM, _ := ecdh.X25519().GenerateKey(rand.Reader)
	_, otherHeadend, _ := ed25519.GenerateKey(rand.Reader)
	forged := media.License{ID: "00112233445566778899aabbccddeeff", Box: w.keys.Box, Item: w.item, Kind: media.Owned, Issued: w.now, Expires: w.now.Add(time.Hour)}
	media.WrapKey(w.keys.KEM.PublicKey(), w.key, &forged)
	forgedEnv, _ := forged.Sign(otherHeadend)
	tests := []struct {
		name     string
		envelope []byte
		path     string
		now      time.Time
		want     error
	}{
		{"not bought", nil, w.path, w.now, ErrNotBought},
		{"expired", w.envelope, w.path, w.now.Add(2 * time.Hour), media.ErrExpired},
		{"another box's license", w.license(t, media.BoxID{9}, otherKEM.PublicKey(), w.now.Add(time.Hour)), w.path, w.now, media.ErrWrongBox},
		{"key wrapped to another box", w.license(t, w.keys.Box, otherKEM.PublicKey(), w.now.Add(time.Hour)), w.path, w.now, media.ErrKeyUnwrap},
		{"not signed by our head-end", forgedEnv, w.path, w.now, media.ErrBadSignature},
		{"not downloaded", w.envelope, w.path + ".missing", w.now, ErrNotDownloaded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			title, err := Open(w.keys, w.item, tc.envelope, tc.path, tc.now)
			if err == nil {
				title.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTamperedContainerReleasesNothing(t *testing.T) {
	w := newWorld(t)
	b, _ := os.ReadFile(w.path)
	b[len(b)-100] ^= 1 // inside the last chunk
	os.WriteFile(w.path, b, 0o600)
	title, err := Open(w.keys, w.item, w.envelope, w.path, w.now)
	if err != nil {
		t.Fatal(err)
	}
	defer title.Close()
	out := filepath.Join(t.TempDir(), "out")
	if err := WriteFile(context.Background(), title, out); !errors.Is(err, media.ErrDamaged) {
		t.Fatalf("err = %v, want ErrDamaged", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a damaged title left an output file")
	}
}

// BenchmarkPipe is the keyed decryption pipe end to end: license checked, key unwrapped, a
// 64 MiB title decrypted from its file into a writer. make bench sets it against openssl.
func BenchmarkPipe(b *testing.B) {
	w := newWorldSize(b, 64<<20)
	title, err := Open(w.keys, w.item, w.envelope, w.path, w.now)
	if err != nil {
		b.Fatal(err)
	}
	defer title.Close()
	b.SetBytes(int64(len(w.plain)))
	b.ResetTimer()
	for range b.N {
		if err := Copy(context.Background(), io.Discard, title); err != nil {
			b.Fatal(err)
		}
	}
}
