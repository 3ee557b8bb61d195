package outfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

var data = bytes.Repeat([]byte("swarmbox"), 16<<10) // more than a pipe's buffer

func fill(w io.Writer) error { _, err := w.Write(data); return err }

// readFIFO reads the FIFO at p whole in the background, as `mpv -` or `cat` would.
func readFIFO(t *testing.T, p string) <-chan []byte {
	t.Helper()
	got := make(chan []byte, 1)
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
	return got
}

func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
}

// mode is what p itself is (links not followed).
func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

// TestWriteRegularFiles: a regular file is written whole or not at all (PLAY-1).
func TestWriteRegularFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to write
		fill  func(io.Writer) error
		want  string // the file's content after, "" for data
		perm  fs.FileMode
		files int // entries in the folder after
	}{
		{"new file", func(t *testing.T, dir string) string { return filepath.Join(dir, "film.avi") }, fill, "", 0o600, 1},
		{"existing file keeps its permissions", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "film.avi")
			os.WriteFile(p, []byte("old"), 0o644)
			os.Chmod(p, 0o644)
			return p
		}, fill, "", 0o644, 1},
		{"a failure leaves the old file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "film.avi")
			os.WriteFile(p, []byte("old"), 0o600)
			return p
		}, func(w io.Writer) error { w.Write(data[:10]); return errors.New("chunk 3 did not authenticate") }, "old", 0o600, 1},
		{"a link to a file writes the file and stays a link", func(t *testing.T, dir string) string {
			os.WriteFile(filepath.Join(dir, "real.avi"), []byte("old"), 0o600)
			link := filepath.Join(dir, "film.avi")
			if err := os.Symlink("real.avi", link); err != nil {
				t.Fatal(err)
			}
			return link
		}, fill, "", 0o600, 2},
		{"a dangling link creates what it names", func(t *testing.T, dir string) string {
			link := filepath.Join(dir, "film.avi")
			if err := os.Symlink(filepath.Join(dir, "real.avi"), link); err != nil {
				t.Fatal(err)
			}
			return link
		}, fill, "", 0o600, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := tc.setup(t, dir)
			wasLink := false
			if fi, err := os.Lstat(p); err == nil {
				wasLink = fi.Mode()&fs.ModeSymlink != 0
			}
			err := Write(p, tc.fill)
			if (err != nil) != (tc.want != "") {
				t.Fatalf("Write: %v", err)
			}
			got, rerr := os.ReadFile(p)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if want := tc.want; (want == "" && !bytes.Equal(got, data)) || (want != "" && string(got) != want) {
				t.Fatalf("the file holds %d bytes (%.10q)", len(got), got)
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != tc.perm {
				t.Errorf("permissions %v, want %v", fi.Mode().Perm(), tc.perm)
			}
			if wasLink && mode(t, p)&fs.ModeSymlink == 0 {
				t.Error("the link was replaced by a file")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != tc.files {
				t.Errorf("left behind: %v", ents)
			}
		})
	}
}

// TestWriteIntoFIFOs: a FIFO, named or behind a link, is written into and stays a FIFO (PLAY-1).
func TestWriteIntoFIFOs(t *testing.T) {
	for _, viaLink := range []bool{false, true} {
		name := map[bool]string{false: "FIFO", true: "link to a FIFO"}[viaLink]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, "pipe")
			mkfifo(t, fifo)
			target := fifo
			if viaLink {
				target = filepath.Join(dir, "out")
				if err := os.Symlink(fifo, target); err != nil {
					t.Fatal(err)
				}
			}
			got := readFIFO(t, fifo)
			if err := Write(target, fill); err != nil {
				t.Fatal(err)
			}
			// Checked first: had the FIFO been renamed over, the reader would wait forever.
			if m := mode(t, fifo); m&fs.ModeNamedPipe == 0 {
				t.Fatalf("the FIFO is now %v", m)
			}
			if viaLink && mode(t, target)&fs.ModeSymlink == 0 {
				t.Fatalf("the link is now %v", mode(t, target))
			}
			if b := <-got; !bytes.Equal(b, data) {
				t.Fatalf("the reader got %d bytes, want %d", len(b), len(data))
			}
			if ents, _ := os.ReadDir(dir); len(ents) != map[bool]int{false: 1, true: 2}[viaLink] {
				t.Fatalf("left behind: %v", ents)
			}
		})
	}
}

// TestWriteIntoCharacterDevice: a null device made with mknod in the test's own folder (as
// /dev/null is) stays a device, named or behind a link — 'swarmboxd play --out /dev/null' run
// as root replaced /dev/null with a plain file (PLAY-1). mknod needs root; CI runs as root and
// must run this, so only a developer's unprivileged run may skip it.
func TestWriteIntoCharacterDevice(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "null")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		if os.Getuid() != 0 && os.Getenv("CI") != "true" {
			t.Skipf("mknod needs root (%v); TestWriteIntoFIFOs covers other nodes", err)
		}
		t.Fatalf("mknod of a null device: %v", err)
	}
	link := filepath.Join(dir, "out")
	if err := os.Symlink(dev, link); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{dev, link} {
		if err := Write(target, fill); err != nil {
			t.Fatalf("write into %s: %v", target, err)
		}
	}
	if m := mode(t, dev); m&fs.ModeCharDevice == 0 {
		t.Fatalf("the device node is now %v", m)
	}
	if m := mode(t, link); m&fs.ModeSymlink == 0 {
		t.Fatalf("the link is now %v", m)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("left behind: %v", ents)
	}
}

func TestWriteRefusals(t *testing.T) {
	dir := t.TempDir()
	loop := filepath.Join(dir, "loop")
	os.Symlink(loop, loop)
	for name, p := range map[string]string{
		"a folder":         dir,
		"a missing folder": filepath.Join(dir, "no", "such", "film.avi"),
		"a loop of links":  loop,
	} {
		t.Run(name, func(t *testing.T) {
			if err := Write(p, fill); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
