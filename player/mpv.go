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
	"sync/atomic"
	"time"
)

// Status is where playback stands, as the external player tells it.
type Status struct {
	Position, Duration float64 // seconds; Duration 0 while unknown
	Paused             bool
	// Buffering says the player waits for data before it can go on (mpv's paused-for-cache).
	Buffering bool
	Ended     bool // the player has exited: the end of the title, or it was closed
	// Dropped is how many frames the player has dropped so far: shown late by the display or
	// skipped by the decoder to keep up (mpv's frame-drop-count and decoder-frame-drop-count).
	Dropped int
}

// Why the external player went away, besides the end of the title. Their texts are sentences
// the TV can show as they are; the wrapping error adds the detail (PLAY-4).
var (
	ErrPlayerFailed = errors.New("the player stopped with an error")
	ErrPlayerHung   = errors.New("the player stopped answering and was closed")
)

// MPV drives an mpv process through its JSON IPC socket (mpv's --input-ipc-server), so the
// remote's Play/Pause, FF/RW and Stop reach the player while the TV shows the position.
// A player that exits with an error, or stops answering, is reported with ErrPlayerFailed or
// ErrPlayerHung; a hung one is killed, so it never holds the screen (PLAY-4).
type MPV struct {
	cmd  *exec.Cmd
	bin  string
	dir  string
	done chan struct{} // closed when the process has exited and cmd.ProcessState is set

	stopping atomic.Bool            // Stop asked it to quit: an exit then is no failure
	killed   atomic.Pointer[string] // why the driver killed it, as hung

	mu     sync.Mutex // one IPC exchange at a time
	conn   net.Conn
	rd     *bufio.Reader
	next   int
	silent time.Time // when the oldest request still unanswered was sent; zero when it answers
}

// How long the player has to open its control socket, to answer before it counts as hung and is
// killed, and to quit when asked before it is killed (variables for the tests).
var (
	// mpv links ~200 libraries on the box's image; under QEMU's emulation on a busy host, loading
	// them took over 10 s (TestQEMUPlaysFilmOnTV), so a slow start is not taken for a hang.
	socketWait = 30 * time.Second
	hangAfter  = 5 * time.Second
	quitWait   = 3 * time.Second
)

// StartMPV starts command (an mpv command line, e.g. "mpv --vo=drm") on url, from second from,
// and waits (until ctx ends, at most 30 s) for its control socket. A player that exits first
// fails with ErrPlayerFailed; one that never opens its socket is killed (ErrPlayerHung).
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
	wctx, cancel := context.WithTimeout(ctx, socketWait)
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
			return nil, fmt.Errorf("%w before it played (%s%s)", ErrPlayerFailed, m.cmd.ProcessState, exitHint(m.cmd.ProcessState.ExitCode()))
		case <-wctx.Done():
			if ctx.Err() != nil { // the caller gave up, e.g. Stop pressed while starting
				m.Stop()
				return nil, fmt.Errorf("starting the player: %w", ctx.Err())
			}
			m.kill(fmt.Sprintf("it did not open its control socket within %s", socketWait))
			return nil, m.Stop()
		case <-tick.C:
		}
	}
}

// exitHint says what mpv's documented exit codes mean, for the error a household reads.
func exitHint(code int) string {
	switch code {
	case 1:
		return ": it could not start; check the box's player command"
	case 2:
		return ": it could not play the title's stream"
	}
	return ""
}

// kill ends a player that does not answer or does not quit; why says so for the error.
func (m *MPV) kill(why string) {
	if !m.ended() {
		m.killed.CompareAndSwap(nil, &why)
		m.cmd.Process.Kill()
	}
}

// exitErr is why the exited player went away: nil for the end of the title or a Stop it obeyed.
// Only call it once m.done is closed.
func (m *MPV) exitErr() error {
	st := m.cmd.ProcessState
	switch why := m.killed.Load(); {
	case why != nil:
		return fmt.Errorf("%w (%s)", ErrPlayerHung, *why)
	case st.Success():
		return nil
	case m.stopping.Load() && st.ExitCode() < 0:
		return nil // a signal while it was being stopped
	}
	return fmt.Errorf("%w (%s%s)", ErrPlayerFailed, st, exitHint(st.ExitCode()))
}

// call sends one IPC command and returns its data. ctx's deadline (2 s when it has none) bounds
// the exchange; a player silent for hangAfter over one call or several is killed and the call
// fails with ErrPlayerHung, so a hung player costs the caller a deadline, never a hang.
func (m *MPV) call(ctx context.Context, cmd ...any) (json.RawMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended() {
		if err := m.exitErr(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("mpv %v: the player has exited", cmd[0])
	}
	m.next++
	req, err := json.Marshal(map[string]any{"command": cmd, "request_id": m.next})
	if err != nil {
		return nil, fmt.Errorf("mpv %v: %w", cmd[0], err)
	}
	sent := time.Now()
	silentFrom := m.silent
	if silentFrom.IsZero() {
		silentFrom = sent
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = sent.Add(2 * time.Second)
	}
	if d := silentFrom.Add(hangAfter); d.Before(deadline) {
		deadline = d
	}
	m.conn.SetDeadline(deadline)
	if _, err := m.conn.Write(append(req, '\n')); err != nil {
		return nil, m.failed(cmd[0], silentFrom, err)
	}
	for {
		line, err := m.rd.ReadBytes('\n')
		if err != nil {
			return nil, m.failed(cmd[0], silentFrom, err)
		}
		m.silent = time.Time{}
		var resp struct {
			Data      json.RawMessage `json:"data"`
			Error     string          `json:"error"`
			RequestID int             `json:"request_id"`
			Event     string          `json:"event"`
		}
		if json.Unmarshal(line, &resp) != nil || resp.Event != "" || resp.RequestID != m.next {
			continue // events, stray lines, and late answers to requests that timed out
		}
		if resp.Error != "success" {
			return nil, fmt.Errorf("mpv %v: %s", cmd[0], resp.Error)
		}
		return resp.Data, nil
	}
}

// failed makes the error of an exchange that broke off: the player exited (its exit's error),
// or has been silent since silentFrom (killed once that is hangAfter ago).
func (m *MPV) failed(what any, silentFrom time.Time, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		m.silent = silentFrom
		if time.Since(silentFrom) >= hangAfter {
			m.kill(fmt.Sprintf("no answer for %s", hangAfter))
			<-m.done
			return m.exitErr()
		}
		return fmt.Errorf("mpv %v: no answer yet: %w", what, err)
	}
	// The socket closed: the player is exiting, or about to.
	select {
	case <-m.done:
		if err := m.exitErr(); err != nil {
			return err
		}
	case <-time.After(time.Second):
	}
	return fmt.Errorf("mpv %v: %w", what, err)
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

// Status reads position, duration and pause state. Once the player has exited it is Ended,
// with ErrPlayerFailed or ErrPlayerHung when that was no normal end.
func (m *MPV) Status(ctx context.Context) (Status, error) {
	if m.ended() {
		return Status{Ended: true}, m.exitErr()
	}
	var st Status
	num := func(prop string) float64 {
		var f float64
		if b, err := m.call(ctx, "get_property", prop); err == nil {
			json.Unmarshal(b, &f)
		}
		return f // unavailable until the stream is open
	}
	st.Position, st.Duration = num("time-pos"), num("duration")
	st.Dropped = int(num("frame-drop-count") + num("decoder-frame-drop-count"))
	b, err := m.call(ctx, "get_property", "pause")
	if err != nil {
		if m.ended() {
			return Status{Ended: true}, m.exitErr()
		}
		return st, err
	}
	json.Unmarshal(b, &st.Paused)
	if b, err := m.call(ctx, "get_property", "paused-for-cache"); err == nil {
		json.Unmarshal(b, &st.Buffering)
	}
	return st, nil
}

// Stop asks the player to quit, kills it when it has not within quitWait, and removes its
// socket. It returns ErrPlayerHung when the player had to be killed, and ErrPlayerFailed when it
// had failed on its own before.
func (m *MPV) Stop() error {
	m.stopping.Store(true)
	if m.conn != nil && !m.ended() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		m.call(ctx, "quit")
		cancel()
	}
	m.mu.Lock()
	if m.conn != nil {
		m.conn.Close()
	}
	m.mu.Unlock()
	select {
	case <-m.done:
	case <-time.After(quitWait):
		m.kill(fmt.Sprintf("it did not quit within %s of being asked", quitWait))
		<-m.done
	}
	os.RemoveAll(m.dir)
	return m.exitErr()
}
