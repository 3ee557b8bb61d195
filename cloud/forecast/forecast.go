// Package forecast predicts which titles a region will want next, from what its households wish
// for and buy, weighting recent signals more (exponential time decay). The factory preloads the
// top titles onto new boxes for that region. It is pure: signals in, ranking out; no SQL, HTTP
// or clock of its own.
package forecast

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"swarmbox/media"
)

// Kind is what a signal is.
type Kind string

// Signal kinds.
const (
	Wish     Kind = "wish"     // on a box's wishlist (at = the box's last sync)
	Purchase Kind = "purchase" // bought or rented (at = the purchase)
)

// Signal is one household's interest in one title.
type Signal struct {
	Item media.ItemID
	Kind Kind
	Rank int // wishlist position, 0 = most wanted; ignored for purchases
	At   time.Time
}

// Params tune the forecast. The zero value uses the defaults.
type Params struct {
	HalfLife       time.Duration // a signal this old counts half; default 7 days
	PurchaseWeight float64       // a purchase against a top-of-list wish; default 2
}

// Score is one title's forecast demand.
type Score struct {
	Item  media.ItemID `json:"item"`
	Score float64      `json:"score"`
	Title string       `json:"title,omitempty"`
}

// Forecast is the head-end's answer to GET /v1/forecast.
type Forecast struct {
	Region string    `json:"region"`
	At     time.Time `json:"at"`
	Items  []Score   `json:"items"`
}

// Rank scores every title that has a signal and returns them most wanted first (ties by item
// id, so the answer is stable). A wish at position r weighs 1/(r+1); a purchase weighs
// PurchaseWeight; each is halved per HalfLife of age. Signals from the future count as now.
func Rank(signals []Signal, now time.Time, p Params) ([]Score, error) {
	if p.HalfLife == 0 {
		p.HalfLife = 7 * 24 * time.Hour
	}
	if p.PurchaseWeight == 0 {
		p.PurchaseWeight = 2
	}
	if p.HalfLife < 0 || p.PurchaseWeight < 0 || math.IsNaN(p.PurchaseWeight) || math.IsInf(p.PurchaseWeight, 0) {
		return nil, fmt.Errorf("forecast parameters: half-life %s and purchase weight %g must be positive", p.HalfLife, p.PurchaseWeight)
	}
	sum := map[media.ItemID]float64{}
	for _, s := range signals {
		var w float64
		switch s.Kind {
		case Wish:
			if s.Rank < 0 {
				return nil, fmt.Errorf("wish for %s has rank %d: ranks start at 0", s.Item, s.Rank)
			}
			w = 1 / float64(s.Rank+1)
		case Purchase:
			w = p.PurchaseWeight
		default:
			return nil, fmt.Errorf("signal for %s has unknown kind %q", s.Item, s.Kind)
		}
		age := max(now.Sub(s.At), 0)
		sum[s.Item] += w * math.Exp2(-age.Hours()/p.HalfLife.Hours())
	}
	out := make([]Score, 0, len(sum))
	for it, v := range sum {
		out = append(out, Score{Item: it, Score: v})
	}
	slices.SortFunc(out, func(a, b Score) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Item.String(), b.Item.String())
	})
	return out, nil
}
