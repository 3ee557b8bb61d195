package emulator

import (
	"testing"
)

func TestParseConsole(t *testing.T) {
	// "A›" over " ·" on a 2×2 console, as od -An -v -tx4 prints /dev/vcsu.
	good := " 00000041 0000203a 00000020 000000b7\n"
	cases := []struct {
		name, size, dump, err string
	}{
		{"good", "2 2", good, ""},
		{"wrapped dump", "2 2", " 00000041 0000203a\n 00000020 000000b7\n", ""},
		{"shortened", "2 2", " 41 203a\n _ b7\n", ""},
		{"short", "2 2", " 00000041", "has 1 characters, not the 2×2"},
		{"not hex", "2 2", " 00000041 zz 00000020 000000b7", `character 1 is "zz"`},
		{"two blanks in one", "2 2", " 41 __ _ b7", `character 1 is "__"`},
		{"beyond unicode", "2 2", " 00000041 00110000 00000020 000000b7", "not a code point"},
		{"no size", "", good, "want \"ROWS COLS\""},
		{"bad rows", "x 2", good, "bad row count"},
		{"zero cols", "2 0", good, "bad column count"},
		{"huge", "100000 100000", good, "bad column count"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			con, err := parseConsole(c.size, c.dump)
			if !checkErr(t, err, c.err) {
				return
			}
			if con.String() != "A›\n ·\n" {
				t.Errorf("text %q", con.String())
			}
			if col, row, ok := con.Find("·"); !ok || col != 1 || row != 1 {
				t.Errorf("Find(·) = %d, %d, %v", col, row, ok)
			}
			if _, _, ok := con.Find("B"); ok {
				t.Error("found B")
			}
		})
	}
}

func FuzzParseConsole(f *testing.F) {
	f.Add("2 2", " 00000041 0000203a 00000020 000000b7\n")
	f.Add("1 1", "ffffffff")
	f.Fuzz(func(t *testing.T, size, dump string) {
		c, err := parseConsole(size, dump)
		if err != nil {
			return
		}
		if len(c.Cells) != c.Rows*c.Cols || c.Rows <= 0 {
			t.Fatalf("parsed %d cells for %d×%d", len(c.Cells), c.Cols, c.Rows)
		}
		_ = c.String()
	})
}
