package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
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
