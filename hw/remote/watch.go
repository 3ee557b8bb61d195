package remote

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Press is one button press (or auto-repeat) and the device it came from.
type Press struct {
	Button Button
	Repeat bool
	Device string
}

// Config says which devices to read.
type Config struct {
	// Devices are event device paths to read. Empty means every /dev/input/event* (under Dir)
	// that reports keys.
	Devices []string
	Dir     string        // where event devices appear; /dev/input when empty
	Keymap  Keymap        // DefaultKeymap() when nil
	Rescan  time.Duration // how often to look for new devices; 1 s when zero
	// Grab takes devices exclusively (EVIOCGRAB), so keys pressed on a keyboard do not also
	// reach the console the UI draws on and act twice.
	Grab bool
}

// Watch reads button presses from the configured devices into out until ctx ends. Devices that
// appear later are picked up within one rescan (hot-plug); a device that goes away is dropped
// and picked up again if it returns. It returns ctx's error.
func Watch(ctx context.Context, cfg Config, out chan<- Press) error {
	if cfg.Dir == "" {
		cfg.Dir = "/dev/input"
	}
	if cfg.Keymap == nil {
		cfg.Keymap = DefaultKeymap()
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = time.Second
	}
	var (
		mu   sync.Mutex
		open = map[string]bool{}
		wg   sync.WaitGroup
	)
	defer wg.Wait()
	t := time.NewTicker(cfg.Rescan)
	defer t.Stop()
	for {
		for _, path := range candidates(cfg) {
			mu.Lock()
			busy := open[path]
			open[path] = true
			mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := readDevice(ctx, path, cfg, out)
				if ctx.Err() == nil {
					slog.Info("remote: device gone", "device", path, "err", err)
				}
				mu.Lock()
				delete(open, path)
				mu.Unlock()
			}()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// candidates lists the devices to read now.
func candidates(cfg Config) []string {
	if len(cfg.Devices) > 0 {
		return slices.Clone(cfg.Devices)
	}
	paths, _ := filepath.Glob(filepath.Join(cfg.Dir, "event*"))
	return slices.DeleteFunc(paths, func(p string) bool { return !reportsKeys(p) })
}

// reportsKeys says whether an event device can send keys, from its sysfs capabilities; a
// device sysfs does not describe is read and left to show what it sends.
func reportsKeys(path string) bool {
	caps, err := os.ReadFile(filepath.Join("/sys/class/input", filepath.Base(path), "device/capabilities/key"))
	if err != nil {
		return true
	}
	return strings.Trim(string(caps), "0 \n") != ""
}

// eviocgrab is _IOW('E', 0x90, int).
const eviocgrab = 0x40044590

// readDevice decodes one device until it fails or ctx ends.
func readDevice(ctx context.Context, path string, cfg Config, out chan<- Press) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	defer f.Close()
	if cfg.Grab {
		if err := unix.IoctlSetInt(int(f.Fd()), eviocgrab, 1); err != nil {
			slog.Debug("remote: cannot grab device; keys may also reach the console", "device", path, "err", err)
		}
	}
	slog.Info("remote: reading", "device", path)
	d := NewDecoder(f)
	for {
		ev, err := d.Decode()
		if err == io.EOF && !isCharDevice(f) {
			// A recording that has been drained: wait for more, as a device would, until it is
			// removed.
			if _, err := os.Stat(path); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		b, ok := cfg.Keymap.Press(ev)
		if !ok {
			continue
		}
		select {
		case out <- Press{Button: b, Repeat: ev.Value == KeyRepeated, Device: path}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func isCharDevice(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
