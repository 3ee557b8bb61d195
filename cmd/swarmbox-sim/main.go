// Command swarmbox-sim simulates the scheduler beside a BitTorrent-style tracker and a CDN on a
// generated world of boxes and prints what each achieved.
//
//	swarmbox-sim [-workload standard|flash|sparse] [-boxes N] [-seed S] [-json] [-plot FILE.png]
//	             [-diurnal] [-off-peak HH:MM-HH:MM[/RATE]]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"swarmbox/cloud/regions"
	"swarmbox/cloud/sim"
	"swarmbox/internal/progress"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "swarmbox-sim:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("swarmbox-sim", flag.ContinueOnError)
	workload := fs.String("workload", sim.Standard, "workload: standard, flash or sparse")
	boxes := fs.Int("boxes", 100_000, "number of boxes")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same world and results")
	asJSON := fs.Bool("json", false, "print one JSON object")
	plotFile := fs.String("plot", "", "draw server share and time-to-ready over time into this PNG")
	step := fs.Duration("step", 0, "simulated time per planning round (0 = the workload's default)")
	duration := fs.Duration("duration", 0, "simulated time (0 = the workload's default)")
	shared := fs.Bool("shared-copy", false, "share the server's copy of an item into a region among its receivers, as the head-end does")
	diurnal := fs.Bool("diurnal", false, "wishes follow a diurnal demand curve (few at night, most in the evening) instead of spreading evenly over the day")
	offPeak := fs.String("off-peak", "", `every region's off-peak window for the scheduler, "HH:MM-HH:MM" in the world's time of day, optionally "/RATE" (server bytes/s in it, suffix k M G), as in the head-end's -regions file`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see -h", fs.Arg(0))
	}
	if *step < 0 || *duration < 0 {
		return fmt.Errorf("-step and -duration must not be negative")
	}
	w, err := sim.NewWorld(*workload, *boxes, *seed)
	if err != nil {
		return err
	}
	if *diurnal {
		w.Diurnal()
	}
	var window *regions.Window
	if *offPeak != "" {
		hours, rate, _ := strings.Cut(*offPeak, "/")
		p, err := regions.Parse("-off-peak", strings.NewReader("all "+hours+" UTC "+rate))
		if err != nil {
			return err
		}
		wi := p["all"]
		window = &wi
	}
	var bar *progress.Bar
	res, err := sim.Run(w, sim.Options{Step: *step, Duration: *duration, SharedServerCopy: *shared, OffPeak: window, Progress: func(done, total int) {
		if bar == nil {
			bar = progress.Count(int64(total), "simulating")
		}
		bar.Set(int64(done))
	}})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	if *plotFile != "" {
		if err := sim.Plot(res, fmt.Sprintf("%s, %d boxes", *workload, *boxes), *plotFile); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("workload %s, %d boxes, seed %d; server share: global lower bound %.4f, one copy per region %.4f\n",
		*workload, *boxes, *seed, res.GlobalLowerBoundServerShare, res.RegionCopiesServerShare)
	fmt.Printf("%-10s %8s %7s %8s %6s %10s %10s %9s %7s %6s %6s %9s %9s\n", "policy", "server", "/bound", "x-region", "peak",
		"p50 ready", "p95 ready", "p95/bound", "copies", "stor.", "upl.", "plan/rnd", "peak rss")
	for _, name := range sim.Policies {
		p := res.Policies[name]
		fmt.Printf("%-10s %8.4f %7.2f %8.4f %6.3f %10s %10s %9.2f %7.2f %6d %6d %9s %8dM\n", name, p.ServerShare,
			p.ServerShareOverGlobalBound, p.CrossRegionPeerShare, p.PeakHourServerShare,
			secs(p.P50ReadySeconds), secs(p.P95ReadySeconds), p.P95ReadyOverDownlink, p.ServerCopiesPerRegionMax,
			p.StorageViolations, p.UploadCapViolations, secs(p.PlanSecondsPerRound), p.PeakRSSBytes>>20)
	}
	return nil
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
