// Package regions holds the operator's per-region server policy: each region's daily off-peak
// window, in which the server sends the transfers that are not a box's top wish, and the
// server's byte rate in that window (SCHED-16). It parses the operator's region file, turns a
// window into the scheduler's slot calendar, and reloads the file when it changes (File).
package regions

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // named zones work on hosts without a zoneinfo database

	"swarmbox/cloud/scheduler"
)

// Window is a region's daily off-peak hours and the server's budget in them.
type Window struct {
	// Start and End are minutes after local midnight; End <= Start crosses midnight.
	Start, End int
	Loc        *time.Location
	// Rate caps the server's bytes per second over the window (the slot's budget is Rate times
	// the window's length); 0 means no cap.
	Rate int64
}

// Policies maps a region's name to its window. A region without one has no calendar: the
// server sends at any time (the scheduler's behaviour for an empty calendar).
type Policies map[string]Window

// unlimited stands for "no budget" in a slot; small enough that adding a round's bytes to it
// never overflows.
const unlimited = int64(1) << 62

// maxRate bounds a rate so that a day's budget fits an int64 (1 TB/s).
const maxRate = int64(1) << 40

// Slots is the window as the scheduler's calendar from now over the next days: off-peak slots
// with the window's budget, and peak slots between them (only top wishes use the server then,
// without a budget: the scheduler has no cap for them).
func (w Window) Slots(now time.Time, days int) []scheduler.Slot {
	loc := w.Loc
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	var off [][2]time.Time
	for d := -1; d <= days; d++ {
		y, m, dd := local.Date()
		start := time.Date(y, m, dd+d, w.Start/60, w.Start%60, 0, 0, loc)
		endDay := dd + d
		if w.End <= w.Start {
			endDay++
		}
		end := time.Date(y, m, endDay, w.End/60, w.End%60, 0, 0, loc)
		if n := len(off); n > 0 && start.Before(off[n-1][1]) {
			start = off[n-1][1] // a clock change made two windows meet
		}
		if start.Before(now) {
			start = now // the window under way: the calendar starts now
		}
		if end.After(start) {
			off = append(off, [2]time.Time{start, end})
		}
	}
	var out []scheduler.Slot
	at := now
	for _, o := range off {
		if o[0].After(at) {
			out = append(out, scheduler.Slot{Start: at, End: o[0], Budget: unlimited, Peak: true})
		}
		budget := unlimited // the rest of a window under way gets the rest of its budget
		if w.Rate > 0 {
			budget = w.Rate * int64(o[1].Sub(o[0])/time.Second)
		}
		out = append(out, scheduler.Slot{Start: o[0], End: o[1], Budget: budget})
		at = o[1]
	}
	return out
}

// Parse reads a region file: one region a line, "REGION HH:MM-HH:MM ZONE [RATE]", where ZONE
// is UTC, an IANA name (Europe/Berlin) or an offset (+02:00), and RATE the server's bytes per
// second in the window (suffix k, M or G: thousands). '#' starts a comment. name is the file's
// name in errors (file:line).
func Parse(name string, r io.Reader) (Policies, error) {
	out := Policies{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		region, w, err := parseLine(fields)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if _, dup := out[region]; dup {
			return nil, fmt.Errorf("%s:%d: region %q given twice; keep one line per region", name, line, region)
		}
		out[region] = w
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func parseLine(f []string) (string, Window, error) {
	if len(f) < 3 || len(f) > 4 {
		return "", Window{}, errors.New(`want "REGION HH:MM-HH:MM ZONE [BYTES_PER_SECOND]"`)
	}
	var w Window
	from, to, ok := strings.Cut(f[1], "-")
	if !ok {
		return "", w, fmt.Errorf("window %q: want HH:MM-HH:MM", f[1])
	}
	var err error
	if w.Start, err = clock(from); err != nil {
		return "", w, fmt.Errorf("window %q: %w", f[1], err)
	}
	if w.End, err = clock(to); err != nil {
		return "", w, fmt.Errorf("window %q: %w", f[1], err)
	}
	if w.Start == w.End {
		return "", w, fmt.Errorf("window %q: empty; leave the region out for a server that sends at any time", f[1])
	}
	if w.Loc, err = zone(f[2]); err != nil {
		return "", w, err
	}
	if len(f) == 4 {
		if w.Rate, err = rate(f[3]); err != nil {
			return "", w, err
		}
	}
	return f[0], w, nil
}

// clock reads HH:MM as minutes after midnight.
func clock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	for _, c := range h + m {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("time %q: want HH:MM from 00:00 to 23:59", s)
		}
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if hh > 23 || mm > 59 {
		return 0, fmt.Errorf("time %q: want HH:MM from 00:00 to 23:59", s)
	}
	return hh*60 + mm, nil
}

// zone reads UTC, a UTC offset (+HH:MM) or an IANA zone name.
func zone(s string) (*time.Location, error) {
	if s == "UTC" || s == "Z" {
		return time.UTC, nil
	}
	if s[0] == '+' || s[0] == '-' {
		m, err := clock(s[1:])
		if err != nil || m > 14*60 {
			return nil, fmt.Errorf("zone %q: want an offset from -14:00 to +14:00", s)
		}
		if s[0] == '-' {
			m = -m
		}
		return time.FixedZone(s, m*60), nil
	}
	ok := len(s) <= 64 && s != "Local" && !strings.Contains(s, "..") && !strings.HasPrefix(s, "/")
	for _, c := range s {
		ok = ok && (c == '/' || c == '_' || c == '-' || c == '+' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
	}
	if !ok {
		return nil, fmt.Errorf("zone %q: want UTC, +HH:MM or an IANA name such as Europe/Berlin", s)
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("zone %q: %w (want UTC, +HH:MM or an IANA name such as Europe/Berlin)", s, err)
	}
	return loc, nil
}

// rate reads bytes per second, with an optional k, M or G suffix (thousands).
func rate(arg string) (int64, error) {
	s, mult := arg, int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > maxRate/mult {
		return 0, fmt.Errorf("rate %q: want bytes per second from 1 to 1000G (suffix k, M or G)", arg)
	}
	return n * mult, nil
}
