package bundle

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"time"

	"swarmbox/firmware/bootctl"
)

// SlotWriter is an open root slot: its block device on the box, a file in tests.
type SlotWriter interface {
	io.WriterAt
	Sync() error
	Close() error
}

// Box is the box side of an update: where the record and the slots are, what the box is,
// and the key it trusts.
type Box struct {
	Record bootctl.Device
	// Booted is the slot the running root was mounted from.
	Booted bootctl.Slot
	// OpenSlot opens a slot for writing and says how many bytes it holds.
	OpenSlot func(bootctl.Slot) (SlotWriter, int64, error)
	Hardware string
	Key      ed25519.PublicKey
	// Tries is how many trial boots the new slot gets (0: 3).
	Tries uint8
	Log   *slog.Logger
}

// Result is what an install did.
type Result struct {
	Manifest Manifest
	Slot     bootctl.Slot
	Record   bootctl.Record
	Elapsed  time.Duration
}

// Install verifies the bundle read from r and streams its image into the slot that is not
// active, then sets the record to try that slot on the next boot. Any refusal or failure
// leaves the active slot and its record untouched (a half-written inactive slot is marked
// empty, so it is never booted).
func (b *Box) Install(ctx context.Context, r io.Reader) (Result, error) {
	start := time.Now()
	log := b.Log
	if log == nil {
		log = slog.Default()
	}
	rec, err := bootctl.Read(b.Record)
	if err != nil {
		return Result{}, fmt.Errorf("read the boot-control record: %w", err)
	}
	if b.Booted != rec.Active {
		return Result{}, fmt.Errorf("slot %s is on a trial boot (the active slot is %s): wait until it is confirmed or falls back, then install again", b.Booted, rec.Active)
	}
	target := rec.Active.Other()
	br, err := Open(r, b.Key)
	if err != nil {
		return Result{}, err
	}
	m := br.Manifest
	if !m.For(b.Hardware) {
		return Result{}, fmt.Errorf("%w: it targets %v, this box is %s", ErrHardware, m.Hardware, b.Hardware)
	}
	running := rec.Version(rec.Active)
	if c := bootctl.CompareVersions(m.Version, running); c <= 0 && !m.Rollback {
		return Result{}, fmt.Errorf("%w: bundle version %s, running %s (going back needs a rollback bundle, signed with 'firmware build -rollback')", ErrDowngrade, m.Version, running)
	}
	slot, size, err := b.OpenSlot(target)
	if err != nil {
		return Result{}, fmt.Errorf("open slot %s: %w", target, err)
	}
	defer slot.Close()
	if m.Image.Size > size {
		return Result{}, fmt.Errorf("%w: the image is %d bytes, slot %s holds %d (build the image for this disk layout)", ErrNoSpace, m.Image.Size, target, size)
	}
	begin, err := rec.BeginWrite(target)
	if err != nil {
		return Result{}, err
	}
	if rec, err = bootctl.Write(b.Record, rec, begin); err != nil {
		return Result{}, err
	}
	log.Info("firmware: writing slot", "slot", target.String(), "version", m.Version, "bytes", m.Image.Size)
	var off int64
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("install stopped after %d of %d bytes: %w (slot %s stays empty; install again)", off, m.Image.Size, err, target)
		}
		c, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Result{}, fmt.Errorf("%w (slot %s stays empty, slot %s untouched)", err, target, rec.Active)
		}
		if _, err := slot.WriteAt(c, off); err != nil {
			return Result{}, fmt.Errorf("%w: writing slot %s at byte %d: %w (slot %s stays empty, slot %s untouched)", ErrNoSpace, target, off, err, target, rec.Active)
		}
		off += int64(len(c))
	}
	if err := slot.Sync(); err != nil {
		return Result{}, fmt.Errorf("sync slot %s: %w (slot %s stays empty)", target, err, target)
	}
	tries := b.Tries
	if tries == 0 {
		tries = 3
	}
	next, err := rec.Try(target, m.Version, tries)
	if err != nil {
		return Result{}, err
	}
	if rec, err = bootctl.Write(b.Record, rec, next); err != nil {
		return Result{}, err
	}
	el := time.Since(start)
	log.Info("firmware: slot written; the next boot tries it", "slot", target.String(), "version", m.Version, "tries", tries, "elapsed", el.Round(time.Millisecond))
	return Result{Manifest: m, Slot: target, Record: rec, Elapsed: el}, nil
}
