package cmdline

import (
	"flag"
	"slices"
	"testing"
)

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	title := fs.String("title", "", "")
	n := fs.Int("n", 0, "")
	pos, err := Parse(fs, []string{"a", "-title", "T", "b", "-n", "3", "c"})
	if err != nil || !slices.Equal(pos, []string{"a", "b", "c"}) || *title != "T" || *n != 3 {
		t.Fatalf("pos %v title %q n %d err %v", pos, *title, *n, err)
	}
	if _, err := Parse(fs, []string{"-nope"}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}
