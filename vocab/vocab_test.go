package vocab

import (
	"testing"
	"time"
)

// TestTimeLeft: time left in words (UI-2), rounded down, never a raw duration; nothing left,
// or an end before now (the clocks disagree), reads "ended".
func TestTimeLeft(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{48 * time.Hour, "2 days left"},
		{48*time.Hour - time.Second, "2 days left"}, // read a second after renting
		{48*time.Hour - 31*time.Second, "47 hours left"},
		{71*time.Hour + 59*time.Minute, "2 days left"},
		{72 * time.Hour, "3 days left"},
		{30 * 24 * time.Hour, "30 days left"},
		{24 * time.Hour, "24 hours left"},
		{5*time.Hour + 59*time.Minute, "5 hours left"},
		{time.Hour, "1 hour left"},
		{time.Hour - 31*time.Second, "59 minutes left"},
		{2 * time.Minute, "2 minutes left"},
		{time.Minute, "1 minute left"},
		{59 * time.Second, "1 minute left"},
		{29 * time.Second, "less than a minute left"},
		{time.Nanosecond, "less than a minute left"},
		{0, "ended"},
		{-time.Second, "ended"},
		{-72 * time.Hour, "ended"}, // a box clock far ahead of the head-end's
	} {
		if got := TimeLeft(c.d); got != c.want {
			t.Errorf("TimeLeft(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestPrice: prices carry the currency; nothing is "free", a debt has its sign; an unknown
// currency writes the amount alone rather than guessing one.
func TestPrice(t *testing.T) {
	for _, c := range []struct {
		cents    int64
		currency string
		price    string
		amount   string
	}{
		{399, "EUR", "€3.99", "€3.99"},
		{5, "GBP", "£0.05", "£0.05"},
		{100000, "USD", "$1000.00", "$1000.00"},
		{1250, "CHF", "12.50 CHF", "12.50 CHF"},
		{399, "", "3.99", "3.99"},
		{0, "EUR", "free", "€0.00"},
		{-120, "EUR", "-€1.20", "-€1.20"},
		{-5, "SEK", "-0.05 SEK", "-0.05 SEK"},
	} {
		if got := Price(c.cents, c.currency); got != c.price {
			t.Errorf("Price(%d, %q) = %q, want %q", c.cents, c.currency, got, c.price)
		}
		if got := Amount(c.cents, c.currency); got != c.amount {
			t.Errorf("Amount(%d, %q) = %q, want %q", c.cents, c.currency, got, c.amount)
		}
	}
}

func TestRentalPrice(t *testing.T) {
	for owned, want := range map[int64]int64{0: 0, 1: 1, 3: 1, 4: 2, 299: 100, 399: 133} {
		if got := RentalPrice(owned); got != want {
			t.Errorf("RentalPrice(%d) = %d, want %d", owned, got, want)
		}
	}
}

// TestStanding: every state reads in the household's words; a rental never reads "bought",
// a free title never "ready to buy".
func TestStanding(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		t    Title
		want string
	}{
		{Title{State: NotWished, PriceCents: 399}, "in the catalog"},
		{Title{State: NotWished}, "free, in the catalog"},
		{Title{State: Wished, PriceCents: 399}, "on your wishlist"},
		{Title{State: Downloading, PriceCents: 399}, "downloading"},
		{Title{State: Kept, PriceCents: 399}, "kept for neighbours"},
		{Title{State: ReadyToBuy, PriceCents: 399}, "ready to buy"},
		{Title{State: ReadyToBuy}, "free, ready to watch"},
		{Title{State: Bought, LicenceKind: LicenceOwned, Expires: now.Add(720 * time.Hour), PriceCents: 399}, "owned"},
		{Title{State: Bought, LicenceKind: LicenceRental, Expires: now.Add(48 * time.Hour), PriceCents: 399}, "rented · 2 days left"},
		{Title{State: Playing, LicenceKind: LicenceRental, Expires: now.Add(5*time.Hour + 3*time.Minute), PriceCents: 399}, "rented · 5 hours left"},
		{Title{State: Bought, LicenceKind: LicenceRental, Expires: now.Add(-time.Minute), PriceCents: 399}, "rental ended"},
		{Title{State: Bought, LicenceKind: LicenceRental, PriceCents: 399}, "rented"},
		{Title{State: Expired, LicenceKind: LicenceRental, PriceCents: 399}, "rental ended"},
		{Title{State: Expired, LicenceKind: LicenceOwned, PriceCents: 399}, "owned, licence to renew"},
		{Title{State: Removed}, "removed"},
	} {
		if got := Standing(c.t, now); got != c.want {
			t.Errorf("Standing(%+v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestParseState(t *testing.T) {
	for _, s := range States {
		if got, err := ParseState(string(s)); err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseState("rented"); err == nil {
		t.Error("a household word parsed as a state on the wire")
	}
}
