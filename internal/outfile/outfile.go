// Package outfile writes output to a path a user named: a regular file safely (a temporary file
// renamed over it only once complete), anything else — a device such as /dev/null, a FIFO —
// directly, since renaming over it would replace the node itself.
package outfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLinks bounds the symbolic links followed, as the kernel's ELOOP does.
const maxLinks = 40

// Write writes what fill writes to path. A regular file (or a path not there yet) is written to
// a temporary file beside it and synced and renamed over it only when fill succeeded, so a write that fails
// half way leaves the old file (or nothing) behind; an existing file keeps its permissions.
// Anything else — a device such as /dev/null, a FIFO — is written into directly: renaming over
// it would replace the node with a plain file (as root, /dev/null itself), and a reader on a
// FIFO would never see the bytes. Symbolic links are followed, dangling ones too, so the file or
// device a link names is what gets written and the link stays.
func Write(path string, fill func(io.Writer) error) error {
	target, fi, err := resolve(path)
	if err != nil {
		return err
	}
	if fi != nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return fmt.Errorf("%s is a folder: name a file to write into", path)
		}
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("cannot write into %s (%s): %w", path, fi.Mode().Type(), err)
		}
		if err := fill(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*")
	if err != nil {
		return fmt.Errorf("cannot write beside %s (its folder must exist and be writable): %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if fi != nil {
		// CreateTemp makes 0600; a file written again keeps what its owner chose.
		if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	// On the disk before the rename, so a power cut leaves the old file or the new, never half.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}

// resolve follows symbolic links from path to what they name, and returns that path and its
// information (nil when nothing is there yet).
func resolve(path string) (string, fs.FileInfo, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, fi, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", nil, err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", nil, fmt.Errorf("%s: too many levels of symbolic links", path)
}
