package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"swarmbox/internal/cmdline"
	"swarmbox/media/sample"
)

// testcard writes a generated test video or audio file to ingest.
func testcard(args []string) error {
	fs := flag.NewFlagSet("testcard", flag.ExitOnError)
	kind := fs.String("kind", "video", "video (Motion-JPEG AVI) or audio (WAV)")
	secs := fs.Int("seconds", 10, "duration")
	seed := fs.Uint64("seed", 1, "varies the picture so different test cards differ")
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("testcard takes one output FILE")
	}
	f, err := os.Create(pos[0])
	if err != nil {
		return err
	}
	d := time.Duration(*secs) * time.Second
	switch strings.ToLower(*kind) {
	case "video":
		err = sample.WriteAVI(f, sample.VideoOptions{Duration: d, Seed: *seed})
	case "audio":
		err = sample.WriteWAV(f, d)
	default:
		err = fmt.Errorf("kind %q: use video or audio", *kind)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(pos[0])
	}
	return err
}
