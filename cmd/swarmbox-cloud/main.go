// Command swarmbox-cloud is the operator's head-end: it serves the catalog, plans transfers,
// tracks swarms, seeds from the repository and sells licenses; its subcommands ingest titles and
// manage accounts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"swarmbox/cloud/headend"
	"swarmbox/cloud/keyvault"
	"swarmbox/cloud/repository"
	"swarmbox/cloud/store"
	"swarmbox/internal/cmdline"
	"swarmbox/internal/progress"
	"swarmbox/media/sample"
)

const usage = `swarmbox-cloud — the swarmbox head-end

Usage:
  swarmbox-cloud serve    [-state DIR] [-listen ADDR] [-public-url URL] [-sync-interval D]
  swarmbox-cloud ingest   [-state DIR] -title T [-kind video|audio|file] [-price CENTS] FILE
  swarmbox-cloud account  create [-state DIR] -region R [-credit CENTS] ID
  swarmbox-cloud account  show   [-state DIR] ID
  swarmbox-cloud catalog  [-state DIR] [-json]
  swarmbox-cloud transfers [-state DIR] [-json]
  swarmbox-cloud testcard -kind video|audio [-seconds N] [-seed N] FILE

The state folder (default $SWARMBOX_CLOUD_STATE or ./cloud-state) holds the database, the key
vault's keys and the repository of sealed containers.
`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, args)
	case "ingest":
		err = ingest(ctx, args)
	case "account":
		err = account(ctx, args)
	case "catalog":
		err = catalog(ctx, args)
	case "transfers":
		err = transfers(ctx, args)
	case "testcard":
		err = testcard(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarmbox-cloud:", err)
		os.Exit(1)
	}
}

func defaultState() string {
	if s := os.Getenv("SWARMBOX_CLOUD_STATE"); s != "" {
		return s
	}
	return "cloud-state"
}

func openStore(ctx context.Context, dir string) (*store.Store, error) {
	return store.Open(ctx, filepath.Join(dir, "headend.db"))
}

type state struct {
	store *store.Store
	vault *keyvault.Vault
	repo  *repository.Repository
}

func openState(ctx context.Context, dir string) (*state, error) {
	st, err := openStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	v, err := keyvault.Open(filepath.Join(dir, "keys"))
	if err != nil {
		st.Close()
		return nil, err
	}
	r, err := repository.Open(filepath.Join(dir, "repository"))
	if err != nil {
		st.Close()
		return nil, err
	}
	return &state{store: st, vault: v, repo: r}, nil
}

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	listen := fs.String("listen", "127.0.0.1:8700", "address to serve on")
	public := fs.String("public-url", "", "URL boxes use to reach this head-end (default http://LISTEN)")
	syncEvery := fs.Duration("sync-interval", 30*time.Second, "how often idle boxes sync")
	rental := fs.Duration("rental-window", 48*time.Hour, "how long a rental plays")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM)")
	tlsKey := fs.String("tls-key", "", "key of -tls-cert (PEM)")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	st, err := openState(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.store.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another head-end running?)", *listen, err)
	}
	if *public == "" {
		scheme := "http"
		if *tlsCert != "" {
			scheme = "https"
		}
		*public = scheme + "://" + ln.Addr().String()
	}
	srv := headend.New(headend.Config{
		Store: st.store, Vault: st.vault, Repo: st.repo, PublicURL: *public,
		SyncInterval: *syncEvery, RentalWindow: *rental, Log: slog.Default(),
	})
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	slog.Info("head-end serving", "addr", ln.Addr().String(), "public_url", *public, "state", *dir)
	if *tlsCert != "" {
		err = hs.ServeTLS(ln, *tlsCert, *tlsKey)
	} else {
		err = hs.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func ingest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	title := fs.String("title", "", "title shown in the catalog (required)")
	kind := fs.String("kind", "video", "video, audio or file")
	price := fs.Int64("price", 399, "price to own, in cents (a rental costs a third)")
	jsonOut := fs.Bool("json", false, "print the new item as JSON")
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("ingest takes one FILE")
	}
	st, err := openState(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.store.Close()
	fi, err := os.Stat(pos[0])
	if err != nil {
		return err
	}
	bar := progress.Bytes(fi.Size(), "sealing "+filepath.Base(pos[0]))
	it, key, err := st.repo.Ingest(ctx, pos[0], repository.IngestOptions{Title: *title, Kind: *kind, PriceCents: *price, Progress: bar.Set})
	if err != nil {
		return err
	}
	bar.Finish()
	if err := st.store.AddItem(ctx, it, st.vault.Wrap(it.ID, key)); err != nil {
		st.repo.Remove(it.ID)
		return fmt.Errorf("record item: %w", err)
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(it.CatalogItem)
	}
	fmt.Printf("%s\t%s\t%s\t%d bytes sealed\t%d pieces\n", it.ID, it.Kind, it.Title, it.SealedSize, it.Pieces)
	return nil
}

func account(ctx context.Context, args []string) error {
	if len(args) < 1 {
		return errors.New("account needs a subcommand: create or show")
	}
	fs := flag.NewFlagSet("account "+args[0], flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	region := fs.String("region", "", "the account's region (create)")
	credit := fs.Int64("credit", 0, "starting balance in cents (create)")
	pos, err := cmdline.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("give one account ID")
	}
	st, err := openStore(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "create":
		if err := st.CreateAccount(ctx, pos[0], *region, *credit, time.Now()); err != nil {
			return err
		}
		fallthrough
	case "show":
		a, err := st.Account(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Printf("%s\t%s\tregion=%s\tbalance=%d cents\n", a.ID, a.Status, a.Region, a.BalanceCents)
		return nil
	}
	return fmt.Errorf("unknown account subcommand %q", args[0])
}

func catalog(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("catalog", flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.Catalog(ctx)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(c)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tTITLE\tSIZE\tPRICE")
	for _, it := range c.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d.%02d\n", it.ID, it.Kind, it.Title, it.Size, it.PriceCents/100, it.PriceCents%100)
	}
	return tw.Flush()
}

func transfers(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("transfers", flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	jsonOut := fs.Bool("json", false, `print one JSON line {"transfers":[...]}`)
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	ts, err := st.Transfers(ctx)
	if err != nil {
		return err
	}
	if *jsonOut {
		type row struct {
			Box             string `json:"box"`
			Item            string `json:"item"`
			BytesFromServer int64  `json:"bytes_from_server"`
			BytesFromPeers  int64  `json:"bytes_from_peers"`
		}
		rows := []row{}
		for _, t := range ts {
			rows = append(rows, row{t.Box.String(), t.Item.String(), t.BytesFromServer, t.BytesFromPeers})
		}
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"transfers": rows})
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BOX\tITEM\tTITLE\tFROM SERVER\tFROM PEERS\tSERVER COUNTED\tDONE")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%v\n", t.Box.String()[:8], t.Item.String()[:8], t.Title, t.BytesFromServer, t.BytesFromPeers, t.ServerCounted, t.Complete)
	}
	return tw.Flush()
}

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
