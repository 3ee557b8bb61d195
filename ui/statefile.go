package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"swarmbox/internal/outfile"
)

// The UI's own state — where each title was stopped, the order of Home's rows — lives in small
// JSON files of its own, side by side: it is the UI's state, and the UI never opens the box's
// database.

// loadState reads the JSON file at path into v. A missing or empty file (a new one, or
// /dev/null) leaves v as it is. A damaged file is set aside (renamed with .damaged, never a
// device), v is reset to its zero value and the error says so: the UI always starts.
func loadState[T any](path, what string, v *T) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		var zero T
		*v = zero
		if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
			os.Rename(path, path+".damaged")
		}
		return fmt.Errorf("%s in %s were damaged and are set aside: %w", what, path, err)
	}
	return nil
}

// saveState writes v as JSON to path atomically: a power cut leaves the old file or the new,
// never half. A path of "" keeps nothing.
func saveState(path, what string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	// outfile: a regular file via a synced temporary file and a rename; /dev/null is written
	// into, never replaced.
	if err := outfile.Write(path, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
