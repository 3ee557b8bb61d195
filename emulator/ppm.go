package emulator

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
)

// maxPixels bounds a screen dump (QEMU's virtio-gpu screens are far smaller), so a damaged
// header cannot make the decoder allocate gigabytes.
const maxPixels = 8192 * 8192

// DecodePPM reads a binary PPM (P6, maxval 255), the format of QEMU's screendump.
func DecodePPM(r *bufio.Reader) (image.Image, error) {
	magic, err := ppmToken(r)
	if err != nil {
		return nil, err
	}
	if magic != "P6" {
		return nil, fmt.Errorf("screen dump: not a binary PPM (magic %q)", magic)
	}
	var v [3]int
	for i := range v {
		tok, err := ppmToken(r)
		if err != nil {
			return nil, err
		}
		if _, err := fmt.Sscanf(tok, "%d", &v[i]); err != nil || v[i] <= 0 || v[i] > 65535 {
			return nil, fmt.Errorf("screen dump: bad header number %q", tok)
		}
	}
	w, h, maxval := v[0], v[1], v[2]
	if maxval != 255 {
		return nil, fmt.Errorf("screen dump: maxval %d (only 255 is supported)", maxval)
	}
	if w*h > maxPixels {
		return nil, fmt.Errorf("screen dump: %dx%d is larger than any screen", w, h)
	}
	// Exactly one whitespace byte separates the header from the pixels; ppmToken consumed it.
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	row := make([]byte, 3*w)
	for y := 0; y < h; y++ {
		if _, err := io.ReadFull(r, row); err != nil {
			return nil, fmt.Errorf("screen dump: row %d of %d: %w", y, h, err)
		}
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{row[3*x], row[3*x+1], row[3*x+2], 255})
		}
	}
	return img, nil
}

// ppmToken reads one header token, skipping whitespace and # comments, and consumes the single
// whitespace byte after it.
func ppmToken(r *bufio.Reader) (string, error) {
	var tok []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			if len(tok) > 0 && errors.Is(err, io.EOF) {
				return string(tok), nil
			}
			return "", fmt.Errorf("screen dump: truncated header: %w", err)
		}
		switch {
		case c == '#' && len(tok) == 0:
			if _, err := r.ReadBytes('\n'); err != nil {
				return "", fmt.Errorf("screen dump: truncated header: %w", err)
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(tok) > 0 {
				return string(tok), nil
			}
		default:
			if len(tok) >= 16 {
				return "", errors.New("screen dump: header token too long")
			}
			tok = append(tok, c)
		}
	}
}

// WritePNG saves img as a PNG file at path.
func WritePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
