// Package bootctl is the box's boot-control record: which root slot (a or b) is active, which
// one is on trial after an update and how many trial boots it has left (FW-2). The initramfs
// reads it to pick the slot to mount (cmd/swarmbox-bootctl), the daemon writes it when an
// update is installed (firmware/bundle) and when the trial slot comes up healthy.
//
// The record lives on its own small partition (GPT name "bootctl") in two copies, 4 KiB apart,
// each checksummed (CRC-32C) and numbered. A write goes to the copy that does not hold the
// newest record, so a power cut in the middle of a write tears at most that copy and the
// reader falls back to the other, one step older, which is always a safe state.
package bootctl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Slot names a root slot.
type Slot uint8

// The two root slots and "no slot" (no trial under way).
const (
	A      Slot = 0
	B      Slot = 1
	NoSlot Slot = 0xff
)

// String is "a", "b" or "none".
func (s Slot) String() string {
	switch s {
	case A:
		return "a"
	case B:
		return "b"
	}
	return "none"
}

// Other is the other slot of the pair.
func (s Slot) Other() Slot {
	if s == A {
		return B
	}
	return A
}

// Partition is the GPT partition name of the slot's root file system.
func (s Slot) Partition() string { return "root_" + s.String() }

// ParseSlot reads "a" or "b".
func ParseSlot(s string) (Slot, error) {
	switch s {
	case "a", "A":
		return A, nil
	case "b", "B":
		return B, nil
	}
	return NoSlot, fmt.Errorf("slot %q: want a or b", s)
}

// Layout of one copy.
const (
	// CopySize is the distance between the two copies; each copy is one block of its own.
	CopySize = 4096
	// Copies is how many copies the partition holds.
	Copies     = 2
	formatV1   = 1
	versionLen = 32
	noteLen    = 160
	recordLen  = 20 + 2*versionLen + noteLen + 4
)

var magic = [8]byte{'S', 'W', 'B', 'O', 'O', 'T', 'C', 'T'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is the boot-control state.
type Record struct {
	// Seq numbers the writes; the valid copy with the highest Seq is the record.
	Seq uint32
	// Active is the slot known good: the one booted when no trial is under way.
	Active Slot
	// Trying is the slot on trial after an update, or NoSlot.
	Trying Slot
	// TriesLeft is how many more trial boots Trying gets before the box falls back.
	TriesLeft uint8
	// Tries is how many trial boots Trying was given.
	Tries uint8
	// Versions holds each slot's firmware version; "" while a slot is empty or being written.
	Versions [2]string
	// Note says what happened last (an install, a fallback and why), for `update status`.
	Note string
}

// Errors a caller can tell apart.
var (
	ErrNoRecord = errors.New("no valid boot-control record (both copies are blank or damaged)")
	errBadMagic = errors.New("not a boot-control record (bad magic)")
)

// Marshal encodes r as one copy (CopySize bytes). Over-long versions and notes are cut.
func (r Record) Marshal() []byte {
	b := make([]byte, CopySize)
	copy(b, magic[:])
	binary.LittleEndian.PutUint16(b[8:], formatV1)
	binary.LittleEndian.PutUint32(b[12:], r.Seq)
	b[16], b[17], b[18], b[19] = byte(r.Active), byte(r.Trying), r.TriesLeft, r.Tries
	copy(b[20:20+versionLen], r.Versions[0])
	copy(b[20+versionLen:20+2*versionLen], r.Versions[1])
	copy(b[20+2*versionLen:recordLen-4], r.Note)
	binary.LittleEndian.PutUint32(b[recordLen-4:], crcOf(b[:recordLen-4]))
	return b
}

// Parse decodes one copy, checking its magic, format, checksum and fields.
func Parse(b []byte) (Record, error) {
	if len(b) < recordLen {
		return Record{}, fmt.Errorf("boot-control copy is %d bytes, want at least %d", len(b), recordLen)
	}
	if !bytes.Equal(b[:8], magic[:]) {
		return Record{}, errBadMagic
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v != formatV1 {
		return Record{}, fmt.Errorf("boot-control format %d, this program reads %d: update the initramfs first", v, formatV1)
	}
	if sum, want := crcOf(b[:recordLen-4]), binary.LittleEndian.Uint32(b[recordLen-4:]); sum != want {
		return Record{}, fmt.Errorf("boot-control checksum %08x, want %08x (a torn or damaged copy)", sum, want)
	}
	r := Record{
		Seq:       binary.LittleEndian.Uint32(b[12:]),
		Active:    Slot(b[16]),
		Trying:    Slot(b[17]),
		TriesLeft: b[18],
		Tries:     b[19],
		Versions:  [2]string{cstring(b[20 : 20+versionLen]), cstring(b[20+versionLen : 20+2*versionLen])},
		Note:      cstring(b[20+2*versionLen : recordLen-4]),
	}
	if r.Active != A && r.Active != B {
		return Record{}, fmt.Errorf("boot-control active slot %d is neither a nor b", r.Active)
	}
	if r.Trying != A && r.Trying != B && r.Trying != NoSlot {
		return Record{}, fmt.Errorf("boot-control trial slot %d is neither a, b nor none", r.Trying)
	}
	return r, nil
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Device is where the record is kept: the bootctl partition (or a file in tests).
type Device interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
}

// Read returns the newest valid copy. With both copies bad it returns ErrNoRecord, wrapped
// with what was wrong with each.
func Read(dev io.ReaderAt) (Record, error) {
	var best Record
	found := false
	var errs []error
	for i := range Copies {
		b := make([]byte, recordLen)
		if _, err := dev.ReadAt(b, int64(i*CopySize)); err != nil {
			errs = append(errs, fmt.Errorf("copy %d: %w", i, err))
			continue
		}
		r, err := Parse(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("copy %d: %w", i, err))
			continue
		}
		if !found || r.Seq > best.Seq {
			best, found = r, true
		}
	}
	if !found {
		return Record{}, fmt.Errorf("%w: %w", ErrNoRecord, errors.Join(errs...))
	}
	return best, nil
}

// Write stores r as the successor of prev (the record last read): Seq is prev.Seq+1, and the
// copy written is the one prev does not live in, so a torn write leaves prev readable. It
// syncs before returning and returns the record as written.
func Write(dev Device, prev, r Record) (Record, error) {
	r.Seq = prev.Seq + 1
	if _, err := dev.WriteAt(r.Marshal(), int64(r.Seq%Copies)*CopySize); err != nil {
		return prev, fmt.Errorf("write the boot-control record: %w", err)
	}
	if err := dev.Sync(); err != nil {
		return prev, fmt.Errorf("sync the boot-control record: %w", err)
	}
	return r, nil
}

// Init writes a fresh record into both copies: slot active with version, no trial.
func Init(dev Device, active Slot, version string) (Record, error) {
	r := Record{Seq: 1, Active: active, Trying: NoSlot}
	r.Versions[active] = version
	r.Note = "slot " + active.String() + " written at the factory"
	for i := range Copies {
		if _, err := dev.WriteAt(r.Marshal(), int64(i*CopySize)); err != nil {
			return r, fmt.Errorf("write boot-control copy %d: %w", i, err)
		}
	}
	return r, dev.Sync()
}

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
