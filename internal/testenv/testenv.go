// Package testenv holds the rule for tests that need something from the machine: in CI
// (CI=true) a missing dependency is a failure, never a skip; on a developer's machine the test
// is skipped with a message that says what to install.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// debianPackage names the package that provides a command, for the message.
var debianPackage = map[string]string{
	"ffprobe": "ffmpeg", "ffmpeg": "ffmpeg", "dbus-daemon": "dbus", "tmux": "tmux", "openssl": "openssl",
	"qemu-system-aarch64": "qemu-system-arm", "chromium": "chromium", "mpv": "mpv",
	"pg_ctl": "postgresql", "initdb": "postgresql", "ip": "iproute2", "tc": "iproute2",
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
