package bundle

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"swarmbox/firmware/bootctl"
)

const testChunk = 64 << 10

// testBox is a box whose record and slots are files: slot a holds version 1.
type testBox struct {
	Box
	slots [2]string
	rec   *os.File
	priv  ed25519.PrivateKey
	a     []byte // slot a's bytes before the install
}

func newTestBox(t testing.TB, slotSize int64) *testBox {
	t.Helper()
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tb := &testBox{priv: priv, a: randomBytes(t, int(slotSize))}
	for i := range tb.slots {
		tb.slots[i] = filepath.Join(dir, fmt.Sprintf("root_%c", 'a'+i))
		b := make([]byte, slotSize)
		if i == 0 {
			b = tb.a
		}
		if err := os.WriteFile(tb.slots[i], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if tb.rec, err = os.Create(filepath.Join(dir, "bootctl")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.rec.Close() })
	if _, err := bootctl.Init(tb.rec, bootctl.A, "1"); err != nil {
		t.Fatal(err)
	}
	tb.Box = Box{Record: tb.rec, Booted: bootctl.A, Hardware: "qemu-arm64", Key: pub, Tries: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OpenSlot: func(s bootctl.Slot) (SlotWriter, int64, error) {
			f, err := os.OpenFile(tb.slots[s], os.O_RDWR, 0)
			if err != nil {
				return nil, 0, err
			}
			st, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, 0, err
			}
			return f, st.Size(), nil
		}}
	return tb
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func build(t *testing.T, priv ed25519.PrivateKey, spec Spec, image []byte) []byte {
	t.Helper()
	if spec.ChunkSize == 0 {
		spec.ChunkSize = testChunk
	}
	var buf bytes.Buffer
	if _, err := Build(&buf, priv, spec, bytes.NewReader(image)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// untouched checks that slot a and the record are as before a refused install.
func (tb *testBox) untouched(t *testing.T) {
	t.Helper()
	a, err := os.ReadFile(tb.slots[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, tb.a) {
		t.Fatal("the active slot a was written to")
	}
	r, err := bootctl.Read(tb.rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.Active != bootctl.A || r.Trying != bootctl.NoSlot || r.Version(bootctl.A) != "1" {
		t.Fatalf("record after a refused install: %+v; want slot a active, no trial", r)
	}
	if c, _, _ := r.Boot(); c.Slot != bootctl.A {
		t.Fatalf("the next boot would mount slot %s", c.Slot)
	}
}

func TestInstallWritesTheInactiveSlotAndTriesIt(t *testing.T) {
	tb := newTestBox(t, 1<<20)
	image := randomBytes(t, 300<<10+17) // not a whole number of chunks
	res, err := tb.Install(context.Background(), bytes.NewReader(build(t, tb.priv, Spec{Version: "2", Hardware: []string{"pi4", "qemu-arm64"}}, image)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Slot != bootctl.B || res.Manifest.Version != "2" {
		t.Fatalf("installed into %s version %s", res.Slot, res.Manifest.Version)
	}
	b, _ := os.ReadFile(tb.slots[1])
	if !bytes.Equal(b[:len(image)], image) {
		t.Fatal("slot b does not hold the image")
	}
	a, _ := os.ReadFile(tb.slots[0])
	if !bytes.Equal(a, tb.a) {
		t.Fatal("slot a changed")
	}
	r, err := bootctl.Read(tb.rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.Trying != bootctl.B || r.TriesLeft != 2 || r.Version(bootctl.B) != "2" || r.Active != bootctl.A {
		t.Fatalf("record %+v: want slot b version 2 on trial with 2 tries, a active", r)
	}
	// While slot b is being tried, a second install waits.
	tb.Booted = bootctl.B
	if _, err := tb.Install(context.Background(), bytes.NewReader(build(t, tb.priv, Spec{Version: "3", Hardware: []string{"qemu-arm64"}}, image))); err == nil || !strings.Contains(err.Error(), "trial boot") {
		t.Fatalf("install during a trial boot: %v", err)
	}
}

// TestInstallRefuses: each bad bundle gets its own error, and the active slot and the record
// stay as they were.
func TestInstallRefuses(t *testing.T) {
	image := randomBytes(t, 200<<10)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name     string
		slotSize int64
		bundle   func(tb *testBox) []byte
		want     error
		wantText string
	}{
		{"tampered manifest", 1 << 20, func(tb *testBox) []byte {
			b := build(t, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, image)
			i := bytes.Index(b, []byte(`"version":"2"`))
			b[i+11] = '9'
			return b
		}, ErrSignature, "signature"},
		{"signed by another key", 1 << 20, func(tb *testBox) []byte {
			return build(t, otherKey, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, image)
		}, ErrSignature, "signature"},
		{"tampered chunk", 1 << 20, func(tb *testBox) []byte {
			b := build(t, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, image)
			b[len(b)-100] ^= 0x40
			return b
		}, ErrChunk, "chunk 4 of 4"},
		{"wrong hardware", 1 << 20, func(tb *testBox) []byte {
			return build(t, tb.priv, Spec{Version: "2", Hardware: []string{"pi4"}}, image)
		}, ErrHardware, "targets [pi4], this box is qemu-arm64"},
		{"downgrade", 1 << 20, func(tb *testBox) []byte {
			return build(t, tb.priv, Spec{Version: "0.9", Hardware: []string{"qemu-arm64"}}, image)
		}, ErrDowngrade, "bundle version 0.9, running 1"},
		{"same version", 1 << 20, func(tb *testBox) []byte {
			return build(t, tb.priv, Spec{Version: "1", Hardware: []string{"qemu-arm64"}}, image)
		}, ErrDowngrade, "not newer"},
		{"truncated", 1 << 20, func(tb *testBox) []byte {
			b := build(t, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, image)
			return b[:len(b)-testChunk-5]
		}, ErrTruncated, "chunk 3 of 4"},
		{"truncated header", 1 << 20, func(tb *testBox) []byte {
			return build(t, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, image)[:40]
		}, ErrTruncated, "ends early"},
		{"not a bundle", 1 << 20, func(tb *testBox) []byte { return []byte("#!/bin/sh\necho hello\n") }, ErrFormat, "starts with"},
		{"image bigger than the slot", 100 << 10, func(tb *testBox) []byte {
			return build(t, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, image)
		}, ErrNoSpace, "slot b holds 102400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTestBox(t, tc.slotSize)
			_, err := tb.Install(context.Background(), bytes.NewReader(tc.bundle(tb)))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("Install: %v; want %v saying %q", err, tc.want, tc.wantText)
			}
			tb.untouched(t)
		})
	}
}

// TestRollbackBundleGoesBack: an older version installs only from a bundle signed as a
// rollback.
func TestRollbackBundleGoesBack(t *testing.T) {
	tb := newTestBox(t, 1<<20)
	image := randomBytes(t, 100<<10)
	res, err := tb.Install(context.Background(), bytes.NewReader(build(t, tb.priv, Spec{Version: "0.9", Hardware: []string{"qemu-arm64"}, Rollback: true}, image)))
	if err != nil || res.Record.Trying != bootctl.B || res.Record.Version(bootctl.B) != "0.9" {
		t.Fatalf("rollback install: %+v %v", res.Record, err)
	}
}

// fullDisk is a slot whose device fails with ENOSPC after limit bytes.
type fullDisk struct {
	limit int64
	wrote int64
}

func (f *fullDisk) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.limit {
		return 0, &os.PathError{Op: "write", Path: "/dev/vda2", Err: syscall.ENOSPC}
	}
	f.wrote += int64(len(p))
	return len(p), nil
}
func (f *fullDisk) Sync() error  { return nil }
func (f *fullDisk) Close() error { return nil }

// TestInstallOnAFullDisk: the device fails halfway (it says it is bigger than it is): a clear
// error, slot b marked empty, slot a untouched and still booted.
func TestInstallOnAFullDisk(t *testing.T) {
	tb := newTestBox(t, 1<<20)
	tb.OpenSlot = func(bootctl.Slot) (SlotWriter, int64, error) { return &fullDisk{limit: 100 << 10}, 1 << 20, nil }
	_, err := tb.Install(context.Background(), bytes.NewReader(build(t, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, randomBytes(t, 300<<10))))
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "slot a untouched") {
		t.Fatalf("Install on a full disk: %v", err)
	}
	tb.untouched(t)
	r, _ := bootctl.Read(tb.rec)
	if r.Version(bootctl.B) != "" {
		t.Fatalf("slot b has version %q after a failed write, want empty", r.Version(bootctl.B))
	}
}

// TestInstallStreams: the install reads the bundle once, front to back, one chunk at a time
// (a reader that cannot seek and hands out at most 4 KiB per read).
func TestInstallStreams(t *testing.T) {
	tb := newTestBox(t, 1<<20)
	b := build(t, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, randomBytes(t, 500<<10))
	r := &countingReader{r: bytes.NewReader(b)}
	if _, err := tb.Install(context.Background(), struct{ io.Reader }{r}); err != nil {
		t.Fatal(err)
	}
	if r.n != int64(len(b)) {
		t.Fatalf("read %d bytes of a %d-byte bundle", r.n, len(b))
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestKeysRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "firmware.key")
	pub, err := GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKey(path); err == nil {
		t.Fatal("GenerateKey overwrote an existing key")
	}
	priv, err := LoadPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := LoadPublicKey(path + ".pub")
	if err != nil || !pub.Equal(pub2) || !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("keys do not match: %v", err)
	}
	if _, err := LoadPublicKey(path); err == nil {
		t.Fatal("a private key file loaded as a public key")
	}
}

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{"2": true, "1.4.0": true, "2-rc1": true, "": false, "1..2": false, "1/2": false, strings.Repeat("1", 33): false} {
		if err := CheckVersion(v); (err == nil) != ok {
			t.Errorf("CheckVersion(%q) = %v", v, err)
		}
	}
}

// FuzzOpen: any bytes are a verified bundle or an error, never a panic; a bundle whose
// signature verifies was signed by the test's key. The manifest's JSON is fuzzed by seeding
// with a manifest length the fuzzer can keep while changing the bytes after it.
func FuzzOpen(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	var buf bytes.Buffer
	if _, err := Build(&buf, priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}, ChunkSize: MinChunk}, bytes.NewReader(make([]byte, 3*MinChunk+1))); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(Magic + "\x00\x00\x00\x02{}"))
	var huge [12]byte
	copy(huge[:], Magic)
	binary.BigEndian.PutUint32(huge[8:], 1<<31)
	f.Add(huge[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Open(bytes.NewReader(b), pub)
		if err != nil {
			return
		}
		for {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}

// FuzzManifestCheck: any JSON decodes to a manifest that Check accepts or refuses, never a
// panic; an accepted one has a hash per chunk.
func FuzzManifestCheck(f *testing.F) {
	f.Add([]byte(`{"format":1,"kind":"firmware","version":"2","hardware":["qemu-arm64"],"image":{"size":5,"chunk_size":4096,"chunks":["` + strings.Repeat("ab", 32) + `"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Manifest
		if err := jsonDecode(b, &m); err != nil {
			return
		}
		if m.Check() == nil && int64(len(m.Image.Chunks))*m.Image.ChunkSize < m.Image.Size {
			t.Fatalf("accepted %+v with too few chunks", m.Image)
		}
	})
}
