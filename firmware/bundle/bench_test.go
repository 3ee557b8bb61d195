package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"swarmbox/firmware/bootctl"
)

// The bundle's costs against their floors, on a 64 MiB image (a root slot's size): building
// (hash + sign + copy) and verifying against one SHA-256 pass, installing (verify + write +
// fsync into a file slot) against a plain copy + fsync. docs/benchmarks.md.

const benchImage = 64 << 20

func benchBytes(b *testing.B) []byte {
	img := make([]byte, benchImage)
	for i := range img {
		img[i] = byte(i * 7 / 5)
	}
	return img
}

func BenchmarkSHA256Baseline(b *testing.B) {
	img := benchBytes(b)
	b.SetBytes(benchImage)
	for b.Loop() {
		sha256.Sum256(img)
	}
}

func BenchmarkBuild(b *testing.B) {
	img := benchBytes(b)
	tb := newTestBox(b, 1<<20)
	b.SetBytes(benchImage)
	for b.Loop() {
		if _, err := Build(io.Discard, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, bytes.NewReader(img)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	img := benchBytes(b)
	tb := newTestBox(b, 1<<20)
	var buf bytes.Buffer
	if _, err := Build(&buf, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, bytes.NewReader(img)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchImage)
	for b.Loop() {
		r, err := Open(bytes.NewReader(buf.Bytes()), tb.Key)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCopyFsyncBaseline(b *testing.B) {
	img := benchBytes(b)
	path := filepath.Join(b.TempDir(), "slot")
	b.SetBytes(benchImage)
	for b.Loop() {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.WriteAt(img, 0); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkInstall(b *testing.B) {
	img := benchBytes(b)
	tb := newTestBox(b, benchImage)
	var buf bytes.Buffer
	if _, err := Build(&buf, tb.priv, Spec{Version: "2", Hardware: []string{"qemu-arm64"}}, bytes.NewReader(img)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchImage)
	for b.Loop() {
		b.StopTimer()
		if _, err := bootctl.Init(tb.rec, bootctl.A, "1"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := tb.Install(context.Background(), bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
