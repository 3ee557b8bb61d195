package e2e

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"swarmbox/emulator"
	"swarmbox/firmware/boxbus"
	"swarmbox/internal/testenv"
)

// The test film: testsrc (a still colour pattern with a running clock and a moving gradient)
// at 320×240, 25 frames a second, a key frame each second (so FF's key-frame seek lands within a
// second of its step), and a 1 kHz tone; 60 s, so that FF's 30 s step stays inside it.
const (
	filmW, filmH, filmFPS = 320, 240, 25
	filmSeconds           = 120
	toneHz                = 1000.0
	ffStep                = 30 // the overlay's documented FF step (ui/playing.go's key help)
)

// makeFilm writes the test film with ffmpeg.
func makeFilm(t *testing.T) string {
	t.Helper()
	ffmpeg := testenv.RequireTool(t, "ffmpeg")
	film := filepath.Join(t.TempDir(), "film.mp4")
	out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("testsrc=size=%dx%d:rate=%d:duration=%d", filmW, filmH, filmFPS, filmSeconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%g:sample_rate=48000:duration=%d", toneHz, filmSeconds),
		"-c:v", "libx264", "-preset", "veryfast", "-g", strconv.Itoa(filmFPS), "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", film).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg making the test film: %v\n%s", err, out)
	}
	return film
}

// screen loads a screen dump.
func screen(t *testing.T, g *emulator.Guest, name string) image.Image {
	t.Helper()
	path := filepath.Join(t.ArtifactDir(), name)
	if err := g.Screendump(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screen dump %s: %v", name, err)
	}
	return img
}

// videoRect is where a player that fills the screen keeping the film's aspect ratio draws it.
func videoRect(b image.Rectangle) image.Rectangle {
	w, h := b.Dx(), b.Dy()
	if w*filmH > h*filmW { // a wider screen: bars left and right
		vw := int(math.Round(float64(h) * filmW / filmH))
		return image.Rect((w-vw)/2, 0, (w-vw)/2+vw, h).Add(b.Min)
	}
	vh := int(math.Round(float64(w) * filmH / filmW))
	return image.Rect(0, (h-vh)/2, w, (h-vh)/2+vh).Add(b.Min)
}

// sourceFrames decodes the film from second from for dur seconds, each frame scaled to w×h, as
// RGB bytes, with each frame's time.
func sourceFrames(t *testing.T, film string, from, dur float64, w, h int) ([][]byte, []float64) {
	t.Helper()
	from = max(from, 0)
	out, err := exec.Command("ffmpeg", "-v", "error", "-ss", fmt.Sprintf("%.3f", from), "-t", fmt.Sprintf("%.3f", dur), "-i", film,
		"-vf", fmt.Sprintf("scale=%d:%d:flags=bicubic", w, h), "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg decoding the film at %.1f s: %v", from, err)
	}
	n := w * h * 3
	var frames [][]byte
	var times []float64
	for i := 0; (i+1)*n <= len(out); i++ {
		frames, times = append(frames, out[i*n:(i+1)*n]), append(times, from+float64(i)/filmFPS)
	}
	if len(frames) == 0 {
		t.Fatalf("ffmpeg decoded no frame of the film at %.1f s", from)
	}
	return frames, times
}

// psnr compares the screen's rectangle r with an RGB frame of r's size, in dB.
func psnr(img image.Image, r image.Rectangle, frame []byte) float64 {
	var se float64
	i := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			for _, d := range []float64{float64(cr>>8) - float64(frame[i]), float64(cg>>8) - float64(frame[i+1]), float64(cb>>8) - float64(frame[i+2])} {
				se += d * d
			}
			i += 3
		}
	}
	mse := se / float64(3*r.Dx()*r.Dy())
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// sameShare is the share of r's pixels that are the same in a and b.
func sameShare(a, b image.Image, r image.Rectangle) float64 {
	same := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) == b.At(x, y) {
				same++
			}
		}
	}
	return float64(same) / float64(r.Dx()*r.Dy())
}

// readWAV returns the first channel of a 16-bit PCM WAV file and its sample rate. QEMU writes
// the header's sizes when it quits; a file cut short is read up to its end.
func readWAV(path string) ([]float64, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%s is not a WAV file", path)
	}
	var channels, bits uint16
	var rate uint32
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, fmt.Errorf("%s: short fmt chunk", path)
			}
			channels, rate, bits = binary.LittleEndian.Uint16(body[2:4]), binary.LittleEndian.Uint32(body[4:8]), binary.LittleEndian.Uint16(body[14:16])
		case "data":
			if bits != 16 || channels == 0 {
				return nil, 0, fmt.Errorf("%s: %d-bit, %d channels; want 16-bit PCM", path, bits, channels)
			}
			if size == 0 || size > len(body) {
				size = len(body)
			}
			step := 2 * int(channels)
			s := make([]float64, 0, size/step)
			for i := 0; i+step <= size; i += step {
				s = append(s, float64(int16(binary.LittleEndian.Uint16(body[i:])))/32768)
			}
			return s, int(rate), nil
		}
		off += 8 + size + size%2
	}
	return nil, 0, fmt.Errorf("%s has no data chunk", path)
}

// loudest is the second (rate samples) of s with the most energy.
func loudest(s []float64, rate int) ([]float64, float64) {
	best, bestE := 0, -1.0
	for i := 0; i+rate <= len(s); i += rate / 4 {
		e := 0.0
		for _, v := range s[i : i+rate] {
			e += v * v
		}
		if e > bestE {
			best, bestE = i, e
		}
	}
	if bestE < 0 {
		return s, 0
	}
	return s[best : best+rate], math.Sqrt(bestE / float64(rate))
}

// goertzel is the power of frequency f in s (sampled at rate).
func goertzel(s []float64, rate int, f float64) float64 {
	w := 2 * math.Pi * f / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range s {
		s1, s2 = v+c*s1-s2, s1
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// dominant is the strongest frequency of s between 50 Hz and 8 kHz, to the hertz.
func dominant(s []float64, rate int) float64 {
	best, bestP := 0.0, -1.0
	for f := 50.0; f <= 8000; f++ {
		if p := goertzel(s, rate, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

// TestGoertzelFindsTone checks the audio check itself on a synthetic tone and on silence.
func TestGoertzelFindsTone(t *testing.T) {
	for _, c := range []struct {
		f    float64
		rate int
	}{{1000, 44100}, {440, 48000}, {3150, 44100}} {
		s := make([]float64, c.rate*2)
		for i := range s {
			if i > c.rate/2 {
				s[i] = 0.1 * math.Sin(2*math.Pi*c.f*float64(i)/float64(c.rate))
			}
		}
		sec, rms := loudest(s, c.rate)
		if got := dominant(sec, c.rate); math.Abs(got-c.f) > 1 || rms < 0.05 {
			t.Errorf("%g Hz at %d Hz: dominant %g Hz, rms %.3f", c.f, c.rate, got, rms)
		}
	}
}

// audioDiag shows the box's sound card and what ALSA says when a tone is played on it.
const audioDiag = "cat /proc/asound/cards /proc/asound/card0/pcm0p/info; for d in plughw:0,0 hw:0,0 default; do echo == $d; mpv --no-config --vo=null --ao=alsa --audio-device=alsa/$d --length=1 --msg-level=ao=v av://lavfi:sine 2>&1 | tr '\\r' '\\n' | grep -iE 'ao|alsa|audio' | head -12; done"

var playChoice = regexp.MustCompile(` 1 Play 2 `)

// asciiWords is the TV's text without the console's line and arrow glyphs (bytes above ASCII),
// its words separated by single spaces.
func asciiWords(text string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r > 126 || r < 32 {
			return ' '
		}
		return r
	}, text)), " ")
}

var overlayClock = regexp.MustCompile(`(\d+):(\d\d) / (\d+):(\d\d)`)

// overlayPosition reads the position (whole seconds) from the player overlay's text on tty1.
func overlayPosition(text string) (int, bool) {
	m := overlayClock.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	mm, _ := strconv.Atoi(m[1])
	ss, _ := strconv.Atoi(m[2])
	return mm*60 + ss, true
}

// TestQEMUPlaysFilmOnTV plays an ffmpeg-made H.264/AAC film on an emulated box's TV, driven by
// the remote (sendkey) alone: the box fetches the free title (wished over D-Bus), OK on the
// catalog, on the title, on "Get it — free", then on Play. mpv (the image's player) draws on the
// virtio-gpu screen through DRM/KMS and plays the sound on the emulated HDA card, which QEMU
// writes to a WAV file.
//
// The picture check is PSNR ≥ 25 dB between the screen dump's video area and the source frame
// at the position the overlay reports: the overlay gives whole seconds and is read after the dump
// (the player runs on meanwhile under TCG), so the frames of the window [p−2 s, p+1.5 s] that
// ffmpeg decodes from the source are compared and the best one must match; a console, a black
// or a wrongly scaled picture stays far below. The tone's dominant frequency in the captured WAV
// is within 2% of 1 kHz; paused, FF moves the position by its documented 30 s (±1 s, the film has
// a key frame each second); Stop brings back the console with the title's page. The times from OK
// to the first frame and the frames dropped go to play.txt among the artifacts.
func TestQEMUPlaysFilmOnTV(t *testing.T) {
	img := boxImage(t)
	film := makeFilm(t)
	// The URLs the head-end hands out (tracker, web seed) are the guest's way to the host's
	// loopback.
	hostPort := freePort(t, "127.0.0.1")
	c := startCloud(t, "-listen", hostPort, "-public-url", "http://10.0.2.2:"+hostPort[strings.LastIndex(hostPort, ":")+1:])
	id, _ := c.ingest(t, film, "Test Card Film", "video", "-price", "0")
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "household-p1")
	wav := filepath.Join(t.ArtifactDir(), "tv-audio.wav")
	g := bootGuest(t, emulator.Config{
		ImageDir: img, Disk: guestDisk(t, img), DBusTCP: true, DebugShell: true, AudioWAV: wav, MemoryMB: 1024,
		Append: []string{"swarmbox.headend=" + guestHeadend(t, c), "swarmbox.enroll=" + c.enroll(t, "household-p1")},
	})
	waitSerial(t, g, 120*time.Second, `msg="box up"`)
	waitSerial(t, g, 120*time.Second, `msg="head-end reached"`)
	conn := guestBus(t, g, 30*time.Second)
	waitStatus(t, conn, 30*time.Second)
	box := conn.Object(boxbus.Name, boxbus.Path)
	if err := box.Call(boxbus.Interface+".SetWishlist", 0, []string{id}).Err; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the box to hold the whole film", 3*time.Minute, func() bool {
		st, err := callStatus(conn)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range st.Items {
			if it.ID == id && it.Complete {
				return true
			}
		}
		return false
	})
	key := func(k string) {
		t.Helper()
		if err := g.SendKey(k); err != nil {
			t.Fatal(err)
		}
	}
	// see waits until the TV's text shows every one of want, and returns the text.
	see := func(step string, timeout time.Duration, want ...string) string {
		t.Helper()
		var text string
		deadline := time.Now().Add(timeout)
		for {
			text = tvText(t, g)
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(text, w)
			}
			if ok {
				return text
			}
			if time.Now().After(deadline) {
				g.Screendump(filepath.Join(t.ArtifactDir(), step+"-failed.png"))
				t.Fatalf("%s: the TV does not show %q:\n%s", step, want, text)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	see("home", 60*time.Second, "Browse the catalog")
	key("ret")
	see("catalog", 30*time.Second, "Test Card Film")
	key("ret")
	see("title", 30*time.Second, "Get it")
	key("ret")
	// "Play" is first among the choices once the box has the licence (the status line's "Press
	// Play to watch" comes before it).
	waitFor(t, "Play among the title's choices", 30*time.Second, func() bool {
		return playChoice.MatchString(asciiWords(tvText(t, g)))
	})
	time.Sleep(time.Second) // the focus moves to Play as the box's state arrives
	page := screen(t, g, "1-title.png")
	rect := videoRect(page.Bounds())

	// OK: the first frame is the first dump whose video area is mostly not the title page.
	key("ret")
	okAt := time.Now()
	var firstFrame time.Duration
	var said []string // what the TV said meanwhile: a failure's sentence stays only seconds
	for {
		shot := screen(t, g, "2-first-frame.png")
		if sameShare(shot, page, rect) < 0.3 {
			firstFrame = time.Since(okAt)
			break
		}
		said = append(said, asciiWords(tvText(t, g)))
		if time.Since(okAt) > 60*time.Second {
			// What the player says when started by hand on the title's stream.
			var url string
			box.Call(boxbus.MethodPlay, 0, id).Store(&url)
			diag, _ := g.Shell(t.Context(), audioDiag+"; time mpv --no-config --version >/dev/null; mpv --no-config --vo=drm --ao=null --osd-level=0 --frames=50 --msg-level=all=v "+url+" 2>&1 | tr '\\r' '\\n' | grep -v KV: | tail -30")
			t.Fatalf("no picture 60 s after OK on Play; the TV said:\n%s\nmpv %s by hand:\n%s", strings.Join(slices.Compact(said), "\n"), url, diag)
		}
	}
	// mpv was given the box's loopback playback URL, nothing else.
	cmdline, err := g.Shell(t.Context(), "tr '\\0' ' ' </proc/$(pidof mpv)/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(cmdline); len(f) == 0 || !strings.HasPrefix(f[len(f)-1], "http://127.0.0.1:") {
		t.Errorf("mpv does not play the box's loopback URL: %q", cmdline)
	}

	// The picture, a few seconds in, between two readings of the overlay's position: reading
	// the console takes seconds on a loaded machine, so the frame on the screen is sought
	// between the two, a second either side.
	time.Sleep(4 * time.Second)
	first, ok := overlayPosition(see("playing", 10*time.Second, "Playing"))
	if !ok {
		t.Fatal("the overlay shows no position")
	}
	shot := screen(t, g, "3-playing.png")
	pcmStatus, _ := g.Shell(t.Context(), "cat /proc/asound/card0/pcm0p/sub0/status /proc/asound/card0/pcm0p/sub0/hw_params; ls -l /proc/$(pidof mpv)/fd | grep snd")
	text := see("playing", 10*time.Second, "Playing")
	pos, ok := overlayPosition(text)
	if !ok {
		t.Fatalf("the overlay shows no position:\n%s", text)
	}
	frames, times := sourceFrames(t, film, float64(first)-1, float64(pos-first)+2.5, rect.Dx(), rect.Dy())
	best, bestAt := math.Inf(-1), 0.0
	for i, f := range frames {
		if p := psnr(shot, rect, f); p > best {
			best, bestAt = p, times[i]
		}
	}
	t.Logf("screen at overlay position %d s: best PSNR %.1f dB against the source frame at %.2f s", pos, best, bestAt)
	if best < 25 {
		t.Errorf("the screen during playback does not match the film: best PSNR %.1f dB (frames %.1f–%.1f s), want ≥ 25", best, times[0], times[len(times)-1])
	}

	// Paused, FF moves the position by its step.
	key("spc")
	see("paused", 20*time.Second, "Paused")
	time.Sleep(1500 * time.Millisecond) // the overlay's position settles
	before, _ := overlayPosition(tvText(t, g))
	key("f")
	var after int
	waitFor(t, "the position to move after FF", 30*time.Second, func() bool {
		after, _ = overlayPosition(tvText(t, g))
		return after != before
	})
	time.Sleep(1500 * time.Millisecond)
	after, _ = overlayPosition(tvText(t, g))
	if d := after - before; d < ffStep-1 || d > ffStep+1 {
		t.Errorf("FF moved the position from %d s to %d s: %d s, want %d ± 1", before, after, d, ffStep)
	}
	dropped := 0
	if m := regexp.MustCompile(`(\d+) frames dropped`).FindStringSubmatch(tvText(t, g)); m != nil {
		dropped, _ = strconv.Atoi(m[1])
	}
	played := time.Since(okAt)

	// Stop: the console comes back with the title's page.
	key("s")
	text = see("stopped", 30*time.Second, "Test Card Film", "Resume from")
	if strings.Contains(asciiWords(text), "could not note where you stopped") {
		t.Errorf("the box could not keep the resume point: %s", asciiWords(text))
	}
	time.Sleep(time.Second)
	back := screen(t, g, "4-stopped.png")
	if s := sameShare(back, page, rect); s < 0.7 {
		t.Errorf("after Stop only %.0f%% of the screen is the title's page as before playing: the console did not come back", 100*s)
	}

	// The sound: QEMU completes the WAV file as it quits.
	g.Stop()
	samples, rate, err := readWAV(wav)
	if err != nil {
		t.Fatal(err)
	}
	sec, rms := loudest(samples, rate)
	f := dominant(sec, rate)
	t.Logf("captured %0.1f s of sound at %d Hz: loudest second rms %.3f, dominant %g Hz", float64(len(samples))/float64(max(rate, 1)), rate, rms, f)
	if rms < 0.01 || math.Abs(f-toneHz) > 0.02*toneHz {
		t.Logf("the sound card during playback:\n%s", pcmStatus)
		t.Errorf("the TV's sound: dominant frequency %g Hz (rms %.3f), want %g Hz ± 2%%", f, rms, toneHz)
	}
	report := fmt.Sprintf("OK on Play to the first frame on the screen (dumps polled): %s\nframes dropped by the player over %s of playback (overlay): %d\nPSNR of the screen against the source at the overlay's position: %.1f dB\n",
		firstFrame.Round(10*time.Millisecond), played.Round(time.Second), dropped, best)
	t.Log("\n" + report)
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "play.txt"), []byte(report), 0o644); err != nil {
		t.Error(err)
	}
}
