package regions

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/scheduler"
)

// TestParseRegionFile (SCHED-16): windows, zones, rates, comments, and file:line errors.
func TestParseRegionFile(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		want       map[string]Window
		err        string // in the error, after "regions.txt:LINE: "
	}{
		{name: "one region in UTC", text: "eu 01:00-06:00 UTC\n", want: map[string]Window{"eu": {Start: 60, End: 360, Loc: time.UTC}}},
		{name: "crossing midnight, named zone, rate, comments", text: "# operator\n\nnorth 22:30-05:15 Europe/Berlin 12M # night\nsouth 00:00-23:59 -05:30 800k\n",
			want: map[string]Window{"north": {Start: 22*60 + 30, End: 5*60 + 15, Loc: berlin, Rate: 12_000_000}, "south": {Start: 0, End: 23*60 + 59, Loc: time.FixedZone("-05:30", -(5*60+30)*60), Rate: 800_000}}},
		{name: "empty file", text: "# nothing yet\n", want: map[string]Window{}},
		{name: "missing zone", text: "eu 01:00-06:00\n", err: "regions.txt:1: want"},
		{name: "bad hour", text: "\neu 24:00-06:00 UTC\n", err: "regions.txt:2: window"},
		{name: "signed minute", text: "eu 01:+1-06:00 UTC\n", err: "regions.txt:1: window"},
		{name: "empty window", text: "eu 06:00-06:00 UTC\n", err: "empty"},
		{name: "unknown zone", text: "eu 01:00-06:00 Mars/Olympus\n", err: "regions.txt:1: zone"},
		{name: "path as zone", text: "eu 01:00-06:00 ../../etc/passwd\n", err: "regions.txt:1: zone"},
		{name: "offset too large", text: "eu 01:00-06:00 +15:00\n", err: "regions.txt:1: zone"},
		{name: "zero rate", text: "eu 01:00-06:00 UTC 0\n", err: "regions.txt:1: rate"},
		{name: "rate too large", text: "eu 01:00-06:00 UTC 9999999G\n", err: "regions.txt:1: rate"},
		{name: "region twice", text: "eu 01:00-06:00 UTC\neu 02:00-03:00 UTC\n", err: "regions.txt:2: region \"eu\" given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("regions.txt", strings.NewReader(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for r, w := range tc.want {
				g := got[r]
				if g.Start != w.Start || g.End != w.End || g.Rate != w.Rate || g.Loc.String() != w.Loc.String() {
					t.Errorf("%s: %+v, want %+v", r, g, w)
				}
			}
		})
	}
}

// TestWindowSlots (SCHED-16): the calendar from now: peak until the window opens, the window
// (crossing midnight, in its zone, across a clock change) with its budget, peak again.
func TestWindowSlots(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	for _, tc := range []struct {
		name string
		w    Window
		now  time.Time
		want [][2]time.Time // the first off-peak slots
	}{
		{"evening: the night's window comes next", Window{Start: 60, End: 360, Loc: berlin}, at(2026, 12, 2, 18, 0),
			[][2]time.Time{{at(2026, 12, 3, 1, 0), at(2026, 12, 3, 6, 0)}, {at(2026, 12, 4, 1, 0), at(2026, 12, 4, 6, 0)}}},
		{"inside a window that crossed midnight: now until its end", Window{Start: 22 * 60, End: 5 * 60, Loc: berlin}, at(2026, 12, 3, 2, 0),
			[][2]time.Time{{at(2026, 12, 3, 2, 0), at(2026, 12, 3, 5, 0)}, {at(2026, 12, 3, 22, 0), at(2026, 12, 4, 5, 0)}}},
		{"the autumn clock change makes the night an hour longer", Window{Start: 0, End: 6 * 60, Loc: berlin}, at(2026, 10, 24, 12, 0),
			[][2]time.Time{{at(2026, 10, 25, 0, 0), at(2026, 10, 25, 6, 0)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slots := tc.w.Slots(tc.now, 2)
			s := scheduler.Snapshot{Now: tc.now, Slots: slots}
			if err := s.Validate(); err != nil {
				t.Fatalf("calendar %v: %v", slots, err)
			}
			if !slots[0].Start.Equal(tc.now) {
				t.Errorf("calendar starts %v, want now %v", slots[0].Start, tc.now)
			}
			var off [][2]time.Time
			for i, sl := range slots {
				if i > 0 && !sl.Start.Equal(slots[i-1].End) {
					t.Errorf("gap before slot %d: %v", i, sl)
				}
				if !sl.Peak {
					off = append(off, [2]time.Time{sl.Start, sl.End})
				}
			}
			for i, w := range tc.want {
				if i >= len(off) || !off[i][0].Equal(w[0]) || !off[i][1].Equal(w[1]) {
					t.Fatalf("off-peak slots %v, want %v first", off, tc.want)
				}
			}
		})
	}
	w := Window{Start: 60, End: 120, Loc: time.UTC, Rate: 1000}
	for _, sl := range w.Slots(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), 1) {
		if !sl.Peak && sl.Budget != 3_600_000 {
			t.Errorf("an hour at 1000 B/s: budget %d, want 3600000", sl.Budget)
		}
	}
}

// TestFileReloads (SCHED-16): a changed file is read again; a bad one keeps the last good
// policies and says why.
func TestFileReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regions")
	write := func(text string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	write("eu 01:00-06:00 UTC\n", t0)
	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, v := f.Current(); p["eu"].Start != 60 || v != 1 {
		t.Fatalf("first load %v v%d", p, v)
	}
	write("eu 02:00-06:00 UTC\n", t0.Add(time.Second))
	if p, v := f.Current(); p["eu"].Start != 120 || v != 2 || f.Err() != nil {
		t.Fatalf("after an edit %v v%d %v", p, v, f.Err())
	}
	write("eu 02:00-0600 UTC\n", t0.Add(2*time.Second))
	if p, v := f.Current(); p["eu"].Start != 120 || v != 2 || f.Err() == nil || !strings.Contains(f.Err().Error(), path+":1:") {
		t.Fatalf("after a bad edit %v v%d %v; want the last good file and a file:line error", p, v, f.Err())
	}
	if _, err := Open(path, nil); err == nil {
		t.Fatal("Open accepted a bad file")
	}
}

func FuzzRegionFile(f *testing.F) {
	for _, s := range []string{"eu 01:00-06:00 UTC\n", "north 22:30-05:15 Europe/Berlin 12M # c\n", "x 00:00-00:01 -14:00 1k", "a 1:00-2:00 UTC", "eu 01:00-06:00 Local"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse("f", strings.NewReader(text))
		if err != nil {
			return
		}
		for r, w := range p {
			if w.Start < 0 || w.Start >= 24*60 || w.End < 0 || w.End >= 24*60 || w.Start == w.End || w.Loc == nil || w.Rate < 0 {
				t.Fatalf("%s: bad window %+v", r, w)
			}
			s := scheduler.Snapshot{Now: now, Slots: w.Slots(now, 2)}
			if err := s.Validate(); err != nil {
				t.Fatalf("%s: calendar invalid: %v", r, err)
			}
		}
	})
}
