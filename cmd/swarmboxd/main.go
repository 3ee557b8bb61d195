// Command swarmboxd is the set-top box: `run` is the supervisor daemon; the other subcommands
// act on the box's state folder (the wishlist, purchases, playback), next to a running daemon
// or without one.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"swarmbox/firmware"
	"swarmbox/hw/remote"
	"swarmbox/internal/cmdline"
	"swarmbox/media"
	"swarmbox/player"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
	"swarmbox/ui"
)

const usage = `swarmboxd — the swarmbox set-top box

Usage:
  swarmboxd run    [-dir DIR] [-headend URL -account ID] [-listen HOST:PORT] [-advertise HOST:PORT]
                   [-dbus system|session|ADDRESS] [-dbus-name NAME]
                   [-quota-preload|-quota-wishlist|-quota-cache BYTES] [-lan-if IF,…]
                   [-uplink B/S] [-downlink B/S] [-network LABEL] [-behind-nat] [-plan-peers=false]
  swarmboxd ui     [-dbus system|session|ADDRESS] [-dbus-name NAME] [-player mpv] [-remote auto|none|DEV,...] [-keymap FILE] [-positions FILE]   the TV UI
  swarmboxd wish   [-dir DIR] ITEM...          set the wishlist, most wanted first
  swarmboxd buy    [-dir DIR] [-rent] ITEM     buy (or rent) a title that is ready
  swarmboxd play   [-dir DIR] ITEM --out FILE|-  decrypt a bought title
  swarmboxd status [-dir DIR] [-json]
  swarmboxd wait   [-dir DIR] [-timeout D] ITEM  block until ITEM is ready

ITEM is an item id, a unique prefix of one, or a title from the catalog.
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
		"run": run, "ui": runUI, "wish": wish, "buy": buy, "play": play, "status": status, "wait": wait,
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

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	dir := fs.String("dir", defaultDir(), "state folder")
	headendURL := fs.String("headend", "", "head-end URL (first start)")
	acct := fs.String("account", "", "customer account (first start)")
	listen := fs.String("listen", "0.0.0.0:6881", "BitTorrent listen address")
	adv := fs.String("advertise", "", "address other boxes dial (default: the listen address)")
	bus := fs.String("dbus", "", `publish the box's API on D-Bus: "system", "session" or a bus address`)
	busName := fs.String("dbus-name", firmware.DBusName, "well-known D-Bus name to own")
	quotas := map[string]*int64{}
	for _, a := range storage.Areas {
		quotas[a] = fs.Int64("quota-"+a, 0, "byte quota of the "+a+" area (0 = the disk)")
	}
	lanIf := fs.String("lan-if", "", "interfaces for LAN discovery (mDNS), comma-separated; empty = off")
	up := fs.Int64("uplink", 0, "upload cap in bytes per second (0 = none)")
	down := fs.Int64("downlink", 0, "download cap in bytes per second (0 = none)")
	network := fs.String("network", "", "ISP or network label reported to the head-end")
	nat := fs.Bool("behind-nat", false, "the box cannot accept incoming connections")
	planPeers := fs.Bool("plan-peers", true, "fetch from the peers the plan names (false: LAN neighbours and web seed only, for tests)")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	cfg := firmware.Config{Dir: *dir, HeadendURL: *headendURL, Account: *acct, ListenAddr: *listen, AdvertiseAddr: *adv, DBus: *bus, DBusName: *busName,
		Quotas: map[string]int64{}, UplinkBytesPerSecond: *up, DownlinkBytesPerSecond: *down, Network: *network, BehindNAT: *nat, IgnorePlanPeers: !*planPeers}
	for a, q := range quotas {
		cfg.Quotas[a] = *q
	}
	if *lanIf != "" {
		cfg.LANInterfaces = strings.Split(*lanIf, ",")
	}
	return firmware.Run(ctx, cfg)
}

func runUI(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ui", flag.ExitOnError)
	bus := fs.String("dbus", "system", `the bus the box's API is on: "system", "session" or a bus address`)
	busName := fs.String("dbus-name", firmware.DBusName, "the box's D-Bus name")
	playerCmd := fs.String("player", "mpv", "media player to start with the playback URL, if installed")
	remoteDev := fs.String("remote", "", `remote control input: "auto" (every /dev/input/event* with keys), "none", or device paths separated by commas; default: auto on a Linux console (the TV), none in a terminal window`)
	positionsFile := fs.String("positions", defaultPositions(), `file that keeps where each title was stopped ("Continue watching"); "" keeps none`)
	keymapFile := fs.String("keymap", "", "keymap file for the remote (\"KEY_NAME button\" per line); built-in default when empty")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	keymap := remote.DefaultKeymap()
	if *keymapFile != "" {
		f, err := os.Open(*keymapFile)
		if err != nil {
			return fmt.Errorf("keymap: %w", err)
		}
		keymap, err = remote.ParseKeymap(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *keymapFile, err)
		}
	}
	conn, err := firmware.ConnectBus(*bus)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The TV console is the UI's; logs go to a file so they never scribble over the screen.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	app := ui.New(ui.NewDBusBox(conn, *busName), *playerCmd)
	if *positionsFile != "" {
		if err := app.KeepPositions(*positionsFile); err != nil {
			fmt.Fprintln(os.Stderr, "swarmboxd ui:", err) // the UI starts all the same
		}
	}
	if *remoteDev == "" {
		// Reading every input device is right on the TV console; in a terminal window it would
		// grab the developer's own keyboard.
		*remoteDev = "none"
		if tty, _ := os.Readlink("/proc/self/fd/0"); strings.HasPrefix(tty, "/dev/tty") && len(tty) > 8 && tty[8] >= '0' && tty[8] <= '9' {
			*remoteDev = "auto"
		}
	}
	if *remoteDev != "none" {
		cfg := remote.Config{Keymap: keymap, Grab: true}
		if *remoteDev != "auto" {
			cfg.Devices = strings.Split(*remoteDev, ",")
		}
		presses := make(chan remote.Press, 16)
		go remote.Watch(ctx, cfg, presses)
		go func() {
			for {
				select {
				case p := <-presses:
					app.Press(p.Button)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return app.Run(ctx.Done())
}

// defaultPositions is $XDG_STATE_HOME/swarmbox/positions.json (~/.local/state when unset).
func defaultPositions() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "swarmbox", "positions.json")
}

func openStore(ctx context.Context, dir string) (*storage.Store, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no box state in %s: start the box first with 'swarmboxd run -dir %s -headend URL -account ID'", dir, dir)
	}
	return storage.Open(ctx, dir)
}

// oneItem parses a command that takes one ITEM, opens the box's state and resolves the item.
func oneItem(ctx context.Context, fs *flag.FlagSet, args []string, dir *string) (*storage.Store, media.ItemID, error) {
	names, err := cmdline.Parse(fs, args)
	if err != nil {
		return nil, media.ItemID{}, err
	}
	if len(names) != 1 {
		return nil, media.ItemID{}, fmt.Errorf("%s takes one ITEM", fs.Name())
	}
	st, err := openStore(ctx, *dir)
	if err != nil {
		return nil, media.ItemID{}, err
	}
	items, err := resolve(ctx, st, names)
	if err != nil {
		st.Close()
		return nil, media.ItemID{}, err
	}
	return st, items[0], nil
}

// resolve finds items by id, unique id prefix, or title in the box's catalog replica.
func resolve(ctx context.Context, st *storage.Store, names []string) ([]media.ItemID, error) {
	_, raw, err := st.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	var cat protocol.Catalog
	if raw != nil {
		if err := json.Unmarshal(raw, &cat); err != nil {
			return nil, fmt.Errorf("local catalog: %w", err)
		}
	}
	var out []media.ItemID
	for _, n := range names {
		if id, err := media.ParseItemID(n); err == nil {
			out = append(out, id)
			continue
		}
		var hits []media.ItemID
		for _, it := range cat.Items {
			if strings.HasPrefix(it.ID.String(), strings.ToLower(n)) || strings.EqualFold(it.Title, n) {
				hits = append(hits, it.ID)
			}
		}
		switch len(hits) {
		case 1:
			out = append(out, hits[0])
		case 0:
			return nil, fmt.Errorf("%q is not in the box's catalog (it has %d titles; is the box synced?)", n, len(cat.Items))
		default:
			return nil, fmt.Errorf("%q matches %d titles: give more of the id", n, len(hits))
		}
	}
	return out, nil
}

func wish(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wish", flag.ExitOnError)
	dir := fs.String("dir", defaultDir(), "state folder")
	names, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	items, err := resolve(ctx, st, names)
	if err != nil {
		return err
	}
	if err := st.SetWishlist(ctx, items); err != nil {
		return err
	}
	for i, it := range items {
		fmt.Printf("wish #%d %s\n", i+1, it)
	}
	return nil
}

func buy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("buy", flag.ExitOnError)
	dir := fs.String("dir", defaultDir(), "state folder")
	rent := fs.Bool("rent", false, "rent instead of buying")
	st, item, err := oneItem(ctx, fs, args, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := (&firmware.API{Store: st, Now: time.Now}).Buy(ctx, item, *rent)
	if err != nil {
		return err
	}
	fmt.Printf("bought %s (%s) for %d.%02d; balance %d.%02d; license expires %s\n", item, p.License.Kind,
		p.ChargedCents/100, p.ChargedCents%100, p.BalanceCents/100, p.BalanceCents%100, p.License.Expires.Format(time.RFC3339))
	return nil
}

func play(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("play", flag.ExitOnError)
	dir := fs.String("dir", defaultDir(), "state folder")
	out := fs.String("out", "-", "write the decrypted title to FILE, or - for standard output")
	st, item, err := oneItem(ctx, fs, args, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := (&firmware.API{Store: st, Now: time.Now}).Open(ctx, item)
	if err != nil {
		return fmt.Errorf("cannot play: %w", err)
	}
	defer t.Close()
	release, err := (&firmware.API{Store: st, Now: time.Now}).Hold(ctx, item)
	if err != nil {
		return err
	}
	defer release()
	if *out == "-" {
		err = player.Copy(ctx, os.Stdout, t)
	} else {
		err = player.WriteFile(ctx, t, *out)
	}
	if err != nil {
		return fmt.Errorf("playback stopped: %w", err)
	}
	return nil
}

func status(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("status", flag.ExitOnError)
	dir := fs.String("dir", defaultDir(), "state folder")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	id, err := st.Identity(ctx)
	if err != nil {
		return err
	}
	wishes, _, err := st.Wishlist(ctx)
	if err != nil {
		return err
	}
	items, err := st.Items(ctx)
	if err != nil {
		return err
	}
	spaces, err := st.Spaces(ctx)
	if err != nil {
		return err
	}
	evictions, err := st.Evictions(ctx)
	if err != nil {
		return err
	}
	refusals, err := st.Refusals(ctx)
	if err != nil {
		return err
	}
	type itemJSON struct {
		Item            media.ItemID `json:"item"`
		Pieces          int          `json:"pieces"`
		Complete        bool         `json:"complete"`
		BytesFromServer int64        `json:"bytes_from_server"`
		BytesFromPeers  int64        `json:"bytes_from_peers"`
		Area            string       `json:"area"`
		Size            int64        `json:"size"`
		// Range is a range placement's pieces (a flash crowd's title placed piece range by
		// piece range into idle boxes' cache); absent for a whole item.
		Range *media.PieceRange `json:"range,omitempty"`
	}
	type areaJSON struct {
		Area  string `json:"area"`
		Quota int64  `json:"quota"`
		Used  int64  `json:"used"`
		Free  int64  `json:"free"`
		Full  bool   `json:"full"`
	}
	type evictionJSON struct {
		Item   media.ItemID `json:"item"`
		Area   string       `json:"area"`
		Reason string       `json:"reason"`
	}
	out := struct {
		Box       media.BoxID    `json:"box"`
		Account   string         `json:"account"`
		Headend   string         `json:"headend"`
		Wishlist  []media.ItemID `json:"wishlist"`
		Items     []itemJSON     `json:"items"`
		Areas     []areaJSON     `json:"areas"`
		Evictions []evictionJSON `json:"evictions"`
		Refused   []evictionJSON `json:"refused"` // items not taken in for lack of space, and why
	}{Box: id.Box, Account: id.Account, Headend: id.HeadendURL, Wishlist: wishes, Items: []itemJSON{}, Evictions: []evictionJSON{}, Refused: []evictionJSON{}}
	for _, it := range items {
		j := itemJSON{it.ID, it.Pieces, it.Complete, it.BytesFromServer, it.BytesFromPeers, it.Area, it.Size, nil}
		if !it.Range.Empty() {
			r := it.Range
			j.Range = &r
		}
		out.Items = append(out.Items, j)
	}
	for _, sp := range spaces {
		out.Areas = append(out.Areas, areaJSON{sp.Area, sp.Quota, sp.Used, sp.Free, sp.Full})
	}
	for _, e := range evictions {
		out.Evictions = append(out.Evictions, evictionJSON{e.Item, e.Area, e.Reason})
	}
	for _, r := range refusals {
		out.Refused = append(out.Refused, evictionJSON{r.Item, r.Area, r.Reason})
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	fmt.Printf("box %s (account %s, head-end %s)\n", out.Box, out.Account, out.Headend)
	for i, w := range wishes {
		fmt.Printf("wish #%d %s\n", i+1, w)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tAREA\tPIECES\tREADY\tFROM SERVER\tFROM PEERS")
	for _, it := range out.Items {
		area := it.Area
		if it.Range != nil {
			area += fmt.Sprintf(" (pieces %d-%d only)", it.Range.Begin, it.Range.End-1)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%d\t%d\n", it.Item, area, it.Pieces, it.Complete, it.BytesFromServer, it.BytesFromPeers)
	}
	fmt.Fprintln(tw, "\nAREA\tQUOTA\tUSED\tFREE\t")
	for _, a := range out.Areas {
		full := ""
		if a.Full {
			full = "FULL"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", a.Area, a.Quota, a.Used, a.Free, full)
	}
	for _, r := range out.Refused {
		fmt.Fprintf(tw, "\nNOT FETCHED %s: %s\n", r.Item, r.Reason)
	}
	return tw.Flush()
}

func wait(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	dir := fs.String("dir", defaultDir(), "state folder")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	st, item, err := oneItem(ctx, fs, args, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	for {
		it, err := st.GetItem(ctx, item)
		if err == nil && it.Complete {
			fmt.Printf("%s ready: %d bytes from server, %d from peers\n", it.ID, it.BytesFromServer, it.BytesFromPeers)
			return nil
		}
		if err == nil && !it.Range.Empty() {
			wished, _, werr := st.Wishlist(ctx)
			if werr == nil && !slices.Contains(wished, item) {
				return fmt.Errorf("%s is kept here for neighbours (pieces %d-%d only) and never completes on its own: wish it (swarmboxd wish %s) to fetch the rest", item, it.Range.Begin, it.Range.End-1, item)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s", item, *timeout)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
