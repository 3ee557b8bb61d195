package psf

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// psf2 builds a PSF2 font of 8×16 glyphs whose table maps glyph i to table[i] (UTF-8, already
// with 0xFE/0xFF separators where the case wants them).
func psf2(glyphs int, table []byte, flags uint32) []byte {
	var b bytes.Buffer
	for _, v := range []uint32{0x864ab572, 0, 32, flags, uint32(glyphs), 16, 16, 8} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.Write(make([]byte, glyphs*16))
	b.Write(table)
	return b.Bytes()
}

// psf1 builds a 256-glyph PSF1 font whose table is the UCS-2 values given (0xFFFF ends a glyph).
func psf1(mode byte, table ...uint16) []byte {
	b := []byte{0x36, 0x04, mode, 16}
	b = append(b, make([]byte, 256*16)...)
	for _, u := range table {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

func ends(n int) []uint16 {
	var u []uint16
	for range n {
		u = append(u, 0xffff)
	}
	return u
}

func TestParse(t *testing.T) {
	tab1 := append([]uint16{'A', 0x203a, 0xfffe, 'x', 'y', 0xffff}, ends(255)...)
	for _, c := range []struct {
		name    string
		data    []byte
		has     []rune
		hasNot  []rune
		glyphs  int
		wantErr bool
	}{
		{"psf2 with table", psf2(2, []byte("A\u203a\xfex\u0301\xff·\xff"), 1), []rune{'A', '›', '·'}, []rune{'x', 'B'}, 2, false},
		{"psf2 without table", psf2(2, nil, 0), nil, []rune{'A'}, 2, false},
		{"psf2 table cut short", psf2(2, []byte("A\xff"), 1), nil, nil, 0, true},
		{"psf2 bad utf-8", psf2(1, []byte{0xc3, 0xff}, 1), nil, nil, 0, true},
		{"psf2 glyphs missing", psf2(2, nil, 0)[:40], nil, nil, 0, true},
		{"psf1 with table", psf1(2, tab1...), []rune{'A', '›'}, []rune{'x', 'y'}, 256, false},
		{"psf1 without table", psf1(0), nil, []rune{'A'}, 256, false},
		{"psf1 table cut short", psf1(2, 'A', 0xffff), nil, nil, 0, true},
		{"not a font", []byte("hello, world, this is not a font at all"), nil, nil, 0, true},
		{"empty", nil, nil, nil, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.data)
			if c.wantErr {
				if !errors.Is(err, ErrNotPSF) {
					t.Fatalf("Parse = %v, want ErrNotPSF", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Glyphs != c.glyphs {
				t.Errorf("glyphs %d, want %d", f.Glyphs, c.glyphs)
			}
			for _, r := range c.has {
				if !f.Has(r) {
					t.Errorf("font lacks %q", r)
				}
			}
			for _, r := range c.hasNot {
				if f.Has(r) {
					t.Errorf("font claims %q", r)
				}
			}
		})
	}
}

func TestReadGzip(t *testing.T) {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write(psf2(1, []byte("\u2212\xff"), 1))
	_ = w.Close()
	f, err := Read(&z)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Has('−') || f.Width != 8 || f.Height != 16 {
		t.Errorf("font %+v lacks − or has the wrong size", f)
	}
}

// FuzzPSF: no input makes the parser panic or claim characters without a table.
func FuzzPSF(f *testing.F) {
	f.Add(psf2(2, []byte("A\u203a\xfex\u0301\xff·\xff"), 1))
	f.Add(psf2(1, nil, 0))
	f.Add(psf1(2, append([]uint16{'A', 0xffff}, ends(255)...)...))
	f.Add(psf1(1))
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		font, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		if font.Glyphs <= 0 || font.Height <= 0 || font.Width <= 0 {
			t.Fatalf("parsed a font without glyphs: %+v", font)
		}
		for _, r := range []rune{'A', 0xfffd} {
			if g, ok := font.Glyph(r); ok {
				g.On(g.Width-1, g.Height-1) // every mapped glyph's bitmap is within the font
			}
		}
	})
}

// TestGlyph: the bitmap a character maps to is the one the font holds for it, bit for bit,
// and the replacement glyph is U+FFFD's.
func TestGlyph(t *testing.T) {
	data := psf2(2, []byte("A\xff\uFFFD\xff"), 1)
	// Glyph 0 ("A"): only its top-left pixel; glyph 1 (U+FFFD): its whole last row.
	data[32] = 0x80
	data[32+16+15] = 0xff
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := f.Glyph('A')
	if !ok || a.Width != 8 || a.Height != 16 {
		t.Fatalf("Glyph('A') = %+v, %v", a, ok)
	}
	if !a.On(0, 0) || a.On(1, 0) || a.On(0, 1) || a.On(-1, 0) || a.On(8, 0) {
		t.Errorf("glyph A's pixels are not the font's")
	}
	r, ok := f.Replacement()
	if !ok || !r.On(0, 15) || !r.On(7, 15) || r.On(0, 14) {
		t.Errorf("the replacement glyph is not U+FFFD's: %+v %v", r, ok)
	}
	if _, ok := f.Glyph('B'); ok {
		t.Error("Glyph('B') found in a font without B")
	}
	if _, ok := mustParse(t, psf2(1, []byte("A\xff"), 1)).Replacement(); ok {
		t.Error("a replacement glyph in a font without U+FFFD")
	}
}

func mustParse(t *testing.T, data []byte) *Font {
	t.Helper()
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "font.psf")
	if err := os.WriteFile(path, psf2(1, []byte("A\xff"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := Open(path); err != nil || !f.Has('A') {
		t.Fatalf("Open = %v, %v", f, err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing font: %v", err)
	}
	os.WriteFile(path, []byte("not a font"), 0o600)
	if _, err := Open(path); !errors.Is(err, ErrNotPSF) || !strings.Contains(err.Error(), path) {
		t.Errorf("not a font: %v", err)
	}
}
