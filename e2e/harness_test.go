// Package e2e runs swarmbox end to end: real head-end and box processes built from ./cmd, real
// SQLite files, real BitTorrent between processes over loopback (each box on its own 127.0.0.N
// address), real HTTP.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var binDir string

// logs numbers the processes a test starts, for SWARMBOX_E2E_LOGS file names.
var logs atomic.Int64

func TestMain(m *testing.M) {
	// SWARMBOX_E2E_BIN runs the tests against binaries built elsewhere, e.g. a baseline
	// revision's for scripts/bench-box.
	if dir := os.Getenv("SWARMBOX_E2E_BIN"); dir != "" {
		binDir = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "swarmbox-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "swarmbox/cmd/swarmbox-cloud", "swarmbox/cmd/swarmboxd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building binaries: %v\n%s", err, out)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a background process whose stderr is kept for assertions and failure reports.
type proc struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	log bytes.Buffer
	out *os.File // a copy of the log under SWARMBOX_E2E_LOGS, or nil
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out != nil {
		p.out.Write(b)
	}
	return p.log.Write(b)
}

// keepLog copies the process's output, as it comes, into a file named name in the folder
// SWARMBOX_E2E_LOGS names (unset: nothing), to watch a long run such as make netbed-bench.
func (p *proc) keepLog(t *testing.T, name string) {
	dir := os.Getenv("SWARMBOX_E2E_LOGS")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name)+".log"))
	if err != nil {
		t.Logf("SWARMBOX_E2E_LOGS: %v", err)
		return
	}
	p.out = f
	t.Cleanup(func() { f.Close() })
}

func (p *proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// start runs a binary in the background until the test ends.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(filepath.Join(binDir, name), args...)}
	p.cmd.Stderr = p
	p.cmd.Stdout = p
	p.keepLog(t, t.Name()+"-"+name+"-"+strconv.Itoa(int(logs.Add(1))))
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s %s log:\n%s", name, strings.Join(args, " "), tail(p.Log(), 60))
		}
	})
	return p
}

func (p *proc) stop() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// run runs a binary to completion and returns its stdout, stderr and exit code.
func run(t *testing.T, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out.String(), errb.String(), code
}

// must runs a binary and fails the test unless it exits 0.
func must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, errs, code := run(t, name, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s%s", name, strings.Join(args, " "), code, out, errs)
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cloud is a running head-end.
type cloud struct {
	state string
	url   string
	proc  *proc
}

var publicURL = regexp.MustCompile(`public_url=(\S+)`)

func startCloud(t *testing.T, extra ...string) *cloud {
	t.Helper()
	c := &cloud{state: filepath.Join(t.TempDir(), "cloud")}
	c.serve(t, extra...)
	return c
}

func (c *cloud) serve(t *testing.T, extra ...string) {
	args := append([]string{"serve", "-state", c.state, "-listen", "127.0.0.1:0", "-sync-interval", "1s"}, extra...)
	c.proc = start(t, "swarmbox-cloud", args...)
	waitFor(t, "head-end to listen", 20*time.Second, func() bool {
		m := publicURL.FindStringSubmatch(c.proc.Log())
		if m != nil {
			c.url = m[1]
		}
		return m != nil
	})
}

func (c *cloud) cmd(t *testing.T, args ...string) string {
	t.Helper()
	return must(t, "swarmbox-cloud", append(args, "-state", c.state)...)
}

// ingest adds a file and returns its item id and sealed size.
func (c *cloud) ingest(t *testing.T, path, title, kind string, flags ...string) (string, int64) {
	t.Helper()
	var it struct {
		ID         string `json:"id"`
		SealedSize int64  `json:"sealed_size"`
	}
	out := c.cmd(t, append(append([]string{"ingest", "-title", title, "-kind", kind, "-json"}, flags...), path)...)
	if err := json.Unmarshal([]byte(out), &it); err != nil {
		t.Fatalf("ingest output %q: %v", out, err)
	}
	return it.ID, it.SealedSize
}

// box is a running set-top box.
type box struct {
	n    int
	dir  string
	proc *proc
	args []string
}

func startBox(t *testing.T, c *cloud, n int, extra ...string) *box {
	t.Helper()
	b := &box{n: n, dir: filepath.Join(t.TempDir(), fmt.Sprintf("box%d", n))}
	account := fmt.Sprintf("household-%d", n)
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", account)
	// The household's box is paired as it registers, with a one-time token the operator makes
	// (as the factory does); TestPairingRequiresCode starts boxes unpaired instead.
	b.args = []string{"run", "-dir", b.dir, "-headend", c.url, "-enroll", c.enroll(t, account), "-listen", fmt.Sprintf("127.0.0.%d:0", n+1)}
	b.args = append(b.args, extra...)
	b.start(t)
	return b
}

// start starts the box and waits until it is up and has reached its head-end (registered,
// catalog fetched, synced).
func (b *box) start(t *testing.T) {
	t.Helper()
	b.startOffline(t)
	waitFor(t, fmt.Sprintf("box %d to reach its head-end", b.n), 60*time.Second, func() bool { return strings.Contains(b.proc.Log(), "head-end reached") })
}

// startOffline starts the box and waits only until it is up: its API serves, with or without
// a head-end.
func (b *box) startOffline(t *testing.T) {
	t.Helper()
	b.proc = start(t, "swarmboxd", b.args...)
	waitFor(t, fmt.Sprintf("box %d to come up", b.n), 30*time.Second, func() bool { return strings.Contains(b.proc.Log(), "box up") })
}

func (b *box) cmd(t *testing.T, args ...string) string {
	t.Helper()
	return must(t, "swarmboxd", append(args, "-dir", b.dir)...)
}

// run runs a box subcommand that may fail.
func (b *box) try(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return run(t, "swarmboxd", append(args, "-dir", b.dir)...)
}

type boxStatus struct {
	Box   string `json:"box"`
	Items []struct {
		Item            string `json:"item"`
		Pieces          int    `json:"pieces"`
		Complete        bool   `json:"complete"`
		BytesFromServer int64  `json:"bytes_from_server"`
		BytesFromPeers  int64  `json:"bytes_from_peers"`
	} `json:"items"`
}

func (b *box) status(t *testing.T) boxStatus {
	t.Helper()
	var s boxStatus
	out := b.cmd(t, "status", "-json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status output %q: %v", out, err)
	}
	return s
}

// item returns the box's record of an item (zero if it has none).
func (b *box) item(t *testing.T, id string) (pieces int, complete bool, fromServer, fromPeers int64) {
	for _, it := range b.status(t).Items {
		if it.Item == id {
			return it.Pieces, it.Complete, it.BytesFromServer, it.BytesFromPeers
		}
	}
	return 0, false, 0, 0
}

func (b *box) waitComplete(t *testing.T, id string) {
	t.Helper()
	b.cmd(t, "wait", "-timeout", "3m", id)
}

// logHas reports whether any line of the box's log contains all of parts.
func (p *proc) logHas(parts ...string) bool {
	sc := bufio.NewScanner(strings.NewReader(p.Log()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		ok := true
		for _, s := range parts {
			ok = ok && strings.Contains(sc.Text(), s)
		}
		if ok {
			return true
		}
	}
	return false
}
