package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
)

// downloadsScreen is every title on the box's disk with its progress, rate and sources.
type downloadsScreen struct {
	a    *App
	text *tview.TextView
}

func newDownloads(a *App) *downloadsScreen {
	t := tview.NewTextView().SetDynamicColors(true)
	t.SetBorder(true).SetTitle(" Downloads ")
	return &downloadsScreen{a: a, text: t}
}

func (d *downloadsScreen) Name() string               { return "Downloads" }
func (d *downloadsScreen) Primitive() tview.Primitive { return d.text }

// Keys: Downloads is a page to read, with nothing to open or jump to.
func (d *downloadsScreen) Keys() []keyHelp { return []keyHelp{keyBack, keyHome} }

// more is Info's longer words for the Downloads page.
func (d *downloadsScreen) more() ([]keyHelp, map[string]string) {
	return []keyHelp{{glyphUp + " " + glyphDown, "scroll, when the titles fill more than the screen", ""}}, nil
}

func (d *downloadsScreen) Update(s *snapshot) {
	var local []boxbus.Item
	for _, id := range s.local {
		if it, ok := s.item(id); ok {
			local = append(local, it)
		}
	}
	slices.SortFunc(local, func(x, y boxbus.Item) int { return strings.Compare(x.Title, y.Title) })
	var b strings.Builder
	b.WriteString(s.disk.line())
	for _, it := range local {
		name := tview.Escape(cut(it.Title, 30))
		meter := bar(int64(it.Pieces), int64(it.TotalPieces), 24)
		done := pct(it.Pieces, it.TotalPieces)
		if it.State == boxbus.Kept {
			// Part of the disk the box lends to the swarm: nothing to wait for.
			fmt.Fprintf(&b, "\n  [::b]%-30s[::-] %s %3d%%\n    kept for neighbours, not on your list\n", name, meter, done)
			continue
		}
		state := standing(it, time.Now())
		if complete := it.TotalPieces > 0 && it.Pieces >= it.TotalPieces; !complete {
			total := it.BytesFromServer + it.BytesFromPeers
			rate := d.a.meter.observe(it.ID, total, time.Now())
			left, known := eta(total, it.Pieces, it.TotalPieces, rate)
			state = rateText(rate, left, known)
		}
		// Lines of at most 76 cells, so an 80-column console shows each title whole.
		fmt.Fprintf(&b, "\n  [::b]%-30s[::-] %s %3d%%\n    %s\n    %s\n", name, meter, done, state, arrived(it.BytesFromServer, it.BytesFromPeers))
	}
	if len(local) == 0 {
		b.WriteString("\n  Nothing yet: titles on your wishlist appear here while they arrive.")
	}
	d.text.SetText(b.String())
}
