package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	cloudload "swarmbox/cloud/loadgen"
	"swarmbox/internal/cmdline"
)

// loadgen measures syncs per second against a head-end (one started in this process by default).
// It does not open the state folder's store: its -database is the in-process head-end's own.
func loadgen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ExitOnError)
	o := cloudload.Options{}
	fs.IntVar(&o.Boxes, "boxes", 1000, "simulated boxes")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to measure")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "syncs in flight (default min(boxes, 64))")
	fs.StringVar(&o.URL, "url", "", "a running head-end (default: start one in this process)")
	fs.StringVar(&o.Account, "account", "loadgen", "account the in-process head-end pairs the boxes to")
	fs.StringVar(&o.Enroll, "enroll", "", "with -url: a token pairing the boxes ('swarmbox-cloud account enroll -boxes N ID')")
	fs.StringVar(&o.Database, "database", "", "in-process head-end's database: SQLite path or postgres:// URL (default a temporary SQLite file)")
	fs.Float64Var(&o.RenewShare, "renew-share", 0.1, "share of boxes (0..1) that own a title and renew its licence instead of syncing")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run (in-process head-end included) to FILE, for go tool pprof")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := cloudload.Run(ctx, o)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("%s: %d boxes, %d in flight: %.0f syncs/s, p50 %.2f ms, p99 %.2f ms (%d syncs, %d errors, %.1f s); %d boxes renewing: %.0f renewals/s, p99 %.2f ms (%d renewals)\n",
		res.Store, res.Boxes, res.Concurrency, res.SyncsPerSecond, res.P50ms, res.P99ms, res.Syncs, res.Errors, res.Seconds,
		res.RenewingBoxes, res.RenewalsPerSecond, res.RenewalP99ms, res.Renewals)
	return nil
}
