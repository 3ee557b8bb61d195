package player

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Status is where playback stands, as the external player tells it.
type Status struct {
	Position, Duration float64 // seconds; Duration 0 while unknown
	Paused             bool
	// Buffering says the player waits for data before it can go on (mpv's paused-for-cache).
	Buffering bool
	Ended     bool // the player has exited: the end of the title, or it was closed
}

// MPV drives an mpv process through its JSON IPC socket (mpv's --input-ipc-server), so the
// remote's Play/Pause, FF/RW and Stop reach the player while the TV shows the position.
type MPV struct {
	cmd  *exec.Cmd
	bin  string
	dir  string
	done chan struct{}

	mu   sync.Mutex
	conn net.Conn
	rd   *bufio.Reader
	next int
}

// How long the player has to open its control socket, and to quit when asked before it is
// killed (variables for the tests).
var (
	socketWait = 10 * time.Second
	quitWait   = 3 * time.Second
)

// StartMPV starts command (an mpv command line, e.g. "mpv --vo=drm") on url, from second from,
// and waits (until ctx ends, at most 10 s) for its control socket.
func StartMPV(ctx context.Context, command, url string, from float64) (*MPV, error) {
	args := strings.Fields(command)
	if len(args) == 0 {
		return nil, errors.New("no player command")
	}
	bin, err := exec.LookPath(args[0])
	if err != nil {
		return nil, fmt.Errorf("player %q is not installed (apt-get install mpv): %w", args[0], err)
	}
	dir, err := os.MkdirTemp("", "swarmbox-mpv-")
	if err != nil {
		return nil, fmt.Errorf("player socket directory: %w", err)
	}
	sock := filepath.Join(dir, "ipc")
	args = append(args[1:], "--input-ipc-server="+sock, "--no-terminal", "--really-quiet", fmt.Sprintf("--start=+%.1f", from), url)
	m := &MPV{cmd: exec.Command(bin, args...), bin: bin, dir: dir, done: make(chan struct{})}
	if err := m.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { m.cmd.Wait(); close(m.done) }()
	ctx, cancel := context.WithTimeout(ctx, socketWait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			m.conn, m.rd = c, bufio.NewReader(c)
			return m, nil
		}
		select {
		case <-m.done:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%s exited before it played: %v", bin, m.cmd.ProcessState)
		case <-ctx.Done():
			m.Stop()
			return nil, fmt.Errorf("%s did not open its control socket: %w", bin, err)
		case <-tick.C:
		}
	}
}

// call sends one IPC command and returns its data; ctx's deadline (2 s when it has none) bounds
// the exchange, so a hung player costs the caller a deadline, never a hang.
func (m *MPV) call(ctx context.Context, cmd ...any) (json.RawMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	req, err := json.Marshal(map[string]any{"command": cmd, "request_id": m.next})
	if err != nil {
		return nil, fmt.Errorf("mpv %v: %w", cmd[0], err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(2 * time.Second)
	}
	m.conn.SetDeadline(deadline)
	if _, err := m.conn.Write(append(req, '\n')); err != nil {
		return nil, fmt.Errorf("mpv %v: %w", cmd[0], err)
	}
	for {
		line, err := m.rd.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("mpv %v: %w", cmd[0], err)
		}
		var resp struct {
			Data      json.RawMessage `json:"data"`
			Error     string          `json:"error"`
			RequestID int             `json:"request_id"`
			Event     string          `json:"event"`
		}
		if json.Unmarshal(line, &resp) != nil || resp.Event != "" || resp.RequestID != m.next {
			continue // events and stray lines
		}
		if resp.Error != "success" {
			return nil, fmt.Errorf("mpv %v: %s", cmd[0], resp.Error)
		}
		return resp.Data, nil
	}
}

func (m *MPV) ended() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// TogglePause pauses or resumes.
func (m *MPV) TogglePause(ctx context.Context) error {
	_, err := m.call(ctx, "cycle", "pause")
	return err
}

// Seek moves by delta seconds.
func (m *MPV) Seek(ctx context.Context, delta float64) error {
	_, err := m.call(ctx, "seek", delta, "relative")
	return err
}

// Status reads position, duration and pause state.
func (m *MPV) Status(ctx context.Context) (Status, error) {
	if m.ended() {
		return Status{Ended: true}, nil
	}
	var st Status
	num := func(prop string) float64 {
		var f float64
		if b, err := m.call(ctx, "get_property", prop); err == nil {
			json.Unmarshal(b, &f)
		}
		return f
	}
	st.Position, st.Duration = num("time-pos"), num("duration")
	b, err := m.call(ctx, "get_property", "pause")
	if err != nil {
		if m.ended() {
			return Status{Ended: true}, nil
		}
		return st, err
	}
	json.Unmarshal(b, &st.Paused)
	if b, err := m.call(ctx, "get_property", "paused-for-cache"); err == nil {
		json.Unmarshal(b, &st.Buffering)
	}
	return st, nil
}

// Stop asks the player to quit, kills it when it has not within 3 s, and removes its socket.
// It returns the player's exit error when it failed on its own before.
func (m *MPV) Stop() error {
	if m.conn != nil && !m.ended() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		m.call(ctx, "quit")
		cancel()
	}
	if m.conn != nil {
		m.conn.Close()
	}
	select {
	case <-m.done:
	case <-time.After(quitWait):
		m.cmd.Process.Kill()
		<-m.done
	}
	os.RemoveAll(m.dir)
	if st := m.cmd.ProcessState; st != nil && !st.Success() && st.ExitCode() > 0 {
		return fmt.Errorf("%s exited: %v", m.bin, st)
	}
	return nil
}
