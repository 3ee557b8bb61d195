package ui

import (
	"context"
	"fmt"
	"time"

	"github.com/rivo/tview"
)

// wishlistScreen is the wishlist, most wanted first; the colour keys reorder it.
type wishlistScreen struct {
	a    *App
	list *tview.List
	ids  []string // as listed
}

func newWishlist(a *App) *wishlistScreen {
	l := newList()
	l.SetTitle(" Wishlist — most wanted first ")
	w := &wishlistScreen{a: a, list: l}
	// What Red and Green can do depends on the row in focus: the bottom line follows it.
	l.SetChangedFunc(func(int, string, string, rune) {
		if a.nav.top() == w {
			a.drawChrome()
		}
	})
	return w
}

func (w *wishlistScreen) Name() string               { return "Wishlist" }
func (w *wishlistScreen) Primitive() tview.Primitive { return w.list }

// Keys name only what works on the row in focus: no "up" on the first, no "down" on the last;
// Yellow undoes while the message of a removal is on screen.
func (w *wishlistScreen) Keys() []keyHelp {
	var k []keyHelp
	i, n := w.list.GetCurrentItem(), len(w.ids)
	if n > 0 && i > 0 {
		k = append(k, keyHelp{"Red", "up", "red"})
	}
	if n > 0 && i < n-1 {
		k = append(k, keyHelp{"Green", "down", "green"})
	}
	switch {
	case w.a.undoable() != nil:
		k = append(k, keyHelp{"Yellow", "undo", "yellow"})
	case n > 0:
		k = append(k, keyHelp{"Yellow", "remove", "yellow"})
	}
	return append(k, listKeys(n, true)...)
}

// more is Info's longer words for the wishlist's keys.
func (w *wishlistScreen) more() ([]keyHelp, map[string]string) {
	return []keyHelp{{glyphUp + " " + glyphDown, "move along the list", ""}}, map[string]string{
		"Red":                  "move the title in focus up one place",
		"Green":                "move the title in focus down one place",
		"Yellow":               "remove the title in focus; Yellow again soon undoes it",
		"OK":                   "open the title in focus",
		"0" + glyphRange + "9": "jump to that place (0 is the tenth)",
	}
}

func (w *wishlistScreen) Update(s *snapshot) {
	w.ids = s.wishlist
	var rows []string
	for i, id := range w.ids {
		it, ok := s.item(id)
		if !ok {
			rows = append(rows, fmt.Sprintf("%2d. %s", i+1, id))
			continue
		}
		rows = append(rows, fmt.Sprintf("%2d. %-34s %s", i+1, tview.Escape(it.Title), standing(it, time.Now())))
	}
	if len(rows) == 0 {
		rows = []string{"Your wishlist is empty: add titles from the catalog."}
	}
	fill(w.list, rows, func(i int) {
		if i < len(w.ids) {
			w.a.push(newItem(w.a, w.ids[i]))
		}
	})
}

func (w *wishlistScreen) Act(act Action) bool {
	a := w.a
	if u := a.undoable(); u != nil && act == ActYellow {
		a.undo = nil
		a.wishEdit(u.id, func(ctx context.Context) error { return a.box.MoveWish(ctx, u.id, u.rank) }, func() {
			a.say(fmt.Sprintf("%s is back on your wishlist at #%d.", u.title, u.rank))
		})
		return true
	}
	i := w.list.GetCurrentItem()
	if i >= len(w.ids) {
		return false
	}
	id := w.ids[i]
	switch act {
	case ActRed:
		if i > 0 {
			a.wishEdit(id, func(ctx context.Context) error { return a.box.MoveWish(ctx, id, i) }, nil)
			w.list.SetCurrentItem(i - 1)
		}
	case ActGreen:
		if i < len(w.ids)-1 {
			a.wishEdit(id, func(ctx context.Context) error { return a.box.MoveWish(ctx, id, i+2) }, nil)
			w.list.SetCurrentItem(i + 1)
		}
	case ActYellow:
		// Undo rather than a question (UI-3): a colour key is pressed by mistake now and then, and
		// a question on every removal trains the household to answer OK without reading; the
		// message names what went and how to bring it back, at the place it had.
		title := id
		if it, ok := a.snap.item(id); ok {
			title = it.Title
		}
		a.wishEdit(id, func(ctx context.Context) error { return a.box.RemoveWish(ctx, id) }, func() {
			a.say(fmt.Sprintf("Removed %s from your wishlist %s Yellow again to undo", title, glyphDot))
			a.undo = &removal{id: id, title: title, rank: i + 1, seq: a.saidSeq}
			a.drawChrome()
		})
	default:
		return false
	}
	return true
}

// removal is a wish the household can still put back: while its message is on the status line.
type removal struct {
	id, title string
	rank      int // its place before it was removed
	seq       int // the status message that offers the undo
}

// undoable is the removal Yellow would undo now, or nil once its message has gone.
func (a *App) undoable() *removal {
	if a.undo == nil || a.undo.seq != a.saidSeq || a.said == "" {
		return nil
	}
	return a.undo
}

// wishEdit runs a change of the wishlist, reads it back (for a box that does not announce it),
// then runs ok on the drawing goroutine if it worked.
func (a *App) wishEdit(id string, f func(ctx context.Context) error, ok func()) {
	a.command(a.cfg.CallTimeout, func(ctx context.Context) error {
		if err := f(ctx); err != nil {
			return err
		}
		a.model.refresh(ctx, true, id)
		return nil
	}, func(err error) {
		if err != nil {
			a.fail(err)
			return
		}
		if ok != nil {
			ok()
		}
	})
}
