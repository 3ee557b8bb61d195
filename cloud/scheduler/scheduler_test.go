package scheduler

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"swarmbox/media"
)

func box(n byte) media.BoxID   { return media.BoxID{n} }
func item(n byte) media.ItemID { return media.ItemID{n} }

func TestCompute(t *testing.T) {
	x, y := item(1), item(2)
	items := map[media.ItemID]Item{x: {Size: 100, Pieces: 10}, y: {Size: 50, Pieces: 5}}
	tests := []struct {
		name    string
		boxes   []Box
		serving map[media.ItemID]media.BoxID
		want    map[media.BoxID][]Fetch
	}{{
		name:  "nobody holds it: the server sends to the one box that wants it",
		boxes: []Box{{ID: box(1), Wishlist: []media.ItemID{x}}},
		want:  map[media.BoxID][]Fetch{box(1): {{Item: x, Server: true}}},
	}, {
		name: "two boxes want it, nobody holds it: one gets the server, the other follows it",
		boxes: []Box{
			{ID: box(2), Wishlist: []media.ItemID{x}},
			{ID: box(1), Wishlist: []media.ItemID{x}},
		},
		want: map[media.BoxID][]Fetch{
			box(1): {{Item: x, Server: true}},
			box(2): {{Item: x, Sources: []media.BoxID{box(1)}}},
		},
	}, {
		name: "the box furthest along keeps the server; partial holders are sources",
		boxes: []Box{
			{ID: box(1), Wishlist: []media.ItemID{x}, Holdings: map[media.ItemID]Holding{x: {Pieces: 2}}},
			{ID: box(2), Wishlist: []media.ItemID{x}, Holdings: map[media.ItemID]Holding{x: {Pieces: 7}}},
			{ID: box(3), Wishlist: []media.ItemID{x}},
		},
		want: map[media.BoxID][]Fetch{
			box(1): {{Item: x, Sources: []media.BoxID{box(2)}}},
			box(2): {{Item: x, Server: true, Sources: []media.BoxID{box(1)}}},
			box(3): {{Item: x, Sources: []media.BoxID{box(2), box(1)}}},
		},
	}, {
		name: "the box the server was sending to keeps it, even when another is further along",
		boxes: []Box{
			{ID: box(1), Wishlist: []media.ItemID{x}, Holdings: map[media.ItemID]Holding{x: {Pieces: 1}}},
			{ID: box(2), Wishlist: []media.ItemID{x}, Holdings: map[media.ItemID]Holding{x: {Pieces: 4}}},
		},
		serving: map[media.ItemID]media.BoxID{x: box(1)},
		want: map[media.BoxID][]Fetch{
			box(1): {{Item: x, Server: true, Sources: []media.BoxID{box(2)}}},
			box(2): {{Item: x, Sources: []media.BoxID{box(1)}}},
		},
	}, {
		name: "a complete holder exists: no server, complete holders first",
		boxes: []Box{
			{ID: box(1), Holdings: map[media.ItemID]Holding{x: {Pieces: 10, Complete: true}}},
			{ID: box(2), Wishlist: []media.ItemID{x}, Holdings: map[media.ItemID]Holding{x: {Pieces: 3}}},
			{ID: box(3), Wishlist: []media.ItemID{x}},
		},
		want: map[media.BoxID][]Fetch{
			box(2): {{Item: x, Sources: []media.BoxID{box(1)}}},
			box(3): {{Item: x, Sources: []media.BoxID{box(1), box(2)}}},
		},
	}, {
		name: "the most wanted missing item is fetched; held wishes are skipped",
		boxes: []Box{
			{ID: box(1), Wishlist: []media.ItemID{x, y}, Holdings: map[media.ItemID]Holding{x: {Pieces: 10, Complete: true}}},
		},
		want: map[media.BoxID][]Fetch{box(1): {{Item: y, Server: true}}},
	}, {
		name:  "nothing wished: nothing planned",
		boxes: []Box{{ID: box(1)}},
		want:  map[media.BoxID][]Fetch{},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compute(Snapshot{Items: items, Boxes: tc.boxes, Serving: tc.serving})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Fetches) != len(tc.want) {
				t.Fatalf("plan has fetches for %d boxes, want %d: %+v", len(p.Fetches), len(tc.want), p.Fetches)
			}
			for b, want := range tc.want {
				got := p.Fetches[b]
				if !slices.EqualFunc(got, want, func(a, b Fetch) bool {
					return a.Item == b.Item && a.Server == b.Server && slices.Equal(a.Sources, b.Sources)
				}) {
					t.Errorf("box %d: got %+v, want %+v", b[0], got, want)
				}
			}
		})
	}
}

func TestComputeIsDeterministic(t *testing.T) {
	x := item(1)
	s := Snapshot{Items: map[media.ItemID]Item{x: {Size: 1, Pieces: 1}}}
	for i := byte(1); i <= 20; i++ {
		s.Boxes = append(s.Boxes, Box{ID: box(i), Wishlist: []media.ItemID{x}})
	}
	first, _ := Compute(s)
	slices.Reverse(s.Boxes)
	again, _ := Compute(s)
	for b, f := range first.Fetches {
		g := again.Fetches[b]
		if len(g) != 1 || g[0].Server != f[0].Server || !slices.Equal(g[0].Sources, f[0].Sources) {
			t.Fatalf("box %d: plan depends on input order: %+v vs %+v", b[0], f, g)
		}
	}
}

func TestValidateNamesTheField(t *testing.T) {
	x := item(1)
	items := map[media.ItemID]Item{x: {Size: 1, Pieces: 1}}
	tests := []struct {
		name string
		s    Snapshot
		want string
	}{
		{"unknown wish", Snapshot{Items: items, Boxes: []Box{{ID: box(1), Wishlist: []media.ItemID{item(9)}}}}, "boxes[0].wishlist[0]"},
		{"duplicate box", Snapshot{Items: items, Boxes: []Box{{ID: box(1)}, {ID: box(1)}}}, "boxes[1].id"},
		{"negative size", Snapshot{Items: map[media.ItemID]Item{x: {Size: -1}}}, "negative size"},
		{"wishlist longer than catalog", Snapshot{Items: items, Boxes: []Box{{ID: box(1), Wishlist: []media.ItemID{x, x}}}}, "boxes[0].wishlist: 2 wishes"},
		{"unknown holding", Snapshot{Items: items, Boxes: []Box{{ID: box(1), Holdings: map[media.ItemID]Holding{item(5): {}}}}}, "holdings"},
		{"negative pieces", Snapshot{Items: items, Boxes: []Box{{ID: box(1), Holdings: map[media.ItemID]Holding{x: {Pieces: -2}}}}}, "pieces: negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compute(tc.s)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid naming %q", err, tc.want)
			}
		})
	}
}
