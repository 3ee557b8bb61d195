package ui

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
)

// buyScreen asks before buying or renting a title, with what the account's balance allows.
type buyScreen struct {
	a     *App
	it    boxbus.Item
	rent  bool
	modal *tview.Modal
}

func newBuy(a *App, it boxbus.Item, rent bool) *buyScreen {
	b := &buyScreen{a: a, it: it, rent: rent}
	_, verb := b.price()
	b.modal = tview.NewModal().AddButtons([]string{verb, "Cancel"})
	b.modal.SetBackgroundColor(bg).SetButtonBackgroundColor(dim).SetButtonTextColor(ink)
	b.modal.SetButtonActivatedStyle(tcell.StyleDefault.Background(focus).Foreground(ink))
	b.modal.SetDoneFunc(func(_ int, label string) {
		a.back()
		if label == verb {
			a.buy(it, rent)
		}
	})
	return b
}

func (b *buyScreen) price() (int64, string) {
	if b.rent {
		return rentPrice(b.it.PriceCents), "Rent"
	}
	return b.it.PriceCents, "Buy"
}

func (b *buyScreen) overlay()                   {}
func (b *buyScreen) Name() string               { return "Title" }
func (b *buyScreen) Primitive() tview.Primitive { return b.modal }
func (b *buyScreen) Keys() []keyHelp {
	return []keyHelp{{"◀ ▶", "choose", ""}, {"OK", "confirm", ""}, {"Back", "cancel", ""}, keyHome}
}

// more is Info's longer words for the dialog's keys.
func (b *buyScreen) more() ([]keyHelp, map[string]string) {
	_, verb := b.price()
	return nil, map[string]string{"◀ ▶": verb + " or Cancel", "OK": "do the button in focus", "Back": "close this dialog only; the title stays open"}
}

func (b *buyScreen) Update(s *snapshot) { b.modal.SetText(b.text(s)) }

// text is the dialog's question with what the household should know before answering.
func (b *buyScreen) text(s *snapshot) string {
	price, verb := b.price()
	text := fmt.Sprintf("%s %s for %s?", verb, b.it.Title, money(price))
	switch banner := pairingBanner(s); {
	case offlineBuy(s.link) != "":
		text += "\n\n" + offlineBuy(s.link) + " Your titles still play."
	case banner != "":
		text += "\n\n" + banner + "."
	case s.accountStatus == "":
		text += "\n\nYour balance is not known yet; the purchase is refused if it is too low."
	case s.accountStatus != "active":
		text += fmt.Sprintf("\n\nYour account is %s: call the operator before buying.", s.accountStatus)
	case s.balanceCents < price:
		text += fmt.Sprintf("\n\nYour balance is %s: top it up first.", money(s.balanceCents))
	default:
		text += fmt.Sprintf("\n\nBalance %s, after %s.", money(s.balanceCents), money(s.balanceCents-price))
	}
	return text
}

// buy buys or rents it; the head-end answers through the box, so it has the longer deadline.
func (a *App) buy(it boxbus.Item, rent bool) {
	a.playNext(it.ID, true)
	var p boxbus.Purchase
	a.command(a.cfg.BuyTimeout, func(ctx context.Context) error {
		var err error
		if p, err = a.box.Buy(ctx, it.ID, rent); err != nil {
			return err
		}
		a.model.edit(ctx, func(s *snapshot) {
			s.balanceCents = p.BalanceCents
			if it, ok := s.item(it.ID); ok {
				it.State, it.Expires = boxbus.Bought, p.Expires
				s.setItem(it)
			}
		})
		a.model.refresh(ctx, false, it.ID)
		return nil
	}, func(err error) {
		if err != nil {
			a.playNext(it.ID, false) // not bought: the focus stays where the household left it
		}
		if errors.Is(err, boxbus.Refusal(boxbus.ErrOffline)) {
			a.say(offlineRefusal(a.snap.link)) // the box's sentence is too long for one line
			return
		}
		if err != nil {
			a.fail(err)
			return
		}
		a.say(fmt.Sprintf("Done: %s paid, balance %s. Press Play to watch.", money(p.ChargedCents), money(p.BalanceCents)))
	})
}
