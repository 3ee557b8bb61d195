package emulator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Console is the text a guest's virtual console shows: Rows lines of Cols characters, as the
// kernel keeps them (/dev/vcsuN), whatever font draws them.
type Console struct {
	Cols, Rows int
	Cells      []rune // row by row
}

// Line is row's characters, trailing blanks included.
func (c Console) Line(row int) string { return string(c.Cells[row*c.Cols : (row+1)*c.Cols]) }

// String is every line, each ended by a newline.
func (c Console) String() string {
	var b strings.Builder
	for r := range c.Rows {
		b.WriteString(strings.TrimRight(c.Line(r), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// Find returns the column and row of the first line holding s (the column counts characters).
func (c Console) Find(s string) (col, row int, ok bool) {
	for r := range c.Rows {
		line := c.Line(r)
		if i := strings.Index(line, s); i >= 0 {
			return len([]rune(line[:i])), r, true
		}
	}
	return 0, 0, false
}

// ReadConsole reads what virtual console tty (1 is the TV) shows, through the guest's debug
// shell: its size from stty and its characters from /dev/vcsuN (UCS-4, printed by od).
func (g *Guest) ReadConsole(ctx context.Context, tty int) (Console, error) {
	// The debug console is slow (a few kB/s under emulation): od's words are shortened, a blank
	// to "_" and any other character to its hexadecimal digits without leading zeros.
	out, err := g.Shell(ctx, fmt.Sprintf(`stty -F /dev/tty%d size && od -An -v -tx4 /dev/vcsu%d | sed -e 's/ 00000020/ _/g' -e 's/ 0*\([0-9a-f]\)/ \1/g'`, tty, tty))
	if err != nil {
		return Console{}, err
	}
	size, dump, _ := strings.Cut(out, "\n")
	return parseConsole(size, dump)
}

// maxCells bounds a console (the kernel's own limit is far larger than any screen needs).
const maxCells = 1 << 16

// parseConsole parses stty's "ROWS COLS" and od's dump of /dev/vcsuN: one word per cell, row
// by row, the character's code point in hexadecimal or "_" for a blank.
func parseConsole(size, dump string) (Console, error) {
	var c Console
	f := strings.Fields(size)
	if len(f) != 2 {
		return c, fmt.Errorf("console size %q: want \"ROWS COLS\" from stty size", size)
	}
	var err error
	if c.Rows, err = strconv.Atoi(f[0]); err != nil || c.Rows <= 0 {
		return c, fmt.Errorf("console size %q: bad row count", size)
	}
	if c.Cols, err = strconv.Atoi(f[1]); err != nil || c.Cols <= 0 || c.Rows*c.Cols > maxCells {
		return c, fmt.Errorf("console size %q: bad column count", size)
	}
	words := strings.Fields(dump)
	if len(words) != c.Rows*c.Cols {
		return c, fmt.Errorf("the console's text has %d characters, not the %d×%d its size says (is /dev/vcsu readable?)", len(words), c.Cols, c.Rows)
	}
	c.Cells = make([]rune, len(words))
	for i, w := range words {
		if w == "_" {
			c.Cells[i] = ' '
			continue
		}
		v, err := strconv.ParseUint(w, 16, 32)
		if err != nil || v > 0x10ffff {
			return Console{}, errors.Join(fmt.Errorf("the console's character %d is %q, not a code point", i, w), err)
		}
		c.Cells[i] = rune(v)
	}
	return c, nil
}
