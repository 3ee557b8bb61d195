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
	return &wishlistScreen{a: a, list: l}
}

func (w *wishlistScreen) Name() string               { return "Wishlist" }
func (w *wishlistScreen) Primitive() tview.Primitive { return w.list }
func (w *wishlistScreen) Keys() []keyHelp {
	return append([]keyHelp{{"Red", "up", "red"}, {"Green", "down", "green"}, {"Yellow", "remove", "yellow"}}, commonKeys...)
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
	i := w.list.GetCurrentItem()
	if i >= len(w.ids) {
		return false
	}
	id, a := w.ids[i], w.a
	switch act {
	case ActRed:
		if i > 0 {
			a.wishCommand(id, "", func(ctx context.Context) error { return a.box.MoveWish(ctx, id, i) })
			w.list.SetCurrentItem(i - 1)
		}
	case ActGreen:
		if i < len(w.ids)-1 {
			a.wishCommand(id, "", func(ctx context.Context) error { return a.box.MoveWish(ctx, id, i+2) })
			w.list.SetCurrentItem(i + 1)
		}
	case ActYellow:
		a.unwish(id, "")
	default:
		return false
	}
	return true
}
