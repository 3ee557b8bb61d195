// Package sample makes test media the project needs without downloading any: a Motion-JPEG AVI
// test card that any player plays, and a WAV tone suite. Output is deterministic for given
// options, so tests can compare bytes.
package sample

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

// WriteWAV writes a PCM WAV (16-bit, stereo, 44.1 kHz) of length d: a slow arpeggio of soft
// sine chords with a gentle envelope.
func WriteWAV(w io.Writer, d time.Duration) error {
	const rate, channels = 44100, 2
	if d < 0 {
		return fmt.Errorf("negative duration %s", d)
	}
	n := int64(d.Seconds()*rate + 0.5)
	dataLen := n * channels * 2
	if dataLen > math.MaxUint32-36 {
		return fmt.Errorf("duration %s too long for a WAV file", d)
	}
	bw := bufio.NewWriter(w)
	hdr := make([]byte, 44)
	copy(hdr[0:], "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(36+dataLen))
	copy(hdr[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(hdr[16:], 16)
	binary.LittleEndian.PutUint16(hdr[20:], 1) // PCM
	binary.LittleEndian.PutUint16(hdr[22:], channels)
	binary.LittleEndian.PutUint32(hdr[24:], rate)
	binary.LittleEndian.PutUint32(hdr[28:], rate*channels*2)
	binary.LittleEndian.PutUint16(hdr[32:], channels*2)
	binary.LittleEndian.PutUint16(hdr[34:], 16)
	copy(hdr[36:], "data")
	binary.LittleEndian.PutUint32(hdr[40:], uint32(dataLen))
	bw.Write(hdr)
	chords := [][]float64{{261.63, 329.63, 392.00}, {220.00, 261.63, 329.63}, {174.61, 220.00, 261.63}, {196.00, 246.94, 293.66}}
	var s [4]byte
	for i := int64(0); i < n; i++ {
		t := float64(i) / rate
		chord := chords[int(t/2)%len(chords)]
		phase := math.Mod(t, 2) / 2
		env := math.Sin(math.Pi * phase) // fade in and out over each two-second chord
		var l, r float64
		for k, f := range chord {
			v := math.Sin(2*math.Pi*f*t) / 3
			l += v * (1 - 0.3*float64(k))
			r += v * (0.4 + 0.3*float64(k))
		}
		binary.LittleEndian.PutUint16(s[0:], uint16(int16(l*env*9000)))
		binary.LittleEndian.PutUint16(s[2:], uint16(int16(r*env*9000)))
		if _, err := bw.Write(s[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// VideoOptions describe a test card film. Zero fields take defaults: 640x360, 25 fps, 10 s,
// JPEG quality 85.
type VideoOptions struct {
	Width, Height, FPS int
	Duration           time.Duration
	Seed               uint64
	Quality            int
}

func (o *VideoOptions) defaults() {
	if o.Width == 0 {
		o.Width = 640
	}
	if o.Height == 0 {
		o.Height = 360
	}
	if o.FPS == 0 {
		o.FPS = 25
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.Quality == 0 {
		o.Quality = 85
	}
}

// WriteAVI writes a Motion-JPEG AVI test card: colour bars, a box moving across, a frame
// counter, and seeded noise so that sizes are realistic and seeds differ. It needs a
// WriteSeeker to fill in sizes once the frames are written; frames are streamed, never held.
func WriteAVI(w io.WriteSeeker, o VideoOptions) error {
	o.defaults()
	if o.Width <= 0 || o.Height <= 0 || o.Width%2 != 0 || o.Height%2 != 0 || o.Width > 4096 || o.Height > 4096 {
		return fmt.Errorf("frame size %dx%d: want even sizes up to 4096", o.Width, o.Height)
	}
	if o.FPS <= 0 || o.FPS > 120 || o.Duration < 0 {
		return fmt.Errorf("fps %d or duration %s out of range", o.FPS, o.Duration)
	}
	frames := int(o.Duration.Seconds()*float64(o.FPS) + 0.5)
	le := binary.LittleEndian
	var hdr bytes.Buffer
	put := func(v ...any) {
		for _, x := range v {
			if s, ok := x.(string); ok {
				hdr.WriteString(s)
			} else {
				binary.Write(&hdr, le, x)
			}
		}
	}
	// RIFF header; sizes patched at the end.
	put("RIFF", uint32(0), "AVI ")
	put("LIST", uint32(4+8+56+8+4+8+56+8+40), "hdrl")
	put("avih", uint32(56), uint32(1_000_000/o.FPS), uint32(0), uint32(0), uint32(0x10), uint32(frames), uint32(0), uint32(1),
		uint32(1<<20), uint32(o.Width), uint32(o.Height), [4]uint32{})
	put("LIST", uint32(4+8+56+8+40), "strl")
	put("strh", uint32(56), "vids", "MJPG", uint32(0), uint16(0), uint16(0), uint32(0), uint32(1), uint32(o.FPS), uint32(0),
		uint32(frames), uint32(1<<20), int32(-1), uint32(0), [4]int16{0, 0, int16(o.Width), int16(o.Height)})
	put("strf", uint32(40), uint32(40), int32(o.Width), int32(o.Height), uint16(1), uint16(24), "MJPG",
		uint32(o.Width*o.Height*3), int32(0), int32(0), uint32(0), uint32(0))
	moviSizeAt := int64(hdr.Len() + 4)
	put("LIST", uint32(0), "movi")
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	moviStart := int64(hdr.Len()) - 4 // idx1 offsets count from the 'movi' fourcc

	img := image.NewRGBA(image.Rect(0, 0, o.Width, o.Height))
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	var jb bytes.Buffer
	idx := make([]byte, 0, 16*frames)
	pos := int64(hdr.Len())
	for f := 0; f < frames; f++ {
		drawFrame(img, f, frames, rng)
		jb.Reset()
		if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: o.Quality}); err != nil {
			return err
		}
		size := jb.Len()
		var ch [8]byte
		copy(ch[:], "00dc")
		le.PutUint32(ch[4:], uint32(size))
		if _, err := w.Write(ch[:]); err != nil {
			return err
		}
		if size%2 == 1 {
			jb.WriteByte(0)
		}
		if _, err := w.Write(jb.Bytes()); err != nil {
			return err
		}
		idx = append(idx, "00dc"...)
		idx = le.AppendUint32(idx, 0x10) // key frame
		idx = le.AppendUint32(idx, uint32(pos-moviStart))
		idx = le.AppendUint32(idx, uint32(size))
		pos += 8 + int64(jb.Len())
	}
	moviEnd := pos
	var ih [8]byte
	copy(ih[:], "idx1")
	le.PutUint32(ih[4:], uint32(len(idx)))
	if _, err := w.Write(ih[:]); err != nil {
		return err
	}
	if _, err := w.Write(idx); err != nil {
		return err
	}
	end := moviEnd + 8 + int64(len(idx))
	if end > math.MaxUint32 {
		return fmt.Errorf("video too large for an AVI file: shorten it")
	}
	for _, p := range []struct {
		at int64
		v  uint32
	}{{4, uint32(end - 8)}, {moviSizeAt, uint32(moviEnd - moviSizeAt - 4)}} {
		if _, err := w.Seek(p.at, io.SeekStart); err != nil {
			return err
		}
		if err := binary.Write(w, le, p.v); err != nil {
			return err
		}
	}
	_, err := w.Seek(end, io.SeekStart)
	return err
}

var bars = []color.RGBA{{235, 235, 235, 255}, {235, 235, 16, 255}, {16, 235, 235, 255}, {16, 235, 16, 255},
	{235, 16, 235, 255}, {235, 16, 16, 255}, {16, 16, 235, 255}}

// segments of the digits 0-9 in a seven-segment display: a b c d e f g.
var segments = [10]uint8{0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f}

func drawFrame(img *image.RGBA, f, frames int, rng *rand.Rand) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	for i, c := range bars {
		r := image.Rect(i*w/len(bars), 0, (i+1)*w/len(bars), h*2/3)
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
	draw.Draw(img, image.Rect(0, h*2/3, w, h), &image.Uniform{color.RGBA{24, 24, 40, 255}}, image.Point{}, draw.Src)
	// A box sweeping across the bars.
	s := h / 6
	x := (f * (w - s)) / max(frames-1, 1)
	y := h/3 - s/2 + int(float64(h/6)*math.Sin(float64(f)/8))
	draw.Draw(img, image.Rect(x, y, x+s, y+s), &image.Uniform{color.RGBA{255, 140, 0, 255}}, image.Point{}, draw.Src)
	// Frame counter, four seven-segment digits.
	dh := h / 5
	dw := dh / 2
	t := max(dh/10, 2)
	white := &image.Uniform{color.RGBA{250, 250, 250, 255}}
	for k, n := 0, f; k < 4; k, n = k+1, n/10 {
		ox := w/2 + dw*2 - (k+1)*(dw+dw/2)
		oy := h*2/3 + (h/3-dh)/2
		d := segments[n%10]
		seg := []image.Rectangle{
			image.Rect(ox, oy, ox+dw, oy+t), image.Rect(ox+dw-t, oy, ox+dw, oy+dh/2), image.Rect(ox+dw-t, oy+dh/2, ox+dw, oy+dh),
			image.Rect(ox, oy+dh-t, ox+dw, oy+dh), image.Rect(ox, oy+dh/2, ox+t, oy+dh), image.Rect(ox, oy, ox+t, oy+dh/2),
			image.Rect(ox, oy+dh/2-t/2, ox+dw, oy+dh/2+t/2),
		}
		for i, r := range seg {
			if d&(1<<i) != 0 {
				draw.Draw(img, r, white, image.Point{}, draw.Src)
			}
		}
	}
	// Film grain, so frames compress like real pictures rather than flat colour.
	pix := img.Pix
	for i := 0; i < len(pix); i += 4 {
		v := rng.Uint32()
		for c := 0; c < 3; c++ {
			n := int(pix[i+c]) + int((v>>(8*c))&31) - 16
			pix[i+c] = uint8(min(max(n, 0), 255))
		}
	}
}
