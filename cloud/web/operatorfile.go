package web

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// OperatorFile is the operator's staff who may sign in to the operator's page (OPS-1): a file
// of "NAME HASH" lines, HASH being HashPassword's argon2id string ("#" starts a comment). It is
// read again when it changes, so adding or removing someone needs no restart and removing a
// name ends that person's sessions at their next request. A file that does not parse is logged
// with its line and the last good one stays in force; a missing file has nobody in it.
type OperatorFile struct {
	path string
	log  *slog.Logger

	mu    sync.Mutex
	stamp fileStamp
	names map[string]string // name → password hash
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// operatorName is what an operator's name may be: short, lower case, no separators a cookie
// or the file would trip over.
var operatorName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// CheckOperatorName says what is wrong with a name, if anything.
func CheckOperatorName(name string) error {
	if !operatorName.MatchString(name) {
		return fmt.Errorf("operator name %q: use 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit", name)
	}
	return nil
}

// OpenOperators reads the file at path (which need not exist yet).
func OpenOperators(path string, log *slog.Logger) (*OperatorFile, error) {
	if log == nil {
		log = slog.Default()
	}
	f := &OperatorFile{path: path, log: log, names: map[string]string{}}
	if _, err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// Hash returns an operator's password hash, reading the file again first if it changed.
func (f *OperatorFile) Hash(name string) (string, bool) {
	if _, err := f.load(); err != nil {
		f.log.Error("operators file not reloaded; the last good one stays in force", "err", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.names[name]
	return h, ok
}

// load reads the file if its size or time changed since the last read, and says whether it did.
func (f *OperatorFile) load() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if errors.Is(err, os.ErrNotExist) {
		f.names, f.stamp = map[string]string{}, fileStamp{}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("operators file: %w", err)
	}
	st := fileStamp{fi.Size(), fi.ModTime()}
	if st == f.stamp && f.stamp != (fileStamp{}) {
		return false, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return false, fmt.Errorf("operators file: %w", err)
	}
	names, err := ParseOperators(bytes.NewReader(b))
	if err != nil {
		return false, fmt.Errorf("%s:%w (fix it; the last good file stays in force)", f.path, err)
	}
	f.names, f.stamp = names, st
	return true, nil
}

// ParseOperators reads "NAME HASH" lines; an error names the line ("LINE: what").
func ParseOperators(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%d: want NAME HASH, got %d fields", n, len(fields))
		}
		if err := CheckOperatorName(fields[0]); err != nil {
			return nil, fmt.Errorf("%d: %w", n, err)
		}
		if _, err := parsePHC(fields[1]); err != nil {
			return nil, fmt.Errorf("%d: the hash of %q is not an argon2id hash (set it with swarmbox-cloud operator password): %w", n, fields[0], err)
		}
		if _, dup := out[fields[0]]; dup {
			return nil, fmt.Errorf("%d: %q is named twice", n, fields[0])
		}
		out[fields[0]] = fields[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("0: %w (lines are at most 4096 bytes)", err)
	}
	return out, nil
}

// SetOperator writes name's hash into the file at path (adding the name, or replacing its
// hash), or removes the name when hash is "". The file is replaced whole (written beside it,
// then renamed), so a head-end reading it never sees half of it; a file that does not parse is
// left as it is.
func SetOperator(path, name, hash string) error {
	if err := CheckOperatorName(name); err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("operators file: %w", err)
	}
	if _, err := ParseOperators(bytes.NewReader(old)); err != nil {
		return fmt.Errorf("%s:%w (fix the file first)", path, err)
	}
	var out bytes.Buffer
	found := false
	for _, line := range strings.SplitAfter(string(old), "\n") {
		if f := strings.Fields(strings.SplitN(line, "#", 2)[0]); len(f) == 2 && f[0] == name {
			found = true
			if hash != "" {
				fmt.Fprintf(&out, "%s %s\n", name, hash)
			}
			continue
		}
		out.WriteString(line)
	}
	if !found {
		if hash == "" {
			return fmt.Errorf("no operator %q in %s", name, path)
		}
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		fmt.Fprintf(&out, "%s %s\n", name, hash)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".operators-*")
	if err != nil {
		return fmt.Errorf("operators file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("operators file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("operators file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("operators file: %w", err)
	}
	return nil
}
