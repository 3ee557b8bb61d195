package forecast

import (
	"math"
	"strings"
	"testing"
	"time"

	"swarmbox/media"
)

func item(b byte) media.ItemID { var id media.ItemID; id[0] = b; return id }

func TestRank(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	a, b, c := item(1), item(2), item(3)
	cases := []struct {
		name    string
		signals []Signal
		want    []media.ItemID
		scores  []float64
	}{
		{"empty", nil, []media.ItemID{}, nil},
		{"purchase beats a top wish", []Signal{{a, Wish, 0, now}, {b, Purchase, 0, now}}, []media.ItemID{b, a}, []float64{2, 1}},
		{"wish rank lowers weight", []Signal{{a, Wish, 3, now}, {b, Wish, 0, now}}, []media.ItemID{b, a}, []float64{1, 0.25}},
		{"a week-old purchase counts as a fresh top wish", []Signal{{a, Purchase, 0, now.Add(-7 * day)}, {b, Wish, 0, now}}, []media.ItemID{a, b}, []float64{1, 1}},
		{"old demand fades behind new", []Signal{{a, Purchase, 0, now.Add(-30 * day)}, {a, Purchase, 0, now.Add(-30 * day)}, {c, Wish, 1, now}}, []media.ItemID{c, a}, []float64{0.5, 4 * math.Exp2(-30.0/7)}},
		{"many households add up", []Signal{{a, Wish, 0, now}, {b, Wish, 0, now}, {b, Wish, 1, now}}, []media.ItemID{b, a}, []float64{1.5, 1}},
		{"future time counts as now", []Signal{{a, Wish, 0, now.Add(day)}}, []media.ItemID{a}, []float64{1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Rank(tc.signals, now, Params{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d titles, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i].Item != tc.want[i] {
					t.Errorf("#%d is %s, want %s", i, got[i].Item, tc.want[i])
				}
				if tc.scores != nil && math.Abs(got[i].Score-tc.scores[i]) > 1e-9 {
					t.Errorf("#%d score %g, want %g", i, got[i].Score, tc.scores[i])
				}
			}
		})
	}
}

func TestRankRefusesBadInput(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name    string
		signals []Signal
		p       Params
		err     string
	}{
		{"negative rank", []Signal{{item(1), Wish, -1, now}}, Params{}, "ranks start at 0"},
		{"unknown kind", []Signal{{item(1), "rumour", 0, now}}, Params{}, "unknown kind"},
		{"negative half-life", nil, Params{HalfLife: -time.Hour}, "must be positive"},
		{"NaN weight", nil, Params{PurchaseWeight: math.NaN()}, "must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Rank(tc.signals, now, tc.p); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestRankTiesAreStable(t *testing.T) {
	now := time.Now()
	got, err := Rank([]Signal{{item(9), Wish, 0, now}, {item(4), Wish, 0, now}, {item(7), Wish, 0, now}}, now, Params{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Item != item(4) || got[1].Item != item(7) || got[2].Item != item(9) {
		t.Fatalf("ties not ordered by id: %+v", got)
	}
}
