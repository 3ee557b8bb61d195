package ui

import (
	"context"
	"fmt"
	"time"

	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
	"swarmbox/vocab"
)

// itemScreen is one title: what it is, where it stands on the box, and what can be done with it.
type itemScreen struct {
	a       *App
	id      string
	text    *tview.TextView
	actions *tview.List
	body    *tview.Flex
	// playNext puts the focus on Play once the title is bought (UI-3: after buying or renting
	// the next likely action is to watch it, not whatever row the Rent choice was on).
	playNext bool
}

func newItem(a *App, id string) *itemScreen {
	s := &itemScreen{a: a, id: id, text: tview.NewTextView().SetDynamicColors(true), actions: newList()}
	s.actions.SetTitle(" Choose ")
	s.body = tview.NewFlex().SetDirection(tview.FlexRow).AddItem(s.text, 10, 0, false).AddItem(s.actions, 0, 1, true)
	s.body.SetBorder(true)
	return s
}

func (s *itemScreen) Name() string               { return "Title" }
func (s *itemScreen) Primitive() tview.Primitive { return s.body }
func (s *itemScreen) Keys() []keyHelp {
	k := listKeys(s.actions.GetItemCount(), true)
	if len(k) > 0 && k[0] == keyOpen {
		k[0] = keyHelp{"OK", "choose", ""}
	}
	return k
}

// more is Info's longer words for a title's keys.
func (s *itemScreen) more() ([]keyHelp, map[string]string) {
	return []keyHelp{{glyphUp + " " + glyphDown, "move over the choices", ""}}, map[string]string{"OK": "do the choice in focus", "0" + glyphRange + "9": "jump to the choice showing that digit"}
}

// stateText says where a title stands, in the shared vocabulary, with its download's figures
// and its licence.
func (s *itemScreen) stateText(it boxbus.Item) string {
	now := time.Now()
	switch it.State {
	case boxbus.Wished:
		return fmt.Sprintf("on your wishlist, #%d", it.WishRank)
	case boxbus.Downloading:
		text := fmt.Sprintf("downloading %d%%  %s", pct(it.Pieces, it.TotalPieces), bar(int64(it.Pieces), int64(it.TotalPieces), 24))
		total := it.BytesFromServer + it.BytesFromPeers
		rate := s.a.meter.observe(it.ID, total, now)
		left, known := eta(total, it.Pieces, it.TotalPieces, rate)
		// Rate and sources on rows of their own: one row would not fit 80 columns.
		return text + fmt.Sprintf("\n            %s\n            %s", rateText(rate, left, known), arrived(it.BytesFromServer, it.BytesFromPeers))
	case boxbus.Bought, boxbus.Playing:
		if owned(it) {
			if lt := licenceText(it, now); lt != "" {
				return "owned — " + lt
			}
		}
	case boxbus.Expired:
		if owned(it) {
			return lapsedText(it)
		}
	case boxbus.Kept:
		return "kept for neighbours (not on your list)"
	}
	return standing(it, now)
}

// priceText is what the title costs: to own, and to rent with how long a rental plays.
func priceText(snap *snapshot, it boxbus.Item) string {
	if free(it) {
		return "free"
	}
	rent := snap.price(vocab.RentalPrice(it.PriceCents)) + " to rent"
	if l := snap.rentalLength(); l != "" {
		rent += " for " + l
	}
	return snap.price(it.PriceCents) + " to own, " + rent
}

func (s *itemScreen) Update(snap *snapshot) {
	a := s.a
	it, ok := snap.item(s.id)
	if !ok {
		s.text.SetText("\n  This title is not in the box's catalog (any more).")
		s.actions.Clear()
		return
	}
	s.body.SetTitle(" " + tview.Escape(it.Title) + " ")
	s.text.SetText(fmt.Sprintf("\n  [::b]%s[::-]\n\n  Kind      %s\n  Category  %s\n  Size      %s\n  Price     %s\n  State     %s%s",
		tview.Escape(it.Title), it.Kind, tview.Escape(titleShelf(it.Category)), size(it.Size), priceText(snap, it), theme.accent.tag(), s.stateText(it)))
	var opts []string
	var do []func()
	add := func(label string, f func()) { opts, do = append(opts, label), append(do, f) }
	switch it.State {
	case boxbus.Bought:
		if rp, ok := a.resume.m[it.ID]; ok {
			add(glyphPlay+" Resume from "+clock(rp.Position), func() { a.play(it.ID, it.Title, rp.Position) })
			add(glyphPlay+" Play from the start", func() { a.play(it.ID, it.Title, 0) })
		} else {
			add(glyphPlay+" Play", func() { a.play(it.ID, it.Title, 0) })
		}
	case boxbus.ReadyToBuy, boxbus.Expired:
		switch {
		case owned(it):
			// never offer to buy again what the household owns
		case free(it):
			add("Get it — free", func() { a.buy(it, false) }) // nothing to pay: nothing to confirm
		default:
			rent := "Rent for " + snap.price(vocab.RentalPrice(it.PriceCents))
			if l := snap.rentalLength(); l != "" {
				rent += ", " + l
			}
			add("Buy for "+snap.price(it.PriceCents), func() { a.push(newBuy(a, it, false)) })
			add(rent, func() { a.push(newBuy(a, it, true)) })
		}
	}
	if it.WishRank == 0 && (it.State == boxbus.NotWished || it.State == boxbus.Kept) {
		add("Add to wishlist", func() { a.wish(it.ID, 1<<20) })
		add("Add to wishlist, most wanted", func() { a.wish(it.ID, 1) })
	} else if it.WishRank > 0 {
		if it.WishRank > 1 {
			add("Move to the top of the wishlist", func() { a.wish(it.ID, 1) })
		}
		add("Remove from wishlist", func() { a.unwish(it.ID, "Removed from your wishlist.") })
	}
	fillNumbered(s.actions, opts, func(i int) { do[i]() })
	if s.playNext && it.State == boxbus.Bought {
		s.actions.SetCurrentItem(0) // Play, or Resume
		s.playNext = false
	}
}

// wish puts id at position pos of the wishlist (the end when pos is past it).
func (a *App) wish(id string, pos int) {
	a.wishCommand(id, "On your wishlist. It will be fetched for you.", func(ctx context.Context) error { return a.box.MoveWish(ctx, id, pos) })
}

// unwish takes id off the wishlist.
func (a *App) unwish(id, done string) {
	a.wishCommand(id, done, func(ctx context.Context) error { return a.box.RemoveWish(ctx, id) })
}

// wishCommand runs a change of the wishlist (wishEdit), then says done, if any.
func (a *App) wishCommand(id, done string, f func(ctx context.Context) error) {
	a.wishEdit(id, f, func() {
		if done != "" {
			a.say(done)
		}
	})
}
