package ui

import (
	"bufio"
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

// PlayStatus is where playback stands, as the external player tells it.
type PlayStatus struct {
	Position, Duration float64 // seconds; Duration 0 while unknown
	Paused             bool
	Ended              bool // the player has exited: the end of the title, or it was closed
}

// mpv drives an mpv process through its JSON IPC socket (mpv's --input-ipc-server), so the
// remote's Play/Pause, FF/RW and Stop reach the player while the UI shows the position.
type mpv struct {
	cmd  *exec.Cmd
	dir  string
	done chan struct{}

	mu   sync.Mutex
	conn net.Conn
	rd   *bufio.Reader
	next int
}

// startMPV starts command (an mpv command line, e.g. "mpv --vo=drm") on url, from second from.
func startMPV(command, url string, from float64) (*mpv, error) {
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
		return nil, err
	}
	sock := filepath.Join(dir, "ipc")
	args = append(args[1:], "--input-ipc-server="+sock, "--no-terminal", "--really-quiet", fmt.Sprintf("--start=+%.1f", from), url)
	m := &mpv{cmd: exec.Command(bin, args...), dir: dir, done: make(chan struct{})}
	if err := m.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { m.cmd.Wait(); close(m.done) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial("unix", sock)
		if err == nil {
			m.conn, m.rd = c, bufio.NewReader(c)
			return m, nil
		}
		select {
		case <-m.done:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%s exited before it played: %v", bin, m.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			m.Close()
			return nil, fmt.Errorf("%s did not open its control socket: %w", bin, err)
		}
	}
}

// call sends one IPC command and returns its data.
func (m *mpv) call(cmd ...any) (json.RawMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	req, _ := json.Marshal(map[string]any{"command": cmd, "request_id": m.next})
	m.conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := m.conn.Write(append(req, '\n')); err != nil {
		return nil, err
	}
	for {
		line, err := m.rd.ReadBytes('\n')
		if err != nil {
			return nil, err
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

func (m *mpv) ended() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// TogglePause pauses or resumes.
func (m *mpv) TogglePause() error { _, err := m.call("cycle", "pause"); return err }

// Seek moves by delta seconds.
func (m *mpv) Seek(delta float64) error { _, err := m.call("seek", delta, "relative"); return err }

// Status reads position, duration and pause state.
func (m *mpv) Status() (PlayStatus, error) {
	if m.ended() {
		return PlayStatus{Ended: true}, nil
	}
	var st PlayStatus
	num := func(prop string) float64 {
		var f float64
		if b, err := m.call("get_property", prop); err == nil {
			json.Unmarshal(b, &f)
		}
		return f
	}
	st.Position, st.Duration = num("time-pos"), num("duration")
	b, err := m.call("get_property", "pause")
	if err != nil {
		if m.ended() {
			return PlayStatus{Ended: true}, nil
		}
		return st, err
	}
	json.Unmarshal(b, &st.Paused)
	return st, nil
}

// Close stops the player.
func (m *mpv) Close() error {
	if m.conn != nil {
		m.call("quit")
		m.conn.Close()
	}
	select {
	case <-m.done:
	case <-time.After(3 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	return os.RemoveAll(m.dir)
}
