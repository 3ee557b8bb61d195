package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestScreensFitTheConsole: at 80×24, at the box's 80×25 (Terminus 16×32 on 1280×800) within
// its 5% title-safe margins (UI-4), and at 160×50, what each screen must say stands whole on one
// row (a long title is cut with an ellipsis rather than pushing the rest onto the next row).
func TestScreensFitTheConsole(t *testing.T) {
	for _, size := range [][3]int{{80, 24, 0}, {80, 25, 5}, {160, 50, 0}} {
		box := downloadingBox()
		box.items[0].Title = "A Rather Long Title For A Documentary About Long Titles"
		first := box.items[0].ID
		for _, c := range []struct {
			page string
			open func(a *App) screen
			rows []string // each must be found within one row
		}{
			{"home", nil, []string{"Browse the catalog", "Downloading", "Ready to buy"}},
			{"catalog", func(a *App) screen { return newCatalog(a) }, []string{"Category ", "all (5)", "A Rather Long Title For A Documen… video  films/drama", "Manual", "uncategorised"}},
			{"downloads", func(a *App) screen { return newDownloads(a) }, []string{"A Rather Long Title For A Doc… ", " 25%", "/s, ", "6.0 MB from neighbours, 3.0 MB from the operator", "Comedy Two", "100%", "ready to buy", "9.0 MB received, all from neighbours", "kept for neighbours, not on your list"}},
			{"item", func(a *App) screen { return newItem(a, first) }, []string{"Category  films/drama", "State     downloading 25%", "/s, ", "6.0 MB from neighbours, 3.0 MB from the operator"}},
			{"search", func(a *App) screen { return newSearch(a) }, []string{"Title contains:", "Done"}},
			{"wishlist", func(a *App) screen { return newWishlist(a) }, []string{"Wishlist"}},
		} {
			t.Run(fmt.Sprintf("%dx%d-safe%d/%s", size[0], size[1], size[2], c.page), func(t *testing.T) {
				a := loaded(t, box, WithSafeArea(size[2]))
				sim := console(a, size[0], size[1])
				a.meter.observe(first, 0, time.Now().Add(-2*time.Second)) // a look two seconds ago
				if c.open != nil {
					a.push(c.open(a))
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
	box := downloadingBox()
	kept := box.items[2]
	a := loaded(t, box)
	sim := console(a, 160, 50)
	if rows := strings.Join(onScreen(a, sim), "\n"); strings.Contains(rows, kept.Title) || !strings.Contains(rows, box.items[0].Title) {
		t.Errorf("home lists the kept title %q (or not the downloading one):\n%s", kept.Title, rows)
	}
	a.push(newItem(a, kept.ID))
	rows := strings.Join(onScreen(a, sim), "\n")
	for _, want := range []string{"kept for neighbours (not on your list)", "Add to wishlist"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the kept title's page lacks %q:\n%s", want, rows)
		}
	}
}
