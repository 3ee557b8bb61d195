// Command swarmbox-preload is the factory tool: at purchase time it gives a box its identity,
// registers it with the head-end, and preloads the titles the customer chose plus the head-end's
// forecast for the customer's region onto the box image (or a box state folder).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"swarmbox/factory"
	"swarmbox/internal/cmdline"
)

const usage = `swarmbox-preload — prepare a box at the factory

Usage:
  swarmbox-preload -image DISK.img [-force] | -dir BOXDIR  -headend URL [-box-headend URL]
                   -enroll TOKEN [-account ID] -repository DIR [-extra N] [TITLE...]

TITLE is an item id, a unique prefix of one, or a title from the head-end's catalog: the titles
the customer chose. -enroll is the order's token from 'swarmbox-cloud account enroll ACCOUNT':
the box leaves the factory paired to that household (-account, if given, is checked against it).
-extra N adds the N titles the head-end forecasts for the account's region.
-image writes the preload, media and state partitions of a fresh disk image from 'make image'
(one that already holds a box is refused unless -force);
-dir fills a box state folder instead. -repository is the head-end's folder of sealed
containers; -box-headend is the head-end URL as the box will see it (default: -headend).
`

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "swarmbox-preload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("swarmbox-preload", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	image := fs.String("image", "", "disk image to preload (from make image)")
	dir := fs.String("dir", "", "box state folder to fill instead of an image")
	o := factory.Order{Progress: os.Stdout}
	fs.StringVar(&o.Headend, "headend", "", "head-end URL")
	fs.StringVar(&o.BoxHeadend, "box-headend", "", "head-end URL as the box sees it")
	fs.StringVar(&o.Enroll, "enroll", "", "the order's enrollment token (swarmbox-cloud account enroll ACCOUNT)")
	fs.StringVar(&o.Account, "account", "", "the customer's account, checked against the token's")
	fs.StringVar(&o.Repository, "repository", "", "the head-end's folder of sealed containers")
	fs.IntVar(&o.Extra, "extra", 0, "titles to add from the region's demand forecast")
	force := fs.Bool("force", false, "replace a box already on the image (its identity and titles are lost)")
	titles, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	o.Titles = titles
	switch {
	case (*image == "") == (*dir == ""):
		return fmt.Errorf("give one of -image or -dir\n\n%s", usage)
	case *image != "":
		_, err = factory.PreloadImage(ctx, *image, o, *force)
	default:
		o.BoxDir = *dir
		_, err = factory.Preload(ctx, o)
	}
	return err
}
