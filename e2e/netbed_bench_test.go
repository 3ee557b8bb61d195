package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkNetbedDistribution is `make netbed-bench`: one head-end and 8 boxes (two LANs of
// four) on the shaped links; every box wishes one item (SWARMBOX_BENCH_MB, default 200).
// The last line of output is a JSON object with the completion time, the fluid lower bound
// max(F/u_server, F/d_min, N·F/(u_server + Σ u_box)), the bound given the bytes the server
// actually sent S, max(S/u_server, F/d_min, (N·F − S)/Σ u_box), the server's bytes and the
// item's, and the box daemons' resident memory idle and at its peak during the run.
func BenchmarkNetbedDistribution(b *testing.B) {
	mb := 200
	if v, err := strconv.Atoi(os.Getenv("SWARMBOX_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	for range b.N {
		runDistribution(b, mb)
	}
}

func runDistribution(b *testing.B, mb int) {
	// The test-bed helpers take a *testing.T: run the scenario as a test of its own.
	var res map[string]any
	ok := testing.RunTests(func(pat, str string) (bool, error) { return true, nil }, []testing.InternalTest{{
		Name: "NetbedDistribution",
		F:    func(t *testing.T) { res = distribution(t, mb) },
	}})
	if !ok || res == nil {
		b.Fatal("the distribution run failed (see above)")
	}
	js, _ := json.Marshal(res)
	fmt.Println(string(js))
}

func distribution(t *testing.T, mb int) map[string]any {
	n := buildBed(t, 2, 4)
	c := startBedCloud(t, n)
	id, container := ingestRandom(t, c, "bench-film", mb<<20)
	F := float64(fileSize(t, container))
	boxes := startLANs(t, n, c)
	idle := 0
	for _, b := range boxes {
		idle = max(idle, rssKiB(b.proc.cmd.Process.Pid))
	}
	var mu sync.Mutex
	peak := 0
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			for _, b := range boxes {
				r := rssKiB(b.proc.cmd.Process.Pid)
				mu.Lock()
				peak = max(peak, r)
				mu.Unlock()
			}
		}
	}()
	start := time.Now()
	for _, b := range boxes {
		b.cmd(t, "wish", id)
	}
	var elapsed float64
	waitFor(t, "the item on every box", 60*time.Minute, func() bool {
		for _, b := range boxes {
			if _, complete, _, _ := b.item(t, id); !complete {
				return false
			}
		}
		elapsed = time.Since(start).Seconds()
		return true
	})
	close(stop)
	served := servedBytes(t, c, id)
	// Link rates in bytes per second, as shaped.
	uServer, uBox, dMin := bedShape.ServerEgress.Mbit*1e6/8, bedShape.BoxUp.Mbit*1e6/8, bedShape.LAN.Mbit*1e6/8
	N := float64(len(boxes))
	bound := max(F/uServer, F/dMin, N*F/(uServer+N*uBox))
	// The fluid bound has the server send N·F·u_server/(u_server + Σ u_box) (2.67 items here),
	// while the goal for server bytes is one item: with the server sending S bytes, the boxes
	// must upload the other N·F − S, which no schedule does faster than at Σ u_box.
	S := float64(served)
	boundServer := max(S/uServer, F/dMin, (N*F-S)/(N*uBox))
	mu.Lock()
	defer mu.Unlock()
	return map[string]any{
		"completion_seconds": round2(elapsed), "fluid_bound_seconds": round2(bound), "bound_given_server_bytes_seconds": round2(boundServer),
		"server_bytes": served, "item_bytes": int64(F),
		"box_rss_idle_kib": idle, "box_rss_peak_kib": peak,
	}
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// rssKiB is a process's resident set size from /proc, in KiB (0 if it is gone).
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.Atoi(f[1])
				return v
			}
		}
	}
	return 0
}
