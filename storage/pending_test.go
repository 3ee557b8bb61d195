package storage

import (
	"context"
	"errors"
	"slices"
	"testing"

	"swarmbox/media"
)

func TestWishEditApply(t *testing.T) {
	a, b, c := item(1), item(2), item(3)
	for _, tc := range []struct {
		name string
		list []media.ItemID
		e    WishEdit
		want []media.ItemID
		err  error
	}{
		{"move adds first", []media.ItemID{a}, WishEdit{Op: EditMove, Item: b, Pos: 1}, []media.ItemID{b, a}, nil},
		{"move within", []media.ItemID{a, b, c}, WishEdit{Op: EditMove, Item: c, Pos: 2}, []media.ItemID{a, c, b}, nil},
		{"move past the end is last", []media.ItemID{a, b}, WishEdit{Op: EditMove, Item: a, Pos: 9}, []media.ItemID{b, a}, nil},
		{"remove", []media.ItemID{a, b}, WishEdit{Op: EditRemove, Item: a}, []media.ItemID{b}, nil},
		{"remove absent", []media.ItemID{a}, WishEdit{Op: EditRemove, Item: c}, []media.ItemID{a}, nil},
		{"set dedupes", []media.ItemID{a}, WishEdit{Op: EditSet, List: []media.ItemID{c, b, c}}, []media.ItemID{c, b}, nil},
		{"position 0", []media.ItemID{a}, WishEdit{Op: EditMove, Item: b, Pos: 0}, nil, ErrBadEdit},
		{"unknown kind", []media.ItemID{a}, WishEdit{Op: "swap", Item: b}, nil, ErrBadEdit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.list)
			got, err := tc.e.Apply(tc.list)
			if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) {
				t.Errorf("Apply = %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
			if !slices.Equal(tc.list, before) {
				t.Errorf("Apply changed its input to %v", tc.list)
			}
		})
	}
}

// TestPendingEditsSurviveAndReplayInOrder: edits are kept across a reopen with the adopted
// version; adopting a newer head-end list applies them on top in order; an older version
// changes nothing; an acknowledgement forgets exactly the edits it covers.
func TestPendingEditsSurviveAndReplayInOrder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	if got, err := s.AdoptWishlist(ctx, 3, []media.ItemID{item(1)}); err != nil || !slices.Equal(got, []media.ItemID{item(1)}) {
		t.Fatalf("first adoption: %v %v", got, err)
	}
	for _, e := range []WishEdit{{Op: EditMove, Item: item(2), Pos: 1}, {Op: EditRemove, Item: item(1)}, {Op: EditMove, Item: item(3), Pos: 2}} {
		if _, err := s.EditWishlist(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = open(t, dir)
	if v, err := s.AdoptedWishVersion(ctx); err != nil || v != 3 {
		t.Fatalf("adopted version after reopen: %d %v, want 3", v, err)
	}
	pend, err := s.PendingEdits(ctx)
	if err != nil || len(pend) != 3 || pend[0].Op != EditMove || pend[1].Op != EditRemove || pend[2].Item != item(3) {
		t.Fatalf("pending after reopen: %+v %v", pend, err)
	}
	if w, _, _ := s.Wishlist(ctx); !slices.Equal(w, []media.ItemID{item(2), item(3)}) {
		t.Fatalf("local list %v", w)
	}
	// An older or equal version is not adopted.
	if got, _ := s.AdoptWishlist(ctx, 3, []media.ItemID{item(4)}); !slices.Equal(got, []media.ItemID{item(2), item(3)}) {
		t.Fatalf("adopting the same version changed the list to %v", got)
	}
	// The browser's [4 1] with the edits on top: [2 4 1], [2 4], [2 3 4].
	got, err := s.AdoptWishlist(ctx, 4, []media.ItemID{item(4), item(1)})
	if want := []media.ItemID{item(2), item(3), item(4)}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("adopted %v %v, want %v", got, err, want)
	}
	if err := s.AckEdits(ctx, pend[1].Seq); err != nil {
		t.Fatal(err)
	}
	if rest, _ := s.PendingEdits(ctx); len(rest) != 1 || rest[0].Seq != pend[2].Seq {
		t.Fatalf("after acknowledging two: %+v", rest)
	}
}

func TestPlanPeersKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	if p, err := s.LastPlanPeers(ctx); err != nil || p.Strict || len(p.Accept)+len(p.Sources) != 0 {
		t.Fatalf("before any plan: %+v %v", p, err)
	}
	box := media.BoxID{7}
	want := PlanPeers{Strict: true, Accept: []string{"127.0.0.3", "10.0.0.2:6881"}, Sources: []PlanSource{{Item: item(1), Box: box, Addr: "127.0.0.3:6881", Dial: true}}}
	if err := s.SavePlanPeers(ctx, want); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	got, err := s.LastPlanPeers(ctx)
	slices.Sort(want.Accept)
	if err != nil || !got.Strict || !slices.Equal(got.Accept, want.Accept) || !slices.Equal(got.Sources, want.Sources) {
		t.Fatalf("kept plan %+v %v, want %+v", got, err, want)
	}
	if err := s.SavePlanPeers(ctx, PlanPeers{}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.LastPlanPeers(ctx); p.Strict || len(p.Accept)+len(p.Sources) != 0 {
		t.Fatalf("a plan without peers kept %+v", p)
	}
}

// FuzzWishEditApply: whatever the edit, the result holds each item once, and a move puts its
// item where asked (or last).
func FuzzWishEditApply(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(2), 4, 1)
	f.Add([]byte{}, uint8(0), 1, 0)
	f.Fuzz(func(t *testing.T, list []byte, it uint8, pos int, op int) {
		var l []media.ItemID
		for _, b := range list {
			l = append(l, media.ItemID{b})
		}
		ops := []string{EditMove, EditRemove, EditSet, "bogus"}
		e := WishEdit{Op: ops[(op%4+4)%4], Item: media.ItemID{it}, Pos: pos, List: l}
		got, err := e.Apply(l)
		if err != nil {
			if !errors.Is(err, ErrBadEdit) {
				t.Fatalf("error %v is not ErrBadEdit", err)
			}
			return
		}
		seen := map[media.ItemID]bool{}
		for _, x := range got {
			if seen[x] {
				t.Fatalf("%v holds %v twice", got, x)
			}
			seen[x] = true
		}
		if e.Op == EditMove {
			if i := slices.Index(got, e.Item); i != min(pos-1, len(got)-1) {
				t.Fatalf("moved to index %d of %v, asked position %d", i, got, pos)
			}
		}
	})
}
