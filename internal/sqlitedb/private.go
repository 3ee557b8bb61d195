package sqlitedb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// PrivateMode is the mode of a database file and of its -wal and -shm files: they hold private
// keys (a box's signing and KEM keys) and accounts, readable by the owner only.
const PrivateMode fs.FileMode = 0o600

// makePrivate prepares the database file at path to be private: when it does not exist it is
// created empty with PrivateMode (SQLite gives the -wal and -shm files it creates later the
// database file's mode), and an existing database file, -wal or -shm file that this process's
// user owns is narrowed to PrivateMode. Files of another user are left alone.
func makePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, PrivateMode)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create %s: %w: check the folder's permissions", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := narrow(p, PrivateMode); err != nil {
			return err
		}
	}
	return nil
}

// narrow takes away permission bits beyond mode from the regular file or folder at p when this
// process's user owns it; a missing path or one owned by someone else is left alone.
func narrow(p string, mode fs.FileMode) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check the mode of %s: %w", p, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != os.Getuid() || !(fi.Mode().IsRegular() || fi.IsDir()) || fi.Mode()&fs.ModeSticky != 0 {
		return nil // someone else's, or a shared folder like /tmp
	}
	if fi.Mode().Perm()&^mode == 0 {
		return nil
	}
	if err := os.Chmod(p, fi.Mode().Perm()&mode); err != nil {
		return fmt.Errorf("make %s private (mode %o): %w", p, mode, err)
	}
	return nil
}

// MakeFolderPrivate narrows the folder at dir to 0700 when this process's user owns it: for a
// state folder that holds a private database (a box's), so that nobody else lists or opens
// what is in it.
func MakeFolderPrivate(dir string) error {
	return narrow(dir, 0o700)
}
