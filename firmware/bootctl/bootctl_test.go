package bootctl

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fileDev is a record partition in a file.
func fileDev(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "bootctl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 20); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestRecordRoundTrip(t *testing.T) {
	r := Record{Seq: 7, Active: B, Trying: A, TriesLeft: 2, Tries: 3, Versions: [2]string{"2.1", "2.0"}, Note: "hello"}
	got, err := Parse(r.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if got != r {
		t.Fatalf("round trip: %+v, want %+v", got, r)
	}
}

func TestParseRefusesDamage(t *testing.T) {
	good := Record{Seq: 1, Active: A, Trying: NoSlot, Versions: [2]string{"1", ""}}.Marshal()
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"blank", func(b []byte) []byte { return make([]byte, CopySize) }, "bad magic"},
		{"short", func(b []byte) []byte { return b[:100] }, "want at least"},
		{"flipped bit", func(b []byte) []byte { b[30] ^= 1; return b }, "checksum"},
		{"future format", func(b []byte) []byte { b[8] = 9; return b }, "format 9"},
		{"active slot 5", func(b []byte) []byte {
			b[16] = 5
			return resum(b)
		}, "neither a nor b"},
		{"trial slot 7", func(b []byte) []byte {
			b[17] = 7
			return resum(b)
		}, "neither a, b nor none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.edit(append([]byte(nil), good...))
			_, err := Parse(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// resum recomputes a copy's checksum after a test edited a field.
func resum(b []byte) []byte {
	binary.LittleEndian.PutUint32(b[recordLen-4:], crcOf(b[:recordLen-4]))
	return b
}

// TestBootTrialsAndFallsBack walks an update through the initramfs's decisions: two trial
// boots, then the fall back to the old slot, saying why; and a confirmed trial.
func TestBootTrialsAndFallsBack(t *testing.T) {
	r := Record{Active: A, Trying: NoSlot, Versions: [2]string{"1", ""}}
	steps := []struct {
		name      string
		do        func(Record) Record
		wantSlot  Slot
		wantTrial bool
		wantNote  string
	}{
		{"no trial", func(r Record) Record { return r }, A, false, ""},
		{"installed b", func(r Record) Record {
			n, err := r.Try(B, "2", 2)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}, B, true, "trial boot 1 of 2"},
		{"second try", func(r Record) Record { return r }, B, true, "trial boot 2 of 2"},
		{"out of tries", func(r Record) Record { return r }, A, false, "fell back: slot b (version 2) did not come up healthy in 2 trial boots; back on slot a (version 1)"},
		{"stays on a", func(r Record) Record { return r }, A, false, "fell back"},
	}
	for _, s := range steps {
		r = s.do(r)
		c, n, _ := r.Boot()
		if c.Slot != s.wantSlot || c.Trial != s.wantTrial {
			t.Fatalf("%s: boots %v trial=%v, want %v trial=%v", s.name, c.Slot, c.Trial, s.wantSlot, s.wantTrial)
		}
		if !strings.Contains(n.Note, s.wantNote) {
			t.Fatalf("%s: note %q, want %q", s.name, n.Note, s.wantNote)
		}
		r = n
	}
	// A second update that comes up healthy becomes the active slot.
	r, err := r.Try(B, "3", 1)
	if err != nil {
		t.Fatal(err)
	}
	c, r, _ := r.Boot()
	if c.Slot != B || !c.Trial {
		t.Fatalf("boots %v trial=%v, want b on trial", c.Slot, c.Trial)
	}
	if _, ok := r.Confirm(A); ok {
		t.Fatal("confirming slot a, which is not on trial, changed the record")
	}
	r, ok := r.Confirm(B)
	if !ok || r.Active != B || r.Trying != NoSlot {
		t.Fatalf("after Confirm(b): %+v", r)
	}
	if c, _, changed := r.Boot(); c.Slot != B || c.Trial || changed {
		t.Fatalf("after confirming, boots %v trial=%v changed=%v", c.Slot, c.Trial, changed)
	}
}

func TestTryAndBeginWriteRefuseTheActiveSlot(t *testing.T) {
	r := Record{Active: A, Trying: NoSlot, Versions: [2]string{"1", ""}}
	if _, err := r.Try(A, "2", 1); err == nil {
		t.Error("Try(active slot) accepted")
	}
	if _, err := r.BeginWrite(A); err == nil {
		t.Error("BeginWrite(active slot) accepted")
	}
	if _, err := r.Try(B, "2", 0); err == nil {
		t.Error("Try with 0 tries accepted")
	}
	if _, err := r.Try(B, strings.Repeat("9", 40), 1); err == nil {
		t.Error("Try with a 40-byte version accepted")
	}
	n, _ := r.Try(B, "2", 3)
	n, err := n.BeginWrite(B)
	if err != nil || n.Trying != NoSlot || n.Versions[B] != "" {
		t.Fatalf("BeginWrite(b) of a slot on trial: %+v %v; want no trial and an empty slot", n, err)
	}
}

// TestTornWriteKeepsThePreviousRecord cuts the power in the middle of every write of an
// update's records (a copy half old, half new): the reader always gets the record before the
// write or the one after, never an error.
func TestTornWriteKeepsThePreviousRecord(t *testing.T) {
	dev := fileDev(t)
	first, err := Init(dev, A, "1")
	if err != nil {
		t.Fatal(err)
	}
	prev := first
	for i, next := range []func(Record) (Record, error){
		func(r Record) (Record, error) { return r.BeginWrite(B) },
		func(r Record) (Record, error) { return r.Try(B, "2", 3) },
		func(r Record) (Record, error) { _, n, _ := r.Boot(); return n, nil },
		func(r Record) (Record, error) { n, _ := r.Confirm(B); return n, nil },
	} {
		n, err := next(prev)
		if err != nil {
			t.Fatal(err)
		}
		for _, cut := range []int{1, 20, recordLen / 2, recordLen - 1} {
			// The torn copy: the new record's first cut bytes over the old copy's.
			n.Seq = prev.Seq + 1
			at := int64(n.Seq%Copies) * CopySize
			if _, err := dev.WriteAt(n.Marshal()[:cut], at); err != nil {
				t.Fatal(err)
			}
			got, err := Read(dev)
			if err != nil {
				t.Fatalf("step %d, cut at %d: %v", i, cut, err)
			}
			if got != prev {
				t.Fatalf("step %d, cut at %d: read %+v, want the previous record %+v", i, cut, got, prev)
			}
		}
		w, err := Write(dev, prev, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Read(dev)
		if err != nil || got != w {
			t.Fatalf("step %d: read %+v %v, want %+v", i, got, err, w)
		}
		prev = w
	}
	if prev.Active != B {
		t.Fatalf("after the update, active %v, want b", prev.Active)
	}
}

func TestReadBlankPartition(t *testing.T) {
	_, err := Read(fileDev(t))
	if !errors.Is(err, ErrNoRecord) {
		t.Fatalf("Read of a blank partition: %v, want ErrNoRecord", err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1", "2", -1}, {"2", "1", 1}, {"1.10", "1.9", 1}, {"1.0", "1", 0}, {"01", "1", 0},
		{"2.0.1", "2.0", 1}, {"1.a", "1.b", -1}, {"10", "9", 1},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// FuzzParse: any bytes give a record or an error, never a panic, and a record survives a
// round trip.
func FuzzParse(f *testing.F) {
	f.Add(Record{Seq: 3, Active: B, Trying: A, TriesLeft: 1, Tries: 2, Versions: [2]string{"1", "2"}, Note: "n"}.Marshal())
	f.Add(make([]byte, recordLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		r2, err := Parse(r.Marshal())
		if err != nil || r2.Seq != r.Seq || r2.Active != r.Active || r2.Trying != r.Trying {
			t.Fatalf("round trip of %+v: %+v %v", r, r2, err)
		}
	})
}
