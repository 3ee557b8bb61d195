package player

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeMPVEnv makes the test binary play mpv: "ok" answers the JSON IPC like mpv, "fail" exits
// with an error at once, "hang" opens the socket and then never answers nor quits.
const fakeMPVEnv = "SWARMBOX_FAKE_MPV"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeMPVEnv); mode != "" {
		fakeMPV(mode, os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

// fakeMPV speaks enough of mpv's IPC for StartMPV: time-pos, duration, pause, cycle, seek, quit.
func fakeMPV(mode string, args []string) {
	if mode == "fail" {
		os.Exit(2)
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
		os.Exit(3)
	}
	c, err := l.Accept()
	if err != nil {
		os.Exit(3)
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
		json.Unmarshal(sc.Bytes(), &req)
		var data any
		switch req.Command[0] {
		case "get_property":
			data = map[string]any{"time-pos": pos, "duration": 600.0, "pause": paused}[req.Command[1].(string)]
		case "cycle":
			paused = !paused
		case "seek":
			pos += req.Command[1].(float64)
		case "quit":
			os.Exit(0)
		}
		// An event line first, as mpv sends them unasked: the client must skip it.
		b, _ := json.Marshal(map[string]any{"data": data, "error": "success", "request_id": req.RequestID})
		c.Write([]byte(`{"event":"property-change"}` + "\n" + string(b) + "\n"))
	}
}

func startFake(t *testing.T, mode string) (*MPV, error) {
	t.Setenv(fakeMPVEnv, mode)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return StartMPV(ctx, bin, "http://127.0.0.1:1/play/x", 12)
}

func TestMPVStartSeekPauseStop(t *testing.T) {
	m, err := startFake(t, "ok")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		do   func() error
		want Status
	}{
		{func() error { return nil }, Status{Position: 12, Duration: 600}},
		{func() error { return m.Seek(ctx, 30) }, Status{Position: 42, Duration: 600}},
		{func() error { return m.Seek(ctx, -10) }, Status{Position: 32, Duration: 600}},
		{func() error { return m.TogglePause(ctx) }, Status{Position: 32, Duration: 600, Paused: true}},
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
		t.Errorf("after Stop: %+v, %v; want ended", got, err)
	}
	if _, err := os.Stat(m.dir); !os.IsNotExist(err) {
		t.Errorf("the socket directory is left behind: %v", err)
	}
}

func TestMPVThatFailsAtOnce(t *testing.T) {
	_, err := startFake(t, "fail")
	if err == nil || !strings.Contains(err.Error(), "exited before it played") {
		t.Fatalf("a player exiting with an error: %v", err)
	}
}

func TestMPVThatHangsIsKilled(t *testing.T) {
	quitWait = 200 * time.Millisecond
	t.Cleanup(func() { quitWait = 3 * time.Second })
	m, err := startFake(t, "hang")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := m.Status(ctx); err == nil {
		t.Error("a hung player answered")
	}
	t0 := time.Now()
	m.Stop()
	if !m.ended() {
		t.Fatal("the hung player still runs after Stop")
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("stopping a hung player took %v", d)
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
