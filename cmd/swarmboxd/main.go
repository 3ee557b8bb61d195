// Command swarmboxd is the set-top box: `run` is the supervisor daemon, `ui` the TV UI; the
// other subcommands (the wishlist, purchases, playback, status) go through the box's API: the
// running daemon's, on its socket in the state folder, or in process when no daemon runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"swarmbox/internal/cmdline"
)

const usage = `swarmboxd — the swarmbox set-top box

Usage:
  swarmboxd run    [-dir DIR] [-headend URL] [-enroll TOKEN] [-listen HOST:PORT] [-advertise HOST:PORT]
                   [-dbus system|session|ADDRESS] [-dbus-name NAME]
                   [-quota-preload|-quota-wishlist|-quota-cache BYTES] [-lan-if IF,…]
                   [-uplink B/S] [-downlink B/S] [-network LABEL] [-behind-nat] [-plan-peers=false]
  swarmboxd ui     [-dbus system|session|ADDRESS] [-dbus-name NAME] [-player mpv] [-remote auto|none|DEV,...] [-keymap FILE] [-positions FILE]   the TV UI
  swarmboxd wish   [-dir DIR] ITEM...          set the wishlist, most wanted first
  swarmboxd buy    [-dir DIR] [-rent] ITEM     buy (or rent) a title that is ready
  swarmboxd play   [-dir DIR] ITEM --out FILE|-  decrypt a bought title (FILE may be a device or FIFO)
  swarmboxd play   [-dir DIR] -serve ITEM       serve it on a loopback URL a player can seek in
                                                (mpv URL), until Ctrl-C
  swarmboxd status [-dir DIR] [-json]
  swarmboxd wait   [-dir DIR] [-timeout D] ITEM  block until ITEM is ready
  swarmboxd update status [-json]               firmware versions and slots (A/B), the last event
  swarmboxd update install [-tries N] BUNDLE|URL|-  verify a signed bundle, write the inactive slot, try it at the next boot
  swarmboxd update confirm                      mark the booted trial slot good (run does it after its health check)

ITEM is an item id, a unique prefix of one, or a title from the catalog. A bought title
still downloading plays as it arrives while the daemon runs.
The state folder defaults to $SWARMBOX_DIR or /var/lib/swarmbox.
`

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmds := map[string]func(context.Context, []string) error{
		"run": run, "ui": runUI, "wish": wish, "buy": buy, "play": play, "status": status, "wait": wait, "update": update,
	}
	f, ok := cmds[os.Args[1]]
	if !ok {
		if h := os.Args[1]; h == "help" || h == "-h" || h == "--help" {
			fmt.Print(usage)
			return
		}
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err := f(ctx, os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "swarmboxd:", err)
		os.Exit(1)
	}
}

func defaultDir() string {
	if d := os.Getenv("SWARMBOX_DIR"); d != "" {
		return d
	}
	return "/var/lib/swarmbox"
}

// flagSet is a subcommand's flags, -dir among them.
type flagSet struct {
	*flag.FlagSet
	dir *string
}

func newFlags(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	return &flagSet{FlagSet: fs, dir: fs.String("dir", defaultDir(), "state folder")}
}

// parse parses args, flags and operands in any order, and returns the operands.
func (f *flagSet) parse(args []string) ([]string, error) { return cmdline.Parse(f.FlagSet, args) }
