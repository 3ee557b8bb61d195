package player

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary plays mpv when fakeMPVEnv names a mode (TestMain), writing its process id to
// the file fakePIDEnv names. Modes:
//
//	ok        answers the JSON IPC like mpv: get_property, cycle, seek, quit
//	fail      exits with status 2 at once (mpv's "could not play the file")
//	nosocket  never opens its control socket
//	hang      opens the socket, takes the connection, and never answers nor quits
//	crash     answers like ok, and exits with status 3 on a seek, before answering it
//	noquit    answers like ok, quit included, and goes on running
const (
	fakeMPVEnv = "SWARMBOX_FAKE_MPV"
	fakePIDEnv = "SWARMBOX_FAKE_MPV_PID"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeMPVEnv); mode != "" {
		fakeMPV(mode, os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

func fakeMPV(mode string, args []string) {
	if p := os.Getenv(fakePIDEnv); p != "" {
		os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())), 0o600)
	}
	switch mode {
	case "fail":
		os.Exit(2)
	case "nosocket":
		select {}
	}
	var sock string
	pos := 0.0
	for _, a := range args {
		if s, ok := strings.CutPrefix(a, "--input-ipc-server="); ok {
			sock = s
		}
		if s, ok := strings.CutPrefix(a, "--start=+"); ok {
			json.Unmarshal([]byte(s), &pos)
		}
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.Exit(9)
	}
	c, err := l.Accept()
	if err != nil {
		os.Exit(9)
	}
	if mode == "hang" {
		select {}
	}
	paused := false
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		var req struct {
			Command   []any `json:"command"`
			RequestID int   `json:"request_id"`
		}
		if json.Unmarshal(sc.Bytes(), &req) != nil || len(req.Command) == 0 {
			continue
		}
		var data any
		switch req.Command[0] {
		case "get_property":
			data = map[string]any{"time-pos": pos, "duration": 600.0, "pause": paused, "frame-drop-count": 3.0, "decoder-frame-drop-count": 2.0}[req.Command[1].(string)]
		case "cycle":
			paused = !paused
		case "seek":
			if mode == "crash" {
				os.Exit(3)
			}
			pos += req.Command[1].(float64)
		}
		// An event line first, as mpv sends them unasked: the client must skip it.
		b, _ := json.Marshal(map[string]any{"data": data, "error": "success", "request_id": req.RequestID})
		c.Write([]byte(`{"event":"property-change"}` + "\n" + string(b) + "\n"))
		if req.Command[0] == "quit" && mode != "noquit" {
			os.Exit(0)
		}
	}
	select {} // the client went away; mpv would play on
}

// startFake starts the fake player in mode and returns the driver and a way to ask whether the
// fake's process still exists.
func startFake(t *testing.T, mode string) (*MPV, func() bool, error) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv(fakeMPVEnv, mode)
	t.Setenv(fakePIDEnv, pidFile)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	alive := func() bool {
		b, err := os.ReadFile(pidFile)
		if errors.Is(err, os.ErrNotExist) && mode == "nosocket" {
			return false // killed before it wrote its pid; StartMPV waited for its end
		}
		if err != nil {
			t.Fatalf("the fake player never ran: %v", err)
		}
		pid, _ := strconv.Atoi(string(b))
		return syscall.Kill(pid, 0) == nil // reaped by the driver's Wait once it has exited
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := StartMPV(ctx, bin, "http://127.0.0.1:1/play/x", 12)
	if m != nil {
		t.Cleanup(func() { m.Stop() })
	}
	return m, alive, err
}

// shortWaits makes the driver's bounds short for one test: long enough for a loaded machine to
// start the fake and have it answer, short enough for a quick test.
func shortWaits(t *testing.T, mode string) {
	s, h, q := socketWait, hangAfter, quitWait
	hangAfter, quitWait = time.Second, time.Second
	if mode == "nosocket" { // the only test that waits the socket out
		socketWait = time.Second
	}
	t.Cleanup(func() { socketWait, hangAfter, quitWait = s, h, q })
}

// TestMPVStartSeekPauseStop drives a well-behaved player: it starts where asked, seeks both
// ways, pauses, reports the frames it dropped (display and decoder together), and quits when
// stopped, leaving no socket behind (PLAY-4).
func TestMPVStartSeekPauseStop(t *testing.T) {
	m, alive, err := startFake(t, "ok")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		do   func() error
		want Status
	}{
		{func() error { return nil }, Status{Position: 12, Duration: 600, Dropped: 5}},
		{func() error { return m.Seek(ctx, 30) }, Status{Position: 42, Duration: 600, Dropped: 5}},
		{func() error { return m.Seek(ctx, -10) }, Status{Position: 32, Duration: 600, Dropped: 5}},
		{func() error { return m.TogglePause(ctx) }, Status{Position: 32, Duration: 600, Paused: true, Dropped: 5}},
		{func() error { return m.TogglePause(ctx) }, Status{Position: 32, Duration: 600, Dropped: 5}},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got, err := m.Status(ctx); err != nil || got != s.want {
			t.Fatalf("step %d: status %+v, %v; want %+v", i, got, err, s.want)
		}
	}
	if err := m.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if got, err := m.Status(ctx); err != nil || !got.Ended {
		t.Errorf("after Stop: %+v, %v; want ended without an error", got, err)
	}
	if alive() {
		t.Error("the player still runs after Stop")
	}
	if _, err := os.Stat(m.dir); !os.IsNotExist(err) {
		t.Errorf("the socket directory is left behind: %v", err)
	}
}

// TestMPVFailures: a player that fails, at start or mid-play, or that hangs — not answering its
// socket, not opening it, not quitting — is gone afterwards (killed when it had to be), and the
// caller is told why in a sentence the TV shows as it is (PLAY-4).
func TestMPVFailures(t *testing.T) {
	tests := []struct {
		mode string
		// run drives the player after a successful start and returns the error it ended with.
		run      func(t *testing.T, m *MPV) error
		startErr error // the error StartMPV fails with, when it should
		want     error
		words    string // in the message
	}{
		{mode: "fail", startErr: ErrPlayerFailed, want: ErrPlayerFailed, words: "before it played (exit status 2: it could not play the title's stream)"},
		{mode: "nosocket", startErr: ErrPlayerHung, want: ErrPlayerHung, words: "did not open its control socket"},
		{mode: "crash", want: ErrPlayerFailed, words: "exit status 3", run: func(t *testing.T, m *MPV) error {
			if err := m.Seek(context.Background(), 30); !errors.Is(err, ErrPlayerFailed) {
				t.Errorf("a seek the player died on: %v, want ErrPlayerFailed", err)
			}
			st, err := m.Status(context.Background())
			if !st.Ended || !errors.Is(err, ErrPlayerFailed) {
				t.Errorf("status after the player died: %+v, %v; want ended with ErrPlayerFailed", st, err)
			}
			return m.Stop()
		}},
		{mode: "hang", want: ErrPlayerHung, words: "no answer for", run: func(t *testing.T, m *MPV) error {
			// Polled as the TV does, each call with a deadline shorter than hangAfter: the
			// silence adds up over calls until the player is killed.
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				st, err := m.Status(ctx)
				cancel()
				if errors.Is(err, ErrPlayerHung) {
					if !st.Ended {
						t.Errorf("a killed player's status: %+v, want ended", st)
					}
					return m.Stop()
				}
				if err == nil {
					t.Fatalf("a hung player answered: %+v", st)
				}
			}
			t.Fatal("a player that never answers was not given up on")
			return nil
		}},
		{mode: "noquit", want: ErrPlayerHung, words: "did not quit", run: func(t *testing.T, m *MPV) error {
			if _, err := m.Status(context.Background()); err != nil {
				t.Fatalf("status: %v", err)
			}
			return m.Stop()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			shortWaits(t, tc.mode)
			m, alive, err := startFake(t, tc.mode)
			if !errors.Is(err, tc.startErr) {
				t.Fatalf("start: %v, want %v", err, tc.startErr)
			}
			if err == nil {
				err = tc.run(t, m)
			}
			if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "the player ") || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("ended with %q; want %v saying %q", err, tc.want, tc.words)
			}
			if alive() {
				t.Fatal("the player process still runs")
			}
		})
	}
}

func TestStartMPVNotInstalled(t *testing.T) {
	if _, err := StartMPV(context.Background(), "no-such-player-here", "http://x", 0); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("a missing player: %v", err)
	}
	if _, err := StartMPV(context.Background(), "  ", "http://x", 0); err == nil {
		t.Error("an empty command was accepted")
	}
}
