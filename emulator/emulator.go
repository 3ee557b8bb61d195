// Package emulator boots the box's firmware image (`make image`) under qemu-system-aarch64 on
// the `virt` machine: the serial console carries the logs, the TV screen is the virtio-gpu
// framebuffer, the remote is a virtio keyboard driven through the QEMU monitor's `sendkey`, and
// the head-end on the host's loopback is reached through QEMU's user-mode network (guest
// 10.0.2.2). Several guests can share one emulated LAN through a vde_switch.
package emulator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// Files of an image folder (scripts/image's output).
const (
	Kernel = "vmlinuz"
	Initrd = "initrd.img"
	Disk   = "swarmbox-arm64.img"
)

// GuestDBusPort is where a guest booted with DBusTCP listens for D-Bus on its user-mode NIC.
const GuestDBusPort = 7000

// Config is one guest.
type Config struct {
	ImageDir string // vmlinuz and initrd.img
	Disk     string // the disk image to boot; written to, so give each guest its own copy
	// HardDisks are more raw disk images, attached as the guest's second, third… virtio disks
	// (/dev/vdb, …): the box's hard disk.
	HardDisks []string
	Dir       string // where serial.log, the monitor socket and screen dumps go
	MemoryMB  int    // default 512
	// Kernel command line words added after the console settings, e.g. swarmbox.headend=URL.
	Append []string
	// DBusTCP forwards the guest's bus to a loopback port on the host (anonymous auth: only
	// for test images).
	DBusTCP bool
	// LAN is a vde_switch socket folder; the guest gets a second NIC on it with LANAddr
	// (ADDR/PREFIX) and MAC.
	LAN, LANAddr, MAC string
	// DebugShell gives the guest a root shell on a virtio console (test images only), for
	// reading what the TV shows as text (/dev/vcs1).
	DebugShell bool
	// AudioWAV gives the guest a sound card (an Intel HDA controller with an output codec, which
	// the arm64 virt machine takes on its PCI bus; QEMU 7.2 has no virtio-sound) and has QEMU write
	// what the guest plays on it to this WAV file.
	AudioWAV string
}

// Guest is a running emulated box.
type Guest struct {
	cmd      *exec.Cmd
	serial   *Log
	monitor  net.Conn
	monR     *bufio.Reader
	monMu    sync.Mutex
	dir      string
	dbusPort int
	shell    net.Conn
	shellR   *bufio.Reader
	shellMu  sync.Mutex
	sockDir  string // the monitor's and the debug shell's sockets
	started  time.Time
	done     chan struct{}
	waitErr  error
}

// Start boots a guest. It returns once QEMU runs and its monitor answers; the guest boots on
// until Stop, or until ctx ends (QEMU is then killed).
func Start(ctx context.Context, qemu string, cfg Config) (*Guest, error) {
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = 512
	}
	for _, f := range []string{filepath.Join(cfg.ImageDir, Kernel), filepath.Join(cfg.ImageDir, Initrd), cfg.Disk} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("the box image is incomplete (%w): build it with 'make image'", err)
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	g := &Guest{dir: cfg.Dir, done: make(chan struct{})}
	var err error
	g.serial, err = newLog(filepath.Join(cfg.Dir, "serial.log"))
	if err != nil {
		return nil, err
	}
	// The sockets go in a short private folder, not cfg.Dir: a unix socket's path is at most
	// 108 bytes, which a test's artifact folder (go test -artifacts) can exceed.
	if g.sockDir, err = os.MkdirTemp("", "qemu"); err != nil {
		g.serial.Close()
		return nil, err
	}
	mon := filepath.Join(g.sockDir, "monitor.sock")
	netdev := "user,id=wan"
	if cfg.DBusTCP {
		if g.dbusPort, err = freePort(); err != nil {
			return nil, err
		}
		netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-10.0.2.15:%d", g.dbusPort, GuestDBusPort)
		cfg.Append = append(cfg.Append, "swarmbox.dbus_tcp="+strconv.Itoa(GuestDBusPort))
	}
	args := []string{
		"-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-m", strconv.Itoa(cfg.MemoryMB),
		"-display", "none", "-no-reboot",
		"-kernel", filepath.Join(cfg.ImageDir, Kernel), "-initrd", filepath.Join(cfg.ImageDir, Initrd),
		"-drive", "file=" + optValue(cfg.Disk) + ",format=raw,if=virtio",
		"-netdev", netdev, "-device", "virtio-net-pci,netdev=wan,romfile=",
		"-device", "virtio-gpu-pci", "-device", "virtio-keyboard-pci",
		"-serial", "stdio", "-chardev", "socket,id=mon,path=" + optValue(mon) + ",server=on,wait=off", "-mon", "chardev=mon,mode=readline",
	}
	for _, d := range cfg.HardDisks {
		args = append(args, "-drive", "file="+optValue(d)+",format=raw,if=virtio")
	}
	if cfg.AudioWAV != "" {
		args = append(args, "-audiodev", "wav,id=snd0,path="+optValue(cfg.AudioWAV), "-device", "ich9-intel-hda", "-device", "hda-output,audiodev=snd0")
	}
	shellSock := filepath.Join(g.sockDir, "shell.sock")
	if cfg.DebugShell {
		args = append(args, "-device", "virtio-serial-pci,romfile=", "-chardev", "socket,id=shell,path="+optValue(shellSock)+",server=on,wait=off",
			"-device", "virtconsole,chardev=shell")
		cfg.Append = append(cfg.Append, "swarmbox.debug_shell=1")
	}
	if cfg.LAN != "" {
		args = append(args, "-netdev", "vde,id=lan,sock="+optValue(cfg.LAN), "-device", "virtio-net-pci,netdev=lan,romfile=,mac="+cfg.MAC)
		cfg.Append = append(cfg.Append, "swarmbox.lan="+cfg.LANAddr)
	}
	args = append(args, "-append", strings.Join(append([]string{"console=ttyAMA0", "quiet", "panic=-1"}, cfg.Append...), " "))
	g.cmd = exec.CommandContext(ctx, qemu, args...)
	g.cmd.Stdout = g.serial
	g.cmd.Stderr = g.serial
	g.started = time.Now()
	if err := g.cmd.Start(); err != nil {
		g.serial.Close()
		os.RemoveAll(g.sockDir)
		return nil, fmt.Errorf("start %s: %w", qemu, err)
	}
	go func() { g.waitErr = g.cmd.Wait(); close(g.done) }()
	deadline := time.Now().Add(10 * time.Second)
	if g.monitor, err = g.dial(mon, deadline); err != nil {
		g.Stop()
		return nil, fmt.Errorf("QEMU's monitor did not come up: %w; serial:\n%s", err, g.serial.String())
	}
	g.monR = bufio.NewReader(g.monitor)
	if cfg.DebugShell {
		if g.shell, err = g.dial(shellSock, deadline); err != nil {
			g.Stop()
			return nil, fmt.Errorf("the guest's debug console: %w; serial:\n%s", err, g.serial.String())
		}
		g.shellR = bufio.NewReader(g.shell)
	}
	if _, err := g.readPrompt(); err != nil {
		g.Stop()
		return nil, fmt.Errorf("QEMU monitor: %w", err)
	}
	return g, nil
}

// dial connects to one of QEMU's unix sockets, retrying until deadline: QEMU creates them one
// after the other as it starts, and a socket's file exists a moment before QEMU listens on it
// (connecting then is refused), so the first to answer says nothing of the others.
func (g *Guest) dial(path string, deadline time.Time) (net.Conn, error) {
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			return c, nil
		}
		if g.exited() {
			return nil, fmt.Errorf("QEMU ended (%v) before %s answered: %w", g.waitErr, filepath.Base(path), err)
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// optValue escapes a value for QEMU's "key=value,…" options, where a comma is written twice.
func optValue(s string) string { return strings.ReplaceAll(s, ",", ",,") }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (g *Guest) exited() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// Started is when QEMU was started, for boot times.
func (g *Guest) Started() time.Time { return g.started }

// Serial is the serial console so far.
func (g *Guest) Serial() string { return g.serial.String() }

// WaitSerial waits until a complete line of the serial console matches re and returns its
// submatches.
func (g *Guest) WaitSerial(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		s := g.serial.String()
		if m := re.FindStringSubmatch(s[:strings.LastIndexByte(s, '\n')+1]); m != nil {
			return m, nil
		}
		if g.exited() {
			return nil, fmt.Errorf("the guest stopped (%v) before its serial console showed %q", g.waitErr, re)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %q on the serial console: %w", re, ctx.Err())
		case <-g.serial.changed():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Monitor runs one QEMU monitor (HMP) command and returns its output.
func (g *Guest) Monitor(command string) (string, error) {
	g.monMu.Lock()
	defer g.monMu.Unlock()
	if strings.ContainsAny(command, "\r\n") {
		return "", errors.New("a monitor command is one line")
	}
	g.monitor.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(g.monitor, command+"\n"); err != nil {
		return "", fmt.Errorf("QEMU monitor: %w", err)
	}
	out, err := g.readPrompt()
	if err != nil {
		return out, fmt.Errorf("QEMU monitor, %q: %w", command, err)
	}
	// The monitor echoes the command (with terminal escapes); keep what follows it.
	if i := strings.Index(out, "\n"); i >= 0 {
		out = out[i+1:]
	}
	return strings.TrimSpace(out), nil
}

func (g *Guest) readPrompt() (string, error) {
	var b strings.Builder
	for {
		c, err := g.monR.ReadByte()
		if err != nil {
			return b.String(), err
		}
		b.WriteByte(c)
		if strings.HasSuffix(b.String(), "(qemu) ") {
			return strings.TrimSuffix(b.String(), "(qemu) "), nil
		}
	}
}

// SendKey presses one key on the remote (a QEMU key name: up, down, ret, esc, a, …).
func (g *Guest) SendKey(key string) error {
	if !keyName.MatchString(key) {
		return fmt.Errorf("%q is not a QEMU key name", key)
	}
	out, err := g.Monitor("sendkey " + key)
	if err == nil && out != "" {
		err = fmt.Errorf("sendkey %s: %s", key, out)
	}
	return err
}

var keyName = regexp.MustCompile(`^[a-z0-9_]+(-[a-z0-9_]+)*$`)

// Screen dumps the TV screen (QEMU's screendump) and returns it.
func (g *Guest) Screen() (image.Image, error) {
	// In the sockets' private folder: the monitor's screendump takes a path without spaces.
	ppm := filepath.Join(g.sockDir, "screen.ppm")
	os.Remove(ppm)
	out, err := g.Monitor("screendump " + ppm)
	if err != nil {
		return nil, err
	}
	if out != "" {
		return nil, fmt.Errorf("screendump: %s", out)
	}
	f, err := os.Open(ppm)
	if err != nil {
		return nil, fmt.Errorf("screendump wrote nothing: %w", err)
	}
	defer os.Remove(ppm)
	defer f.Close()
	return DecodePPM(bufio.NewReader(f))
}

// Screendump saves the TV screen as a PNG file.
func (g *Guest) Screendump(pngPath string) error {
	img, err := g.Screen()
	if err != nil {
		return err
	}
	return WritePNG(pngPath, img)
}

// Shell runs a command line in the guest's debug shell (Config.DebugShell) and returns its
// output. The shell comes up during boot; until then Shell waits, up to ctx.
func (g *Guest) Shell(ctx context.Context, command string) (string, error) {
	if g.shell == nil {
		return "", errors.New("this guest was started without DebugShell")
	}
	if strings.ContainsAny(command, "\r\n") {
		return "", errors.New("a shell command is one line")
	}
	g.shellMu.Lock()
	defer g.shellMu.Unlock()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	g.shell.SetDeadline(deadline)
	// The console echoes what is typed; the markers are printed by echo, so only the output
	// lines stand alone between them.
	mark := fmt.Sprintf("__%d__", time.Now().UnixNano())
	if _, err := io.WriteString(g.shell, "echo "+mark+"B; "+command+"; echo; echo "+mark+"E\n"); err != nil {
		return "", fmt.Errorf("the guest's debug shell: %w", err)
	}
	var out []string
	in := false
	for {
		line, err := g.shellR.ReadString('\n')
		if err != nil {
			return strings.Join(out, "\n"), fmt.Errorf("the guest's debug shell, %q: %w", command, err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == mark+"B":
			in, out = true, nil
		case line == mark+"E" && in:
			return strings.TrimSuffix(strings.Join(out, "\n"), "\n"), nil
		case in:
			out = append(out, line)
		}
	}
}

// DBus connects to the guest's bus through the forwarded port (Config.DBusTCP). The connection
// outlives ctx, which bounds only the dial and handshake.
func (g *Guest) DBus(ctx context.Context) (*dbus.Conn, error) {
	if g.dbusPort == 0 {
		return nil, errors.New("this guest was started without DBusTCP")
	}
	conn, err := dbus.Dial(fmt.Sprintf("tcp:host=127.0.0.1,port=%d", g.dbusPort))
	if err != nil {
		return nil, fmt.Errorf("the guest's D-Bus: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.Auth([]dbus.Auth{dbus.AuthAnonymous()}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("the guest's D-Bus (anonymous auth): %w", err)
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("the guest's D-Bus: %w", err)
	}
	return conn, nil
}

// Stop powers the guest off (QEMU's quit) and waits for QEMU to end.
func (g *Guest) Stop() error {
	if g.monitor != nil && !g.exited() {
		g.monitor.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(g.monitor, "quit\n")
	}
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		g.cmd.Process.Kill()
		<-g.done
	}
	if g.monitor != nil {
		g.monitor.Close()
	}
	if g.shell != nil {
		g.shell.Close()
	}
	os.RemoveAll(g.sockDir)
	return g.serial.Close()
}
