// Package psf reads Linux console fonts (PC Screen Font, versions 1 and 2, as setfont loads
// them) far enough to tell which characters a font can draw and how: its glyph size, its
// Unicode table and each glyph's bitmap. The TV UI's tests use it to keep every character the
// UI draws within the box's console font (requirement UI-4), and the QEMU test to recognise the
// replacement glyph the console draws for a character the font lacks (UI-5).
package psf

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// Font is what a console font says about itself.
type Font struct {
	Glyphs        int // number of glyphs
	Width, Height int // glyph size in pixels
	runes         map[rune]int
	bitmaps       []byte // Glyphs glyphs of stride×Height bytes, rows of bits, most significant first
	stride        int    // bytes per glyph row
	per           int    // bytes per glyph
}

// Has reports whether the font maps r to a glyph of its own.
func (f *Font) Has(r rune) bool { _, ok := f.runes[r]; return ok }

// Glyph is one glyph's bitmap, Width×Height pixels.
type Glyph struct {
	Width, Height int
	rows          []byte
	stride        int
}

// On reports whether pixel x, y of the glyph is drawn in the foreground (false outside it).
func (g Glyph) On(x, y int) bool {
	if x < 0 || y < 0 || x >= g.Width || y >= g.Height {
		return false
	}
	return g.rows[y*g.stride+x/8]&(0x80>>(x%8)) != 0
}

// Glyph returns the glyph the font maps r to; false when its Unicode table does not map r.
func (f *Font) Glyph(r rune) (Glyph, bool) {
	i, ok := f.runes[r]
	if !ok {
		return Glyph{}, false
	}
	return Glyph{Width: f.Width, Height: f.Height, rows: f.bitmaps[i*f.per : (i+1)*f.per], stride: f.stride}, true
}

// Replacement is the glyph the Linux console draws for a character the font lacks: the font's
// U+FFFD (the kernel's vt.c tries it first); false when the font has none (the kernel then
// draws an inverted "?").
func (f *Font) Replacement() (Glyph, bool) { return f.Glyph(0xfffd) }

// Runes is how many characters the Unicode table maps.
func (f *Font) Runes() int { return len(f.runes) }

const (
	psf1Magic   = 0x0436
	psf1Mode512 = 0x01
	psf1ModeTab = 0x02
	psf1ModeSeq = 0x04
	psf2Magic   = 0x864ab572
	psf2HasTab  = 0x01
	maxGlyphs   = 1 << 16 // the console takes 512; anything near this is not a font
	maxFontSize = 16 << 20
)

// ErrNotPSF is returned for data that is neither PSF1 nor PSF2.
var ErrNotPSF = errors.New("not a PSF console font")

// Read parses a font file, gzip-compressed (as Debian ships them, .psf.gz) or not.
func Read(r io.Reader) (*Font, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFontSize+1))
	if err != nil {
		return nil, fmt.Errorf("read font: %w", err)
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		z, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("font: gzip: %w", err)
		}
		data, err = io.ReadAll(io.LimitReader(z, maxFontSize+1))
		if err != nil {
			return nil, fmt.Errorf("font: gzip: %w", err)
		}
	}
	if len(data) > maxFontSize {
		return nil, fmt.Errorf("font: larger than %d bytes: %w", maxFontSize, ErrNotPSF)
	}
	return Parse(data)
}

// Open reads the font file at path (see Read); the error names the path.
func Open(path string) (*Font, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	font, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return font, nil
}

// Parse parses an uncompressed PSF1 or PSF2 font.
func Parse(data []byte) (*Font, error) {
	if len(data) >= 4 && binary.LittleEndian.Uint16(data) == psf1Magic {
		return parse1(data)
	}
	if len(data) >= 32 && binary.LittleEndian.Uint32(data) == psf2Magic {
		return parse2(data)
	}
	return nil, ErrNotPSF
}

// parse1: a 4-byte header (magic, mode, char size), 256 or 512 glyphs 8 pixels wide, then
// (with a table) for each glyph UCS-2 values ending in 0xFFFF, 0xFFFE starting sequences.
func parse1(data []byte) (*Font, error) {
	mode, size := data[2], int(data[3])
	f := &Font{Glyphs: 256, Width: 8, Height: size, runes: map[rune]int{}, stride: 1, per: size}
	if mode&psf1Mode512 != 0 {
		f.Glyphs = 512
	}
	end := 4 + f.Glyphs*size
	if size == 0 || end > len(data) {
		return nil, fmt.Errorf("psf1: %d glyphs of %d bytes do not fit in %d bytes: %w", f.Glyphs, size, len(data), ErrNotPSF)
	}
	f.bitmaps = data[4:end]
	if mode&(psf1ModeTab|psf1ModeSeq) == 0 {
		return f, nil // no table: the glyphs are the console's code page, no Unicode claims
	}
	tab := data[end:]
	for g := 0; g < f.Glyphs; g++ {
		seq := false
		for {
			if len(tab) < 2 {
				return nil, fmt.Errorf("psf1: unicode table ends inside glyph %d: %w", g, ErrNotPSF)
			}
			u := binary.LittleEndian.Uint16(tab)
			tab = tab[2:]
			if u == 0xffff {
				break
			}
			if u == 0xfffe {
				seq = true
			}
			if !seq {
				f.runes[rune(u)] = g // as the kernel's con_insert_unipair: the last claim wins
			}
		}
	}
	return f, nil
}

// parse2: a 32-byte header (magic, version, header size, flags, glyph count, bytes per glyph,
// height, width), the glyphs, then (with a table) for each glyph UTF-8 characters ending in
// 0xFF, 0xFE starting sequences (several characters drawn as one glyph, not claimed here).
func parse2(data []byte) (*Font, error) {
	h := func(i int) uint32 { return binary.LittleEndian.Uint32(data[4*i:]) }
	hdr, flags, n, per, height, width := h(2), h(3), h(4), h(5), h(6), h(7)
	if hdr < 32 || n == 0 || n > maxGlyphs || per == 0 || per > 1<<12 || height == 0 || width == 0 {
		return nil, fmt.Errorf("psf2: header (size %d, %d glyphs of %d bytes): %w", hdr, n, per, ErrNotPSF)
	}
	if width > 64 || height > 128 || uint64(height)*uint64((width+7)/8) > uint64(per) {
		return nil, fmt.Errorf("psf2: %d×%d glyphs in %d bytes: %w", width, height, per, ErrNotPSF)
	}
	end := uint64(hdr) + uint64(n)*uint64(per)
	if end > uint64(len(data)) {
		return nil, fmt.Errorf("psf2: %d glyphs of %d bytes do not fit in %d bytes: %w", n, per, len(data), ErrNotPSF)
	}
	f := &Font{Glyphs: int(n), Width: int(width), Height: int(height), runes: map[rune]int{},
		bitmaps: data[hdr:end], stride: (int(width) + 7) / 8, per: int(per)}
	if flags&psf2HasTab == 0 {
		return f, nil
	}
	tab := data[end:]
	for g := 0; g < f.Glyphs; g++ {
		seq := false
		for {
			if len(tab) == 0 {
				return nil, fmt.Errorf("psf2: unicode table ends inside glyph %d: %w", g, ErrNotPSF)
			}
			switch tab[0] {
			case 0xff:
				tab = tab[1:]
			case 0xfe:
				seq = true
				tab = tab[1:]
				continue
			default:
				r, size := utf8.DecodeRune(tab)
				if r == utf8.RuneError && size <= 1 {
					return nil, fmt.Errorf("psf2: glyph %d: invalid UTF-8 in the unicode table: %w", g, ErrNotPSF)
				}
				if !seq {
					f.runes[r] = g
				}
				tab = tab[size:]
				continue
			}
			break
		}
	}
	return f, nil
}
