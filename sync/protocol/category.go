package protocol

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Categories are what an operator shelves titles under: a lower-case name such as "drama",
// "kids" or "documentary", optionally under one parent, "films/drama" or "music/jazz". Browsing a
// parent ("films") shows everything beneath it. The empty category is "uncategorised".
const (
	// Uncategorised is how the empty category is shown; given as input, it means empty.
	Uncategorised = "uncategorised"
	// MaxCategoryDepth is how many names a category path may have: a parent and a child.
	MaxCategoryDepth = 2
	// MaxCategoryName is the longest name in a category path, in characters.
	MaxCategoryName = 32
)

// ErrBadCategory is returned for a category ParseCategory refuses.
var ErrBadCategory = errors.New("bad category")

// ParseCategory checks and normalises an operator's category: surrounding space is trimmed,
// letters are lowered, and "" or "uncategorised" (either spelling) give "". Names hold letters,
// digits, single spaces and hyphens, at most MaxCategoryName characters each, at most
// MaxCategoryDepth of them joined by "/".
func ParseCategory(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: not UTF-8 text", ErrBadCategory)
	}
	c := strings.ToLower(strings.TrimSpace(s))
	if c == "" || c == Uncategorised || c == "uncategorized" {
		return "", nil
	}
	names := strings.Split(c, "/")
	if slices.Contains(names, "") {
		return "", fmt.Errorf("%w %q: an empty name around a /", ErrBadCategory, s)
	}
	if len(names) > MaxCategoryDepth {
		return "", fmt.Errorf("%w %q: at most %d levels, such as films/drama", ErrBadCategory, s, MaxCategoryDepth)
	}
	for _, n := range names {
		if utf8.RuneCountInString(n) > MaxCategoryName {
			return "", fmt.Errorf("%w %q: %q is longer than %d characters", ErrBadCategory, s, n, MaxCategoryName)
		}
		if n != strings.TrimSpace(n) || strings.Contains(n, "  ") {
			return "", fmt.Errorf("%w %q: no space at either end of a name, nor two in a row", ErrBadCategory, s)
		}
		for _, r := range n {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && r != '-' {
				return "", fmt.Errorf("%w %q: %q is not allowed; use letters, digits, spaces, - and one /", ErrBadCategory, s, r)
			}
		}
	}
	return c, nil
}

// InCategory reports whether a title of category c is shown when browsing category sel: sel
// itself and, for a parent, every category beneath it. The empty sel is every category;
// Uncategorised is the titles without one (no category can be named so).
func InCategory(c, sel string) bool {
	switch sel {
	case "":
		return true
	case Uncategorised:
		return c == ""
	}
	return c == sel || strings.HasPrefix(c, sel+"/")
}

// CategoryParent returns the parent of a category ("films" for "films/drama"), or "" for one
// without a parent.
func CategoryParent(c string) string {
	if i := strings.LastIndexByte(c, '/'); i >= 0 {
		return c[:i]
	}
	return ""
}
