package player

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriteOut(t *testing.T) {
	data := bytes.Repeat([]byte("swarmbox"), 4096)
	fill := func(w io.Writer) error { _, err := w.Write(data); return err }
	failing := func(w io.Writer) error { w.Write(data[:10]); return errors.New("chunk 3 did not authenticate") }

	t.Run("new regular file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "film.avi")
		if err := WriteOut(p, fill); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
			t.Fatalf("wrote %d bytes, want %d", len(got), len(data))
		}
	})
	t.Run("a failure leaves the old file and no temporary", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "film.avi")
		os.WriteFile(p, []byte("old"), 0o600)
		if err := WriteOut(p, failing); err == nil {
			t.Fatal("a failing fill was not reported")
		}
		if got, _ := os.ReadFile(p); string(got) != "old" {
			t.Fatalf("the file holds %q after a failed write", got)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("left behind: %v", ents)
		}
	})
	t.Run("FIFO is written into, not replaced", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "pipe")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte)
		go func() {
			f, err := os.Open(p)
			if err != nil {
				got <- nil
				return
			}
			b, _ := io.ReadAll(f)
			f.Close()
			got <- b
		}()
		if err := WriteOut(p, fill); err != nil {
			t.Fatal(err)
		}
		// Checked first: a FIFO renamed over would leave the reader waiting forever.
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("the FIFO is now %v (%v)", fi.Mode(), err)
		}
		if b := <-got; !bytes.Equal(b, data) {
			t.Fatalf("the reader got %d bytes, want %d", len(b), len(data))
		}
	})
	t.Run("character device and a link to it stay devices", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "null")
		// The same device as /dev/null, made by this test in its own folder.
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			if os.Getuid() != 0 {
				t.Logf("mknod needs root here (%v); the FIFO case covers non-regular files", err)
				return
			}
			t.Fatal(err)
		}
		link := filepath.Join(dir, "out")
		if err := os.Symlink(p, link); err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{p, link} {
			if err := WriteOut(target, fill); err != nil {
				t.Fatal(err)
			}
		}
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("the device node is now %v (%v)", fi.Mode(), err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("the link is now %v (%v)", fi.Mode(), err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 2 {
			t.Fatalf("left behind: %v", ents)
		}
	})
	t.Run("a folder is refused", func(t *testing.T) {
		if err := WriteOut(t.TempDir(), fill); err == nil {
			t.Fatal("writing over a folder was accepted")
		}
	})
}
