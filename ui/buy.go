package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
	"swarmbox/vocab"
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
	b.modal.SetBackgroundColor(theme.body.bg).SetButtonStyle(theme.button.style())
	b.modal.SetButtonActivatedStyle(theme.focus.style())
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
		return vocab.RentalPrice(b.it.PriceCents), "Rent"
	}
	return b.it.PriceCents, "Buy"
}

func (b *buyScreen) overlay()                   {}
func (b *buyScreen) Name() string               { return "Title" }
func (b *buyScreen) Primitive() tview.Primitive { return b.modal }
func (b *buyScreen) Keys() []keyHelp {
	return []keyHelp{{glyphLeft + " " + glyphRight, "choose", ""}, {"OK", "confirm", ""}, {"Back", "cancel", ""}, keyHome}
}

// more is Info's longer words for the dialog's keys.
func (b *buyScreen) more() ([]keyHelp, map[string]string) {
	_, verb := b.price()
	return nil, map[string]string{glyphLeft + " " + glyphRight: verb + " or Cancel", "OK": "do the button in focus", "Back": "close this dialog only; the title stays open"}
}

func (b *buyScreen) Update(s *snapshot) { b.modal.SetText(b.text(s)) }

// text is the dialog's question with what the household should know before answering.
func (b *buyScreen) text(s *snapshot) string {
	price, verb := b.price()
	text := fmt.Sprintf("%s %s for %s?", verb, b.it.Title, s.price(price))
	if b.rent {
		if l := s.rentalLength(); l != "" {
			text += fmt.Sprintf(" It plays for %s from now.", l)
		} else {
			text += " How long it plays is known once the box has reached the operator."
		}
	}
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
		text += fmt.Sprintf("\n\nYour balance is %s: top it up first.", s.amount(s.balanceCents))
	default:
		text += fmt.Sprintf("\n\nBalance %s, after %s.", s.amount(s.balanceCents), s.amount(s.balanceCents-price))
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
				it.State, it.Expires, it.LicenceKind = boxbus.Bought, p.Expires, vocab.LicenceOwned
				if rent {
					it.LicenceKind = vocab.LicenceRental // never read as owned while the box is asked again
				}
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
		a.say(boughtText(a.snap, rent, p))
	})
}

// boughtText is the status line after a purchase: what was paid, the balance, and for a
// rental how long it plays.
func boughtText(s *snapshot, rent bool, p boxbus.Purchase) string {
	switch {
	case p.ChargedCents == 0 && !rent:
		return "Done: it is yours, free. Press Play to watch."
	case rent:
		return fmt.Sprintf("Rented: %s paid, balance %s; %s. Press Play to watch.", s.amount(p.ChargedCents), s.amount(p.BalanceCents),
			vocab.TimeLeft(time.Until(time.Unix(p.Expires, 0))))
	}
	return fmt.Sprintf("Done: it is yours. %s paid, balance %s. Press Play to watch.", s.amount(p.ChargedCents), s.amount(p.BalanceCents))
}
