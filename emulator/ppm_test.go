package emulator

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// checkErr checks a case's error: with want "", none (else the test stops); otherwise one
// containing want. It reports whether the case goes on to check its result.
func checkErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	return false
}

func TestDecodePPM(t *testing.T) {
	good := "P6\n# qemu\n2 1\n255\n" + "\xff\x00\x00\x00\x00\xff"
	cases := []struct {
		name, in, err string
	}{
		{"good", good, ""},
		{"ascii ppm", "P3\n1 1\n255\n0 0 0\n", "not a binary PPM"},
		{"sixteen-bit", "P6 1 1 65535\n\x00\x00\x00\x00\x00\x00", "maxval 65535"},
		{"short pixels", "P6\n2 2\n255\n\x00\x00\x00", "row 0 of 2"},
		{"huge", "P6\n65535 65535\n255\n", "larger than any screen"},
		{"zero width", "P6\n0 1\n255\n", "bad header number"},
		{"garbage number", "P6\nxx 1\n255\n", "bad header number"},
		{"empty", "", "truncated header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := DecodePPM(bufio.NewReader(strings.NewReader(c.in)))
			if !checkErr(t, err, c.err) {
				return
			}
			if b := img.Bounds(); b.Dx() != 2 || b.Dy() != 1 {
				t.Fatalf("bounds %v", b)
			}
			if r, g, b, _ := img.At(0, 0).RGBA(); r>>8 != 255 || g != 0 || b != 0 {
				t.Fatalf("pixel 0 = %d %d %d, want red", r>>8, g>>8, b>>8)
			}
			if _, _, b, _ := img.At(1, 0).RGBA(); b>>8 != 255 {
				t.Fatalf("pixel 1 is not blue")
			}
		})
	}
}

func FuzzDecodePPM(f *testing.F) {
	f.Add([]byte("P6\n2 1\n255\n\xff\x00\x00\x00\x00\xff"))
	f.Add([]byte("P6 # c\n1 1 255 abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := DecodePPM(bufio.NewReader(bytes.NewReader(b)))
		if err == nil && img.Bounds().Dx()*img.Bounds().Dy()*3 > len(b) {
			t.Fatalf("decoded %v from %d bytes", img.Bounds(), len(b))
		}
	})
}
