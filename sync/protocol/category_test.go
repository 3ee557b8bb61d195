package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCategory(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      bool
	}{
		{"", "", false},
		{"  ", "", false},
		{"drama", "drama", false},
		{" Films/Drama ", "films/drama", false},
		{"music/jazz", "music/jazz", false},
		{"science fiction", "science fiction", false},
		{"sci-fi", "sci-fi", false},
		{"Comédie", "comédie", false},
		{"kids2", "kids2", false},
		{"Uncategorised", "", false},
		{"uncategorized", "", false},
		{"films//drama", "", true},
		{"/drama", "", true},
		{"drama/", "", true},
		{"a/b/c", "", true},
		{"drama!", "", true},
		{"films\\drama", "", true},
		{"films / drama", "", true},
		{"two  spaces", "", true},
		{"tab\there", "", true},
		{"new\nline", "", true},
		{strings.Repeat("x", MaxCategoryName+1), "", true},
		{strings.Repeat("x", MaxCategoryName), strings.Repeat("x", MaxCategoryName), false},
		{"\xff", "", true},
	} {
		got, err := ParseCategory(c.in)
		if c.bad {
			if !errors.Is(err, ErrBadCategory) {
				t.Errorf("ParseCategory(%q) = %q, %v; want ErrBadCategory", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseCategory(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestInCategory(t *testing.T) {
	for _, c := range []struct {
		cat, sel string
		want     bool
	}{
		{"films/drama", "", true},
		{"", "", true},
		{"films/drama", "films", true},
		{"films/drama", "films/drama", true},
		{"films", "films/drama", false},
		{"filmsx/drama", "films", false},
		{"music/jazz", "films", false},
		{"", Uncategorised, true},
		{"drama", Uncategorised, false},
	} {
		if got := InCategory(c.cat, c.sel); got != c.want {
			t.Errorf("InCategory(%q, %q) = %v", c.cat, c.sel, got)
		}
	}
	if CategoryParent("films/drama") != "films" || CategoryParent("drama") != "" {
		t.Error("CategoryParent")
	}
}

// FuzzParseCategory: no panic; what it accepts is normalised (parsing it again changes nothing)
// and never names more levels than allowed.
func FuzzParseCategory(f *testing.F) {
	for _, s := range []string{"", "films/drama", " Music/Jazz ", "a/b/c", "x//y", "Uncategorised", "\xff", "İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCategory(s)
		if err != nil {
			if !errors.Is(err, ErrBadCategory) {
				t.Fatalf("error without ErrBadCategory: %v", err)
			}
			return
		}
		again, err := ParseCategory(c)
		if err != nil || again != c {
			t.Fatalf("ParseCategory(%q) = %q, but that parses as %q, %v", s, c, again, err)
		}
		if strings.Count(c, "/") >= MaxCategoryDepth || c == Uncategorised {
			t.Fatalf("accepted %q as %q", s, c)
		}
	})
}
