package remote

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Button is what a household pressed, whatever the device called it.
type Button string

// The buttons of a swarmbox remote. Digits are "0" to "9".
const (
	Up          Button = "up"
	Down        Button = "down"
	Left        Button = "left"
	Right       Button = "right"
	OK          Button = "ok"
	Back        Button = "back"
	Home        Button = "home"
	PlayPause   Button = "playpause"
	Stop        Button = "stop"
	FastForward Button = "ff"
	Rewind      Button = "rw"
	Red         Button = "red"
	Green       Button = "green"
	Yellow      Button = "yellow"
	Blue        Button = "blue"
	PageUp      Button = "pageup"
	PageDown    Button = "pagedown"
	Info        Button = "info"
)

// Buttons lists every button a keymap may name.
func Buttons() []Button {
	b := []Button{Up, Down, Left, Right, OK, Back, Home, PlayPause, Stop, FastForward, Rewind, Red, Green, Yellow, Blue, PageUp, PageDown, Info}
	for d := '0'; d <= '9'; d++ {
		b = append(b, Button(string(d)))
	}
	return b
}

// keyCodes are the KEY_* names of linux/input-event-codes.h a remote or keyboard sends for the
// buttons above.
var keyCodes = map[string]uint16{
	"KEY_ESC": 1, "KEY_1": 2, "KEY_2": 3, "KEY_3": 4, "KEY_4": 5, "KEY_5": 6, "KEY_6": 7, "KEY_7": 8,
	"KEY_8": 9, "KEY_9": 10, "KEY_0": 11, "KEY_BACKSPACE": 14, "KEY_ENTER": 28, "KEY_R": 19,
	"KEY_S": 31, "KEY_F": 33, "KEY_H": 35, "KEY_P": 25, "KEY_I": 23, "KEY_SPACE": 57,
	"KEY_F1": 59, "KEY_F2": 60, "KEY_F3": 61, "KEY_F4": 62, "KEY_KPENTER": 96, "KEY_HOME": 102,
	"KEY_UP": 103, "KEY_PAGEUP": 104, "KEY_LEFT": 105, "KEY_RIGHT": 106, "KEY_DOWN": 108,
	"KEY_PAGEDOWN": 109, "KEY_MENU": 139, "KEY_BACK": 158, "KEY_PLAYPAUSE": 164,
	"KEY_STOPCD": 166, "KEY_HOMEPAGE": 172, "KEY_EXIT": 174, "KEY_PLAY": 207, "KEY_FASTFORWARD": 208,
	"KEY_SELECT": 0x161, "KEY_OK": 0x160, "KEY_INFO": 0x166, "KEY_PAUSE": 119, "KEY_STOP": 128,
	"KEY_REWIND": 168, "KEY_RED": 0x18e, "KEY_GREEN": 0x18f, "KEY_YELLOW": 0x190, "KEY_BLUE": 0x191,
	"KEY_CHANNELUP": 0x192, "KEY_CHANNELDOWN": 0x193, "KEY_NUMERIC_0": 0x200, "KEY_NUMERIC_1": 0x201,
	"KEY_NUMERIC_2": 0x202, "KEY_NUMERIC_3": 0x203, "KEY_NUMERIC_4": 0x204, "KEY_NUMERIC_5": 0x205,
	"KEY_NUMERIC_6": 0x206, "KEY_NUMERIC_7": 0x207, "KEY_NUMERIC_8": 0x208, "KEY_NUMERIC_9": 0x209,
	"KEY_RECORD": 167, "KEY_PREVIOUS": 412, "KEY_NEXT": 407,
}

// KeyCode returns the code of a KEY_* name, or of a number (decimal or 0x hex).
func KeyCode(name string) (uint16, bool) {
	if c, ok := keyCodes[strings.ToUpper(name)]; ok {
		return c, true
	}
	n, err := strconv.ParseUint(name, 0, 16)
	return uint16(n), err == nil && n > 0 && n < 0x300
}

// DefaultKeymapText is the keymap used when none is configured. It covers rc-core remotes
// (KEY_OK, colour keys, KEY_NUMERIC_*), media keyboards, and a plain keyboard on the console.
const DefaultKeymapText = `# swarmbox keymap: one "KEY_NAME button" per line (KEY_* names from
# linux/input-event-codes.h, or a decimal or 0x code). Buttons: up down left right ok back home
# playpause stop ff rw red green yellow blue pageup pagedown info 0-9.
KEY_UP up
KEY_DOWN down
KEY_LEFT left
KEY_RIGHT right
KEY_OK ok
KEY_SELECT ok
KEY_ENTER ok
KEY_KPENTER ok
KEY_BACK back
KEY_EXIT back
KEY_ESC back
KEY_BACKSPACE back
KEY_HOME home
KEY_HOMEPAGE home
KEY_MENU home
KEY_H home
KEY_PLAYPAUSE playpause
KEY_PLAY playpause
KEY_PAUSE playpause
KEY_SPACE playpause
KEY_P playpause
KEY_STOP stop
KEY_STOPCD stop
KEY_S stop
KEY_FASTFORWARD ff
KEY_F ff
KEY_REWIND rw
KEY_R rw
KEY_RED red
KEY_F1 red
KEY_GREEN green
KEY_F2 green
KEY_YELLOW yellow
KEY_F3 yellow
KEY_BLUE blue
KEY_F4 blue
KEY_CHANNELUP pageup
KEY_PAGEUP pageup
KEY_CHANNELDOWN pagedown
KEY_PAGEDOWN pagedown
KEY_INFO info
KEY_I info
KEY_0 0
KEY_1 1
KEY_2 2
KEY_3 3
KEY_4 4
KEY_5 5
KEY_6 6
KEY_7 7
KEY_8 8
KEY_9 9
KEY_NUMERIC_0 0
KEY_NUMERIC_1 1
KEY_NUMERIC_2 2
KEY_NUMERIC_3 3
KEY_NUMERIC_4 4
KEY_NUMERIC_5 5
KEY_NUMERIC_6 6
KEY_NUMERIC_7 7
KEY_NUMERIC_8 8
KEY_NUMERIC_9 9
`

// Keymap maps key codes to buttons.
type Keymap map[uint16]Button

// DefaultKeymap returns the built-in keymap.
func DefaultKeymap() Keymap {
	km, err := ParseKeymap(strings.NewReader(DefaultKeymapText))
	if err != nil {
		panic("remote: built-in keymap: " + err.Error()) // a bug in this file, caught by its tests
	}
	return km
}

// ParseKeymap reads a keymap: one "KEY_NAME button" per line, # comments and blank lines
// ignored. An unknown key or button, a key mapped twice, or a line of another shape is refused
// with its line number.
func ParseKeymap(r io.Reader) (Keymap, error) {
	km := Keymap{}
	valid := Buttons()
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("keymap line %d: want \"KEY_NAME button\", got %q", n, strings.TrimSpace(line))
		}
		code, ok := KeyCode(f[0])
		if !ok {
			return nil, fmt.Errorf("keymap line %d: unknown key %q (use a KEY_* name or a code such as 0x160)", n, f[0])
		}
		b := Button(strings.ToLower(f[1]))
		if !slices.Contains(valid, b) {
			return nil, fmt.Errorf("keymap line %d: unknown button %q (buttons: %v)", n, f[1], valid)
		}
		if old, dup := km[code]; dup {
			return nil, fmt.Errorf("keymap line %d: %s is already mapped to %s", n, f[0], old)
		}
		km[code] = b
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading keymap: %w", err)
	}
	if len(km) == 0 {
		return nil, fmt.Errorf("keymap maps no keys")
	}
	return km, nil
}

// Press turns an event into a button press: key presses and auto-repeats of mapped keys.
// Releases, other event types and unmapped keys give false.
func (km Keymap) Press(ev Event) (Button, bool) {
	if ev.Type != EvKey || (ev.Value != KeyPressed && ev.Value != KeyRepeated) {
		return "", false
	}
	b, ok := km[ev.Code]
	return b, ok
}
