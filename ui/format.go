package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
	"swarmbox/vocab"
)

func newList() *tview.List {
	l := tview.NewList().ShowSecondaryText(false).SetHighlightFullLine(true).
		SetSelectedStyle(theme.focus.style()).
		SetMainTextStyle(theme.body.style())
	l.SetBorder(true).SetBorderPadding(0, 0, 1, 1)
	return l
}

// fill replaces a list's items, keeping the selection where it was.
func fill(l *tview.List, items []string, open func(i int)) {
	cur := l.GetCurrentItem()
	l.Clear()
	for i, s := range items {
		l.AddItem(s, "", 0, func() { open(i) })
	}
	if cur < len(items) {
		l.SetCurrentItem(cur)
	}
}

// price is a title's price in the account's currency ("free" for nothing), as the box last
// told the currency.
func (s *snapshot) price(c int64) string { return vocab.Price(c, s.terms.Currency) }

// amount is a balance or a charge in the account's currency, zero included.
func (s *snapshot) amount(c int64) string { return vocab.Amount(c, s.terms.Currency) }

// rentalLength says how long a rental plays, "" while the box has not told.
func (s *snapshot) rentalLength() string {
	if s.terms.RentalSeconds <= 0 {
		return ""
	}
	return vocab.Span(time.Duration(s.terms.RentalSeconds) * time.Second)
}

// standing is where a title stands, in the vocabulary the TV shares with the command line and
// the browser.
func standing(it boxbus.Item, now time.Time) string {
	var end time.Time
	if it.Expires != 0 {
		end = time.Unix(it.Expires, 0)
	}
	return vocab.Standing(vocab.Title{State: it.State, LicenceKind: it.LicenceKind, Expires: end, PriceCents: it.PriceCents}, now)
}

// free says whether a title costs nothing: it is taken, never bought or rented.
func free(it boxbus.Item) bool { return it.PriceCents == 0 }

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%d kB", n>>10)
}

func bar(done, total int64, width int) string {
	if total <= 0 {
		total = 1
	}
	n := min(width, max(0, int(int64(width)*done/total)))
	return theme.meter.tag() + strings.Repeat(glyphDone, n) + theme.faint.tag() + strings.Repeat(glyphToDo, width-n) + reset
}

func pct(a, b int32) int {
	if b <= 0 {
		return 0
	}
	return int(100 * int64(a) / int64(b))
}

// cut shortens s to n characters, marking the cut with an ellipsis.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + glyphEllipsis
	}
	return s
}

// clock formats seconds as h:mm:ss or m:ss.
func clock(sec float64) string {
	s := int(sec)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// arrived says what has actually reached the box, and from where: nothing, all from one
// source, or how much from each. No share is given of nothing.
func arrived(fromServer, fromPeers int64) string {
	switch {
	case fromServer+fromPeers <= 0:
		return "nothing received yet"
	case fromServer <= 0:
		return size(fromPeers) + " received, all from neighbours"
	case fromPeers <= 0:
		return size(fromServer) + " received, all from the operator"
	}
	return fmt.Sprintf("%s from neighbours, %s from the operator", size(fromPeers), size(fromServer))
}
