package firmware

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

// SocketPath is where the daemon serves its API to the box's own tools (the swarmboxd
// subcommands, busctl --address): DIR/api.sock, peer-to-peer D-Bus with no bus daemon.
func SocketPath(dir string) string { return filepath.Join(dir, "api.sock") }

// Socket serves the API on a unix socket, the same object, methods, signals and properties as
// on the bus, to root and the daemon's own user only.
type Socket struct {
	ln   *net.UnixListener
	path string
	api  *API
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// ServeSocket listens on path. A socket file left by a daemon that died is replaced; one a live
// daemon answers on is not.
func ServeSocket(ctx context.Context, path string, api *API) (*Socket, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s is in the way of the API socket and is not a socket: move it out of the state folder", path)
		}
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := d.DialContext(dctx, "unix", path)
		cancel()
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("another swarmboxd answers on %s: stop it first, or give this one another -dir", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove the stale API socket %s: %w", path, err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("serve the API on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict the API socket %s: %w", path, err)
	}
	s := &Socket{ln: ln, path: path, api: api, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops listening, ends every connection and removes the socket file.
func (s *Socket) Close() error {
	err := s.ln.Close() // removes the file too
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Socket) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// serve answers one client until it hangs up.
func (s *Socket) serve(c *net.UnixConn) {
	defer c.Close()
	uid, err := peerUID(c)
	if err != nil || (uid != 0 && uid != os.Getuid()) {
		return
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	in := bufio.NewReader(c)
	if err := handshake(in, c); err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	conn, err := dbus.NewConn(&scripted{script: []byte("REJECTED EXTERNAL\r\nOK " + hex.EncodeToString(make([]byte, 16)) + "\r\n"), in: in, c: c})
	if err != nil {
		return
	}
	defer conn.Close()
	// Export before the connection reads its first message, which may already be waiting.
	svc, err := exportAPI(conn, s.api)
	if err != nil {
		return
	}
	defer svc.Close()
	// busctl says Hello as on a bus; the unique name means nothing here.
	conn.ExportMethodTable(map[string]any{"Hello": func() (string, *dbus.Error) { return ":1.1", nil }},
		"/org/freedesktop/DBus", "org.freedesktop.DBus")
	if err := start(conn); err != nil {
		return
	}
	<-conn.Context().Done()
}

// peerUID is the user on the other end of c (SO_PEERCRED).
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if cerr != nil {
		return -1, cerr
	}
	return int(cred.Uid), nil
}

// handshake is the server's side of D-Bus authentication: EXTERNAL only (the kernel already
// told us who the peer is), no unix fd passing.
func handshake(in *bufio.Reader, out io.Writer) error {
	if b, err := in.ReadByte(); err != nil || b != 0 {
		return errors.New("D-Bus handshake: no leading NUL byte")
	}
	guid := make([]byte, 16)
	rand.Read(guid)
	ok := "OK " + hex.EncodeToString(guid)
	reply := func(s string) error {
		_, err := io.WriteString(out, s+"\r\n")
		return err
	}
	for range 16 {
		line, err := in.ReadString('\n')
		if err != nil {
			return err
		}
		f := bytes.Fields([]byte(line))
		if len(f) == 0 {
			return errors.New("D-Bus handshake: empty line")
		}
		switch cmd := string(f[0]); {
		case cmd == "AUTH" && len(f) >= 2 && string(f[1]) == "EXTERNAL":
			if len(f) == 2 {
				err = reply("DATA") // the client sends its identity (or nothing) next
			} else {
				err = reply(ok)
			}
		case cmd == "DATA":
			err = reply(ok)
		case cmd == "AUTH", cmd == "CANCEL":
			err = reply("REJECTED EXTERNAL")
		case cmd == "BEGIN":
			return nil
		default: // NEGOTIATE_UNIX_FD among others
			err = reply("ERROR")
		}
		if err != nil {
			return err
		}
	}
	return errors.New("D-Bus handshake: too long")
}

// start makes godbus read messages from an authenticated stream: it only does after its own
// (client's) handshake, which gets the answers it expects from a script instead of the peer
// (see scripted).
func start(conn *dbus.Conn) error {
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		return fmt.Errorf("start the D-Bus connection: %w", err)
	}
	return nil
}

// scripted reads the script, then the peer; it swallows writes until godbus's BEGIN.
type scripted struct {
	script []byte
	in     *bufio.Reader
	c      net.Conn

	mu    sync.Mutex
	begun bool
}

func (s *scripted) Read(p []byte) (int, error) {
	s.mu.Lock()
	if len(s.script) > 0 {
		n := copy(p, s.script)
		s.script = s.script[n:]
		s.mu.Unlock()
		return n, nil
	}
	s.mu.Unlock()
	return s.in.Read(p)
}

func (s *scripted) Write(p []byte) (int, error) {
	s.mu.Lock()
	if !s.begun {
		s.begun = bytes.Equal(p, []byte("BEGIN\r\n"))
		s.mu.Unlock()
		return len(p), nil
	}
	s.mu.Unlock()
	return s.c.Write(p)
}

func (s *scripted) Close() error { return s.c.Close() }
