package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// downloadingBox is shelvedBox with its first title arriving and its second ready on disk.
type downloadingBox struct {
	*catalogBox
	got int64
}

func (b *downloadingBox) Local() ([]Local, error) {
	b.got += 3 << 20 // arriving at some rate between two looks
	return []Local{{ID: b.titles[0].ID, Pieces: 10, Total: 40, BytesFromServer: b.got, BytesFromPeers: 2 * b.got},
		{ID: b.titles[1].ID, Complete: true, Pieces: 40, Total: 40, BytesFromPeers: 9 << 20},
		{ID: b.titles[2].ID, Pieces: 10, Total: 40, BytesFromPeers: 1 << 20}}, nil // a range kept for neighbours
}

func (b *downloadingBox) Item(id string) (ItemState, error) {
	st, err := b.catalogBox.Item(id)
	switch id {
	case b.titles[0].ID:
		st.State, st.Pieces, st.TotalPieces = "downloading", 10, 40
	case b.titles[1].ID:
		st.State = "ready to buy"
	case b.titles[2].ID:
		st.State, st.Pieces, st.TotalPieces = "kept for neighbours", 10, 40
	}
	return st, err
}

// TestScreensFitTheConsole: at 80×24 and 160×50, what each screen must say stands whole on one
// row (a long title is cut with an ellipsis rather than pushing the rest onto the next row).
func TestScreensFitTheConsole(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 50}} {
		box := &downloadingBox{catalogBox: shelvedBox()}
		box.titles[0].Title = "A Rather Long Title For A Documentary About Long Titles"
		first := box.titles[0].ID
		for _, c := range []struct {
			page string
			rows []string // each must be found within one row
		}{
			{"home", []string{"Browse the catalog", "Downloading", "Ready to buy"}},
			{"catalog", []string{"Category ", "all (5)", "A Rather Long Title For A Documen… video  films/drama", "Manual", "uncategorised"}},
			{"downloads", []string{"A Rather Long Title For A Doc… ", " 25%", "/s, about", "· from neighbours 66%, the operator 34%", "Comedy Two", "100%", "ready · from neighbours 100%, the operator 0%", "kept for neighbours, not on your list"}},
			{"item:" + first, []string{"Category  films/drama", "State     downloading 25%", "/s, about", "66% from neighbours, 34% from the operator"}},
			{"search", []string{"Title contains:", "Done"}},
			{"wishlist", []string{"Wishlist"}},
		} {
			t.Run(fmt.Sprintf("%dx%d/%s", size[0], size[1], strings.Split(c.page, ":")[0]), func(t *testing.T) {
				a := New(box, "")
				sim := console(a, size[0], size[1])
				a.meter.observe(first, 0, time.Now().Add(-2*time.Second)) // a look two seconds ago
				if c.page != "home" {
					a.open(c.page)
				}
				rows := onScreen(a, sim)
				for _, want := range c.rows {
					found := false
					for _, r := range rows {
						found = found || strings.Contains(r, want)
					}
					if !found {
						t.Errorf("no row holds %q:\n%s", want, strings.Join(rows, "\n"))
					}
				}
			})
		}
	}
}

// TestKeptTitlesStayOffHome: a title the box keeps (part of) for neighbours in its lent cache is
// not "downloading" for the household: Home does not list it, and its page says what it is and
// offers to add it to the wishlist.
func TestKeptTitlesStayOffHome(t *testing.T) {
	box := &downloadingBox{catalogBox: shelvedBox()}
	kept := box.titles[2]
	a := New(box, "")
	sim := console(a, 160, 50)
	if rows := strings.Join(onScreen(a, sim), "\n"); strings.Contains(rows, kept.Title) || !strings.Contains(rows, box.titles[0].Title) {
		t.Errorf("home lists the kept title %q (or not the downloading one):\n%s", kept.Title, rows)
	}
	a.open("item:" + kept.ID)
	rows := strings.Join(onScreen(a, sim), "\n")
	for _, want := range []string{"kept for neighbours (not on your list)", "Add to wishlist"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the kept title's page lacks %q:\n%s", want, rows)
		}
	}
}
