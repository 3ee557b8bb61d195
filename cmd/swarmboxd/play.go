package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// play decrypts a bought title to a file or standard output (`swarmboxd play ITEM --out
// FILE|-`), or serves it for a player that seeks (`swarmboxd play -serve ITEM`). A title still
// downloading plays as far as it has arrived, and reads past that wait for its pieces, when the
// daemon runs (PLAY-2).
func play(ctx context.Context, args []string) error {
	fs := newFlags("play")
	out := fs.String("out", "-", "write the decrypted title to FILE, or - for standard output")
	serve := fs.Bool("serve", false, "serve the title on the box's loopback URL, which a player can seek in (mpv URL), until interrupted, instead of writing it out")
	names, err := fs.parse(args)
	if err != nil {
		return err
	}
	outSet := false
	fs.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
	if *serve && outSet {
		return errors.New("play takes -serve or --out, not both: -serve is for a player that seeks, --out writes the title out")
	}
	box, item, err := openItem(ctx, fs, names)
	if err != nil {
		return err
	}
	defer box.Close()
	if *serve {
		return serveTitle(ctx, box, item, os.Stdout, os.Stderr)
	}
	if err := writeOut(*out, func(w io.Writer) error { return box.Watch(ctx, item, w) }); err != nil {
		return fmt.Errorf("cannot play: %w", err)
	}
	return nil
}

// serveTitle has the box open item for playback, as the TV does, prints its loopback URL on out
// (a line of its own, for scripts) and how to play it on hint, and holds the playback — the
// lease that keeps the title from eviction included — until ctx ends (Ctrl-C, SIGTERM) or the
// box ends it (another title played, the daemon stopped). It then releases it (PLAY-3).
func serveTitle(ctx context.Context, box boxDoor, item string, out, hint io.Writer) error {
	url, ended, stop, err := box.Serve(ctx, item)
	if err != nil {
		return fmt.Errorf("cannot play: %w", err)
	}
	fmt.Fprintln(out, url)
	fmt.Fprintf(hint, "Serving %s until Ctrl-C. Play it with seeking: mpv %s\n", item, url)
	select {
	case <-ctx.Done():
		err = nil
	case err = <-ended:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := stop(sctx); serr != nil && err == nil {
		return fmt.Errorf("stopping playback of %s: %w", item, serr)
	}
	return err
}
