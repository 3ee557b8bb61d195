// Package testenv holds the rule for tests that need something from the machine: in CI
// (CI=true) a missing dependency is a failure, never a skip; on a developer's machine the test
// is skipped with a message that says what to install.
package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// debianPackage names the package that provides a command, for the message.
var debianPackage = map[string]string{
	"ffprobe": "ffmpeg", "ffmpeg": "ffmpeg", "dbus-daemon": "dbus", "tmux": "tmux", "openssl": "openssl",
	"qemu-system-aarch64": "qemu-system-arm", "chromium": "chromium", "mpv": "mpv",
	"pg_ctl": "postgresql", "initdb": "postgresql", "ip": "iproute2", "tc": "iproute2",
	"vde_switch": "vde2", "sfdisk": "fdisk", "mke2fs": "e2fsprogs", "debugfs": "e2fsprogs", "depmod": "kmod", "dpkg-deb": "dpkg",
	"ping": "iputils-ping", "nft": "nftables", "busctl": "systemd", "gdbus": "libglib2.0-bin", "dbus-monitor": "dbus-bin",
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a missing dependency fails the run)", msg)
	}
	t.Skipf("%s (set CI=true to make this a failure)", msg)
}

// RequireTool returns the path of command name, or fails (CI) or skips the test.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		pkg := debianPackage[name]
		if pkg == "" {
			pkg = name
		}
		missing(t, name+" is not installed: apt-get install "+pkg+" (make deps does it as root)")
	}
	return path
}

// RequireRoot fails (CI) or skips a test that needs root, such as one that makes network
// namespaces.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "this test needs root")
	}
}

// DBusDaemon starts a private dbus-daemon for the test (stopped when it ends) and returns its
// address; no test touches the machine's own buses.
func DBusDaemon(t testing.TB) string {
	t.Helper()
	daemon := RequireTool(t, "dbus-daemon")
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+dir+`/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon gave no address: %v", err)
	}
	return strings.TrimSpace(line)
}
