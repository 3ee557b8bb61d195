package bootctl

import (
	"fmt"
)

// Choice is what the boot path does with a record: mount Slot; Trial says this boot is one of
// the trial slot's tries (the watchdog must then see it confirmed or reboot).
type Choice struct {
	Slot  Slot
	Trial bool
}

// Boot decides which slot to boot and returns the record to write first (changed says whether
// it differs): a trial slot with tries left is booted and loses one try; a trial slot with
// none left is given up, and the box falls back to the active slot, saying why in Note.
func (r Record) Boot() (Choice, Record, bool) {
	if r.Trying == NoSlot {
		return Choice{Slot: r.Active}, r, false
	}
	if r.Trying == r.Active {
		// Never written by Try, but harmless: the active slot is booted as it is.
		n := r
		n.Trying, n.TriesLeft = NoSlot, 0
		return Choice{Slot: r.Active}, n, true
	}
	n := r
	if r.TriesLeft > 0 {
		n.TriesLeft--
		n.Note = fmt.Sprintf("trial boot %d of %d of slot %s (version %s)", r.Tries-n.TriesLeft, r.Tries, r.Trying, r.version(r.Trying))
		return Choice{Slot: r.Trying, Trial: true}, n, true
	}
	n.Trying = NoSlot
	n.Note = fmt.Sprintf("fell back: slot %s (version %s) did not come up healthy in %d trial boots; back on slot %s (version %s)",
		r.Trying, r.version(r.Trying), r.Tries, r.Active, r.version(r.Active))
	return Choice{Slot: r.Active}, n, true
}

func (r Record) version(s Slot) string {
	if s > B || r.Versions[s] == "" {
		return "none"
	}
	return r.Versions[s]
}

// Version is the firmware version in slot s ("" when empty).
func (r Record) Version(s Slot) string {
	if s > B {
		return ""
	}
	return r.Versions[s]
}

// Confirm marks the booted slot good once it passed its health check: a trial slot becomes
// the active one. ok is false when booted is not on trial (nothing to do).
func (r Record) Confirm(booted Slot) (Record, bool) {
	if r.Trying == NoSlot || r.Trying != booted {
		return r, false
	}
	n := r
	n.Active, n.Trying, n.TriesLeft = booted, NoSlot, 0
	n.Note = fmt.Sprintf("slot %s (version %s) came up healthy and is now active", booted, r.version(booted))
	return n, true
}

// BeginWrite is the record to store before a slot's contents are overwritten: the slot is
// marked empty (and never tried) until Try names it again, so a power cut halfway through
// the write can never boot a half-written slot. The active slot cannot be written.
func (r Record) BeginWrite(s Slot) (Record, error) {
	if s == r.Active {
		return r, fmt.Errorf("slot %s is the active slot: write the other one", s)
	}
	if s > B {
		return r, fmt.Errorf("slot %d is neither a nor b", s)
	}
	n := r
	n.Versions[s] = ""
	if n.Trying == s {
		n.Trying, n.TriesLeft, n.Tries = NoSlot, 0, 0
	}
	n.Note = fmt.Sprintf("writing slot %s", s)
	return n, nil
}

// Try is the record that boots slot s (holding version) on trial for tries boots.
func (r Record) Try(s Slot, version string, tries uint8) (Record, error) {
	if s == r.Active {
		return r, fmt.Errorf("slot %s is the active slot: nothing to try", s)
	}
	if s > B {
		return r, fmt.Errorf("slot %d is neither a nor b", s)
	}
	if tries == 0 {
		return r, fmt.Errorf("0 trial boots would never boot slot %s: give at least 1", s)
	}
	if version == "" || len(version) > versionLen {
		return r, fmt.Errorf("version %q: want 1 to %d bytes", version, versionLen)
	}
	n := r
	n.Versions[s] = version
	n.Trying, n.TriesLeft, n.Tries = s, tries, tries
	n.Note = fmt.Sprintf("slot %s (version %s) installed; %d trial boots", s, version, tries)
	return n, nil
}

// ConfirmOn reads the record on dev afresh and, if booted is on trial, confirms it and writes
// the record. ok is false when there was nothing to confirm.
func ConfirmOn(dev Device, booted Slot) (rec Record, ok bool, err error) {
	r, err := Read(dev)
	if err != nil {
		return r, false, err
	}
	n, ok := r.Confirm(booted)
	if !ok {
		return r, false, nil
	}
	n, err = Write(dev, r, n)
	return n, err == nil, err
}
