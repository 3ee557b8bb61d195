// Package remote reads the box's remote control. IR receivers (through the kernel's rc-core),
// USB remotes and keyboards all appear as Linux input devices (/dev/input/event*); this package
// decodes their evdev event stream, maps key codes to remote buttons through a keymap, and
// follows devices as they come and go. It knows nothing of the UI: it hands out Buttons.
package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Event types and values of the Linux input protocol (linux/input-event-codes.h) that matter here.
const (
	EvSyn = 0x00
	EvKey = 0x01
	EvMsc = 0x04

	KeyReleased = 0
	KeyPressed  = 1
	KeyRepeated = 2
)

// Event is one struct input_event.
type Event struct {
	Time  time.Time
	Type  uint16
	Code  uint16
	Value int32
}

// NativeWordSize is the size of a C long on this machine: struct input_event starts with a
// struct timeval of two longs, so an event is 24 bytes on arm64 and amd64 and 16 on armv7.
const NativeWordSize = strconv.IntSize / 8

// EventSize is the size of one event for a word size of 4 or 8 bytes.
func EventSize(wordSize int) int { return 2*wordSize + 8 }

// ErrTruncated is returned for a stream that ends inside an event.
var ErrTruncated = errors.New("input event stream ends inside an event")

// decode reads one event from b, which holds exactly EventSize(wordSize) bytes. Input events are
// in the machine's byte order; every Linux port this box runs on is little-endian.
func decode(b []byte, wordSize int) Event {
	le := binary.LittleEndian
	var sec, usec int64
	if wordSize == 8 {
		sec, usec = int64(le.Uint64(b)), int64(le.Uint64(b[8:]))
	} else {
		sec, usec = int64(int32(le.Uint32(b))), int64(int32(le.Uint32(b[4:])))
	}
	t := b[2*wordSize:]
	return Event{
		Time:  time.Unix(sec, usec*1000),
		Type:  le.Uint16(t),
		Code:  le.Uint16(t[2:]),
		Value: int32(le.Uint32(t[4:])),
	}
}

// ParseEvents decodes a recorded event stream. A stream whose length is not a whole number of
// events is refused with ErrTruncated, and so is a word size other than 4 or 8.
func ParseEvents(b []byte, wordSize int) ([]Event, error) {
	if wordSize != 4 && wordSize != 8 {
		return nil, fmt.Errorf("word size %d: input events come in word sizes 4 (armv7) or 8 (arm64, amd64)", wordSize)
	}
	n := EventSize(wordSize)
	if len(b)%n != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a multiple of %d", ErrTruncated, len(b), n)
	}
	out := make([]Event, 0, len(b)/n)
	for ; len(b) > 0; b = b[n:] {
		out = append(out, decode(b[:n], wordSize))
	}
	return out, nil
}

// Decoder reads events from a device or a recording.
type Decoder struct {
	r        io.Reader
	wordSize int
	buf      []byte
}

// NewDecoder reads events of this machine's layout from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, wordSize: NativeWordSize, buf: make([]byte, EventSize(NativeWordSize))}
}

// Decode returns the next event. io.EOF at an event boundary ends the stream; inside an event
// it is ErrTruncated.
func (d *Decoder) Decode() (Event, error) {
	if _, err := io.ReadFull(d.r, d.buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Event{}, ErrTruncated
		}
		return Event{}, err
	}
	return decode(d.buf, d.wordSize), nil
}

// Encode appends ev in the layout of wordSize; tests and recorders use it.
func Encode(b []byte, ev Event, wordSize int) []byte {
	le := binary.LittleEndian
	if wordSize == 8 {
		b = le.AppendUint64(b, uint64(ev.Time.Unix()))
		b = le.AppendUint64(b, uint64(ev.Time.Nanosecond()/1000))
	} else {
		b = le.AppendUint32(b, uint32(ev.Time.Unix()))
		b = le.AppendUint32(b, uint32(ev.Time.Nanosecond()/1000))
	}
	b = le.AppendUint16(b, ev.Type)
	b = le.AppendUint16(b, ev.Code)
	return le.AppendUint32(b, uint32(ev.Value))
}
