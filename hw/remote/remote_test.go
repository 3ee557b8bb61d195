package remote

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What the kernel sends for one press of OK on an rc-core remote, as read from
// /dev/input/eventN on arm64 (24-byte events): MSC_SCAN, KEY_OK down, SYN, KEY_OK up, SYN.
const recordedOK64 = "" +
	"2c1a0e6700000000" + "a086010000000000" + "0400" + "0400" + "110b0000" + // EV_MSC MSC_SCAN 0x0b11
	"2c1a0e6700000000" + "a086010000000000" + "0100" + "6001" + "01000000" + // EV_KEY KEY_OK 1
	"2c1a0e6700000000" + "a086010000000000" + "0000" + "0000" + "00000000" + // EV_SYN
	"2c1a0e6700000000" + "20a1070000000000" + "0100" + "6001" + "00000000" + // EV_KEY KEY_OK 0
	"2c1a0e6700000000" + "20a1070000000000" + "0000" + "0000" + "00000000" // EV_SYN

// The same kind of gesture from an armv7 box (16-byte events): KEY_UP down, auto-repeat, up.
const recordedUp32 = "" +
	"2c1a0e67" + "a0860100" + "0100" + "6700" + "01000000" + // EV_KEY KEY_UP 1
	"2c1a0e67" + "a0860100" + "0000" + "0000" + "00000000" + // EV_SYN
	"2d1a0e67" + "20a10700" + "0100" + "6700" + "02000000" + // EV_KEY KEY_UP 2 (repeat)
	"2d1a0e67" + "e0930400" + "0100" + "6700" + "00000000" // EV_KEY KEY_UP 0

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRecordedStreams(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rec      string
		wordSize int
		want     []Event
		presses  []Press
	}{
		{"arm64 rc-core OK", recordedOK64, 8, []Event{
			{Type: EvMsc, Code: 4, Value: 0x0b11},
			{Type: EvKey, Code: 0x160, Value: 1},
			{Type: EvSyn},
			{Type: EvKey, Code: 0x160, Value: 0},
			{Type: EvSyn},
		}, []Press{{Button: OK}}},
		{"armv7 keyboard up with repeat", recordedUp32, 4, []Event{
			{Type: EvKey, Code: 103, Value: 1},
			{Type: EvSyn},
			{Type: EvKey, Code: 103, Value: 2},
			{Type: EvKey, Code: 103, Value: 0},
		}, []Press{{Button: Up}, {Button: Up, Repeat: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := ParseEvents(mustHex(t, tc.rec), tc.wordSize)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(tc.want) {
				t.Fatalf("got %d events, want %d", len(evs), len(tc.want))
			}
			km := DefaultKeymap()
			var presses []Press
			for i, ev := range evs {
				w := tc.want[i]
				if ev.Type != w.Type || ev.Code != w.Code || ev.Value != w.Value {
					t.Errorf("event %d = %+v, want type %d code %#x value %d", i, ev, w.Type, w.Code, w.Value)
				}
				if ev.Time.Unix() < 1728000000 {
					t.Errorf("event %d time %v: the timeval was not decoded", i, ev.Time)
				}
				if b, ok := km.Press(ev); ok {
					presses = append(presses, Press{Button: b, Repeat: ev.Value == KeyRepeated})
				}
			}
			if len(presses) != len(tc.presses) {
				t.Fatalf("presses %v, want %v", presses, tc.presses)
			}
			for i := range presses {
				if presses[i] != tc.presses[i] {
					t.Errorf("press %d = %v, want %v", i, presses[i], tc.presses[i])
				}
			}
		})
	}
}

func TestParseEventsRejects(t *testing.T) {
	if _, err := ParseEvents(make([]byte, 23), 8); !errors.Is(err, ErrTruncated) {
		t.Errorf("23 bytes of 24-byte events: %v, want ErrTruncated", err)
	}
	if _, err := ParseEvents(make([]byte, 24), 6); err == nil {
		t.Error("word size 6 accepted")
	}
	d := NewDecoder(bytes.NewReader(make([]byte, EventSize(NativeWordSize)+3)))
	if _, err := d.Decode(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(); !errors.Is(err, ErrTruncated) {
		t.Errorf("a stream ending inside an event: %v, want ErrTruncated", err)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, ws := range []int{4, 8} {
		ev := Event{Time: time.Unix(1730000000, 123456000), Type: EvKey, Code: 0x18e, Value: 1}
		got, err := ParseEvents(Encode(nil, ev, ws), ws)
		if err != nil || len(got) != 1 || !got[0].Time.Equal(ev.Time) || got[0].Code != ev.Code || got[0].Value != ev.Value {
			t.Errorf("word size %d: %+v, %v; want %+v", ws, got, err, ev)
		}
	}
}

func TestDefaultKeymapCoversEveryButton(t *testing.T) {
	km := DefaultKeymap()
	have := map[Button]bool{}
	for _, b := range km {
		have[b] = true
	}
	for _, b := range Buttons() {
		if !have[b] {
			t.Errorf("no key of the default keymap gives %q", b)
		}
	}
	if km[103] != Up || km[0x160] != OK || km[0x18e] != Red || km[0x209] != "9" {
		t.Errorf("default keymap: KEY_UP→%q KEY_OK→%q KEY_RED→%q KEY_NUMERIC_9→%q", km[103], km[0x160], km[0x18e], km[0x209])
	}
}

func TestParseKeymap(t *testing.T) {
	km, err := ParseKeymap(strings.NewReader("# mine\nKEY_UP down  # swapped\n0x18e BLUE\n\n28 ok\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(km) != 3 || km[103] != Down || km[0x18e] != Blue || km[28] != OK {
		t.Fatalf("keymap = %v", km)
	}
	for _, tc := range []struct{ text, want string }{
		{"KEY_UP", "line 1: want"},
		{"KEY_UP up extra", "line 1: want"},
		{"KEY_NOPE up", `line 1: unknown key "KEY_NOPE"`},
		{"KEY_UP\tsideways", `line 1: unknown button "sideways"`},
		{"KEY_UP up\nKEY_UP down", "line 2: KEY_UP is already mapped to up"},
		{"0x99999 up", "unknown key"},
		{"# nothing\n", "maps no keys"},
	} {
		_, err := ParseKeymap(strings.NewReader(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseKeymap(%q) = %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}

func keyEvents(code uint16, values ...int32) []byte {
	var b []byte
	for _, v := range values {
		b = Encode(b, Event{Time: time.Now(), Type: EvKey, Code: code, Value: v}, NativeWordSize)
		b = Encode(b, Event{Time: time.Now(), Type: EvSyn}, NativeWordSize)
	}
	return b
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, ch <-chan Press) Press {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no button press within 5 s")
		return Press{}
	}
}

// TestWatchFollowsDevicesAsTheyComeAndGo stands event files in a directory for devices: one
// present at start, then unplugged, then a new one plugged in.
func TestWatchFollowsDevicesAsTheyComeAndGo(t *testing.T) {
	dir := t.TempDir()
	ev0, ev1 := filepath.Join(dir, "event0"), filepath.Join(dir, "event1")
	appendFile(t, ev0, keyEvents(103, 1, 0))
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Press, 8)
	done := make(chan error)
	go func() { done <- Watch(ctx, Config{Dir: dir, Rescan: 20 * time.Millisecond, Grab: true}, out) }()

	if p := next(t, out); p.Button != Up || p.Device != ev0 {
		t.Fatalf("first press %+v, want up from %s", p, ev0)
	}
	appendFile(t, ev0, keyEvents(0x18e, 1, 2, 0)) // red, held long enough to repeat
	if p := next(t, out); p.Button != Red || p.Repeat {
		t.Fatalf("press %+v, want red", p)
	}
	if p := next(t, out); p.Button != Red || !p.Repeat {
		t.Fatalf("press %+v, want red repeated", p)
	}
	os.Remove(ev0) // unplugged
	appendFile(t, ev1, keyEvents(0x160, 1, 0))
	if p := next(t, out); p.Button != OK || p.Device != ev1 {
		t.Fatalf("press %+v, want ok from the new device %s", p, ev1)
	}
	// Unmapped keys and releases give nothing.
	appendFile(t, ev1, keyEvents(240, 1, 0))
	appendFile(t, ev1, keyEvents(108, 1))
	if p := next(t, out); p.Button != Down {
		t.Fatalf("press %+v, want down (the unmapped key gives nothing)", p)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v", err)
	}
}
