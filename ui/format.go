package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

func newList() *tview.List {
	l := tview.NewList().ShowSecondaryText(false).SetHighlightFullLine(true).
		SetSelectedStyle(tcell.StyleDefault.Background(focus).Foreground(ink).Bold(true)).
		SetMainTextStyle(tcell.StyleDefault.Background(bg).Foreground(tcell.ColorWhite))
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

func money(c int64) string {
	if c == 0 {
		return "free"
	}
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}

// rentPrice is what renting costs: a third of the price, rounded up.
func rentPrice(c int64) int64 { return (c + 2) / 3 }

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d kB", n>>10)
}

func bar(done, total int64, width int) string {
	if total <= 0 {
		total = 1
	}
	n := min(width, max(0, int(int64(width)*done/total)))
	return "[#ffc800]" + strings.Repeat("█", n) + "[#404060]" + strings.Repeat("░", width-n) + "[-]"
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
		return string(r[:n-1]) + "…"
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

// sources reads as the share of bytes from neighbours (the rest came from the operator).
func sources(fromServer, fromPeers int64) (peers int) {
	if total := fromServer + fromPeers; total > 0 {
		return int(100 * fromPeers / total)
	}
	return 0
}
