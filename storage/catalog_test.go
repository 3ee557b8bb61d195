package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"swarmbox/internal/sqlitedb"
)

func catalogJSON(v int64, titles map[byte]string) []byte {
	type it struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	c := struct {
		Version int64 `json:"version"`
		Items   []it  `json:"items"`
	}{Version: v, Items: []it{}}
	for _, n := range slices.Sorted(maps.Keys(titles)) {
		c.Items = append(c.Items, it{item(n).String(), titles[n]})
	}
	b, _ := json.Marshal(c)
	return b
}

func TestCatalogReplicaIsIncremental(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	steps := []struct {
		version int64
		titles  map[byte]string
		want    CatalogChange
	}{
		{3, map[byte]string{1: "A", 2: "B"}, CatalogChange{Added: 2}},
		{5, map[byte]string{1: "A", 2: "B2", 3: "C"}, CatalogChange{Added: 1, Changed: 1, Unchanged: 1}},
		{4, map[byte]string{9: "stale"}, CatalogChange{}}, // older: ignored
		{6, map[byte]string{2: "B2", 3: "C"}, CatalogChange{Removed: 1, Unchanged: 2}},
	}
	for _, st := range steps {
		got, err := s.SaveCatalog(ctx, st.version, catalogJSON(st.version, st.titles))
		if err != nil || got != st.want {
			t.Fatalf("version %d: change %+v, %v; want %+v", st.version, got, err, st.want)
		}
	}
	s.Close()
	// Browsing needs nothing but the disk: reopen with no head-end anywhere.
	s = open(t, dir)
	v, js, err := s.Catalog(ctx)
	if err != nil || v != 6 {
		t.Fatalf("replica version %d, %v", v, err)
	}
	var c struct {
		Items []struct{ ID, Title string }
	}
	json.Unmarshal(js, &c)
	if len(c.Items) != 2 || fmt.Sprint(c.Items[0].Title, c.Items[1].Title) != "B2C" {
		t.Fatalf("replica %s", js)
	}
}

func TestCatalogBadInputKeepsReplica(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	if _, err := s.SaveCatalog(ctx, 2, catalogJSON(2, map[byte]string{1: "A"})); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name    string
		version int64
		js      string
	}{
		{"not JSON", 3, `{"version":3,`},
		{"no version", 3, `{"items":[]}`},
		{"bad id", 3, `{"version":3,"items":[{"id":"xyz"}]}`},
		{"duplicate id", 3, `{"version":3,"items":[{"id":"` + item(1).String() + `"},{"id":"` + item(1).String() + `"}]}`},
		{"version differs from the sync answer", 4, `{"version":3,"items":[]}`},
		{"category not a string", 3, `{"version":3,"items":[{"id":"` + item(1).String() + `","category":5}]}`},
	}
	for _, b := range bad {
		if _, err := s.SaveCatalog(ctx, b.version, []byte(b.js)); !errors.Is(err, ErrBadCatalog) {
			t.Errorf("%s: err = %v, want ErrBadCatalog", b.name, err)
		}
	}
	v, js, _ := s.Catalog(ctx)
	if v != 2 || len(js) == 0 {
		t.Fatalf("replica changed by bad input: version %d", v)
	}
}

// shelfJSON is a catalog of titles given as id -> "kind category".
func shelfJSON(v int64, titles map[byte][2]string) []byte {
	type it struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		Category string `json:"category,omitempty"`
	}
	c := struct {
		Version int64 `json:"version"`
		Items   []it  `json:"items"`
	}{Version: v}
	for _, n := range slices.Sorted(maps.Keys(titles)) {
		c.Items = append(c.Items, it{item(n).String(), titles[n][0], titles[n][1]})
	}
	b, _ := json.Marshal(c)
	return b
}

func TestCatalogShelves(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	if sh, err := s.Shelves(ctx, ""); err != nil || len(sh) != 0 {
		t.Fatalf("shelves of no catalog: %v %v", sh, err)
	}
	cat := map[byte][2]string{
		1: {"video", "films/drama"}, 2: {"video", "films/comedy"}, 3: {"video", "kids"},
		4: {"audio", "music/jazz"}, 5: {"file", ""}, 6: {"video", ""}, 7: {"audio", "films/drama"},
	}
	if _, err := s.SaveCatalog(ctx, 1, shelfJSON(1, cat)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind, want string
	}{
		{"", "[{films 3} {films/comedy 1} {films/drama 2} {kids 1} {music 1} {music/jazz 1} { 2}]"},
		{"video", "[{films 2} {films/comedy 1} {films/drama 1} {kids 1} { 1}]"},
		{"audio", "[{films 1} {films/drama 1} {music 1} {music/jazz 1}]"},
		{"file", "[{ 1}]"},
		{"hologram", "[]"},
	} {
		sh, err := s.Shelves(ctx, c.kind)
		if err != nil || fmt.Sprint(sh) != c.want {
			t.Errorf("Shelves(%q) = %v, %v; want %s", c.kind, sh, err, c.want)
		}
	}
	// A title moved to another shelf by the head-end moves on the box too.
	cat[5] = [2]string{"file", "kids"}
	if ch, err := s.SaveCatalog(ctx, 2, shelfJSON(2, cat)); err != nil || ch.Changed != 1 {
		t.Fatalf("change %+v %v", ch, err)
	}
	if sh, _ := s.Shelves(ctx, "file"); fmt.Sprint(sh) != "[{kids 1}]" {
		t.Fatalf("after the move: %v", sh)
	}
}

// TestCatalogShelvesAfterUpgrade: a replica saved before the category columns existed gets them
// filled from the JSON it kept.
func TestCatalogShelvesAfterUpgrade(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	i := slices.IndexFunc(migrations, func(m string) bool { return strings.Contains(m, "ADD COLUMN category") })
	if i < 0 {
		t.Fatal("no category migration")
	}
	old, err := sqlitedb.Open(ctx, filepath.Join(dir, "box.db"), migrations[:i])
	if err != nil {
		t.Fatal(err)
	}
	for n, js := range []string{`{"id":"a","kind":"video","category":"films/drama"}`, `{"id":"b","kind":"audio"}`, `not json`} {
		if _, err := old.ExecContext(ctx, `INSERT INTO catalog_items (id, pos, json, version) VALUES (?, ?, ?, 1)`, fmt.Sprint(n), n, []byte(js)); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	s := open(t, dir)
	if sh, err := s.Shelves(ctx, ""); err != nil || fmt.Sprint(sh) != "[{films 1} {films/drama 1} { 2}]" {
		t.Fatalf("shelves after the upgrade: %v %v", sh, err)
	}
	if sh, _ := s.Shelves(ctx, "video"); fmt.Sprint(sh) != "[{films 1} {films/drama 1}]" {
		t.Fatalf("video shelves after the upgrade: %v", sh)
	}
}

func FuzzParseCatalog(f *testing.F) {
	f.Add(catalogJSON(3, map[byte]string{1: "A", 2: "B"}))
	f.Add([]byte(`{"version":1,"items":[{"id":null}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, items, err := parseCatalog(b)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("negative version %d accepted", v)
		}
		for id, e := range items {
			if !json.Valid(e.raw) {
				t.Fatalf("item %s: invalid JSON kept", id)
			}
		}
	})
}
