// Command swarmbox-cloud is the operator's head-end: it serves the catalog, plans transfers,
// tracks swarms, seeds from the repository and sells licenses; its subcommands ingest titles and
// manage accounts.
package main

import (
	"bufio"
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
	"runtime/pprof"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"swarmbox/cloud/headend"
	"swarmbox/cloud/keyvault"
	cloudload "swarmbox/cloud/loadgen"
	"swarmbox/cloud/repository"
	"swarmbox/cloud/sales"
	"swarmbox/cloud/scheduler"
	"swarmbox/cloud/store"
	"swarmbox/cloud/web"
	"swarmbox/internal/cmdline"
	"swarmbox/internal/progress"
	"swarmbox/media"
	"swarmbox/media/sample"
	"swarmbox/sync/protocol"
)

const usage = `swarmbox-cloud — the swarmbox head-end

Usage:
  swarmbox-cloud serve    [-state DIR] [-database DSN] [-listen ADDR] [-public-url URL]
                          [-sync-interval D] [-region-map FILE] [-secure-cookies]
  swarmbox-cloud ingest   [-state DIR] -title T [-kind video|audio|file] [-category C] [-price CENTS] FILE
  swarmbox-cloud category [-state DIR] ITEM [CATEGORY]    (shows or sets; "uncategorised" clears)
  swarmbox-cloud account  create  [-state DIR] -region R [-credit CENTS] [-password-stdin] ID
  swarmbox-cloud account  suspend|resume|close|show [-state DIR] [-json] ID
  swarmbox-cloud account  topup   [-state DIR] -amount CENTS ID
  swarmbox-cloud account  password [-state DIR] ID        (reads the password from stdin)
  swarmbox-cloud regions  [-state DIR] ITEM [REGION,...]  (none = licensable everywhere)
  swarmbox-cloud keys     rotate [-state DIR]
  swarmbox-cloud audit    [-state DIR] [-n N] [-json]
  swarmbox-cloud catalog  [-state DIR] [-json]
  swarmbox-cloud transfers [-state DIR] [-json]
  swarmbox-cloud loadgen  [-boxes N] [-duration D] [-database DSN | -url URL -account A] [-json]
  swarmbox-cloud testcard -kind video|audio [-seconds N] [-seed N] FILE

The state folder (default $SWARMBOX_CLOUD_STATE or ./cloud-state) holds the database, the key
vault's keys and the repository of sealed containers. -database (default $SWARMBOX_DATABASE,
else DIR/headend.db) is a SQLite file or a postgres:// URL; every command takes it.
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
	case "regions":
		err = regions(ctx, args)
	case "category":
		err = setCategory(ctx, args)
	case "keys":
		err = keys(ctx, args)
	case "audit":
		err = auditLog(ctx, args)
	case "loadgen":
		err = loadgen(ctx, args)
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

// database is the -database flag every command shares.
var database = os.Getenv("SWARMBOX_DATABASE")

func addDatabaseFlag(fs *flag.FlagSet) {
	fs.StringVar(&database, "database", database, "SQLite file or postgres:// URL (default STATE/headend.db)")
}

// storeCommand parses a subcommand's flags (-state, -database and those flags adds) and opens
// the store; the caller closes it.
func storeCommand(ctx context.Context, name string, args []string, flags func(*flag.FlagSet)) (*store.Store, []string, error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	addDatabaseFlag(fs)
	if flags != nil {
		flags(fs)
	}
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, *dir)
	return st, pos, err
}

func openStore(ctx context.Context, dir string) (*store.Store, error) {
	if database != "" {
		return store.Open(ctx, database)
	}
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
	regionMap := fs.String("region-map", "", `file of "CIDR REGION" lines: licenses only for requests from the box's region's networks`)
	secure := fs.Bool("secure-cookies", false, "mark browser cookies Secure (implied by -tls-cert or an https -public-url)")
	instance := fs.String("instance", "", "this instance's name as planner lease holder, when several share a database (default host/random)")
	planPoll := fs.Duration("plan-poll", time.Second, "how often to renew planner leases and look for catalog changes and published plans")
	leaseTTL := fs.Duration("lease-ttl", 10*time.Second, "how long a region's planner lease outlives its holder")
	roundEvery := fs.Duration("round-interval", time.Minute, "how often each region is planned from scratch")
	flashDemand := fs.Int("flash-demand", scheduler.DefaultConfig.RangeDemand, "open wishes for one title in a region that make a flash crowd: idle boxes then take a piece range of it each and serve it")
	flashParts := fs.Int("flash-parts", scheduler.DefaultConfig.RangeParts, "piece ranges a flash crowd's title is cut into")
	addDatabaseFlag(fs)
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if *flashDemand < 1 || *flashParts < 2 {
		return fmt.Errorf("-flash-demand must be at least 1 and -flash-parts at least 2 (got %d and %d)", *flashDemand, *flashParts)
	}
	var policy sales.Policy
	if *regionMap != "" {
		f, err := os.Open(*regionMap)
		if err != nil {
			return fmt.Errorf("region map: %w", err)
		}
		policy.RegionMap, err = sales.ParseRegionMap(f)
		f.Close()
		if err != nil {
			return err
		}
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
	*secure = *secure || *tlsCert != "" || strings.HasPrefix(*public, "https://")
	srv, err := newHeadend(st, headend.Config{
		PublicURL: *public, SyncInterval: *syncEvery, RentalWindow: *rental, Log: slog.Default(), Policy: policy,
		Instance: *instance, PlanPoll: *planPoll, LeaseTTL: *leaseTTL, RoundInterval: *roundEvery,
		Plan: scheduler.Config{RangeDemand: *flashDemand, RangeParts: *flashParts},
	}, *secure)
	if err != nil {
		return err
	}
	srv.Start(ctx)
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	slog.Info("head-end serving", "addr", ln.Addr().String(), "public_url", *public, "state", *dir, "store", st.store.Engine())
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

// newHeadend wires the head-end with its browser catalog.
func newHeadend(st *state, cfg headend.Config, secureCookies bool) (*headend.Server, error) {
	cfg.Store, cfg.Vault, cfg.Repo = st.store, st.vault, st.repo
	var srv *headend.Server
	w, err := web.New(web.Config{Store: st.store, Secure: secureCookies, Log: cfg.Log,
		OnSignInFailure: func() { srv.CountSignInFailure() }})
	if err != nil {
		return nil, err
	}
	cfg.Web = w.Handler()
	srv = headend.New(cfg)
	return srv, nil
}

func ingest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	title := fs.String("title", "", "title shown in the catalog (required)")
	kind := fs.String("kind", "video", "video, audio or file")
	category := fs.String("category", "", `shelf, e.g. "drama" or "films/drama" (lower case; letters, digits, spaces, -; one /); empty = uncategorised`)
	price := fs.Int64("price", 399, "price to own, in cents (a rental costs a third)")
	jsonOut := fs.Bool("json", false, "print the new item as JSON")
	addDatabaseFlag(fs)
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
	it, key, err := st.repo.Ingest(ctx, pos[0], repository.IngestOptions{Title: *title, Kind: *kind, Category: *category, PriceCents: *price, Progress: bar.Set})
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
		return errors.New("account needs a subcommand: create, suspend, resume, close, topup, password or show")
	}
	fs := flag.NewFlagSet("account "+args[0], flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	region := fs.String("region", "", "the account's region (create)")
	credit := fs.Int64("credit", 0, "starting balance in cents (create)")
	amount := fs.Int64("amount", 0, "cents to add (topup)")
	pwStdin := fs.Bool("password-stdin", false, "read the customer's web password from stdin (create)")
	jsonOut := fs.Bool("json", false, "print the account as JSON")
	addDatabaseFlag(fs)
	pos, err := cmdline.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("give one account ID")
	}
	id := pos[0]
	st, err := openStore(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	switch args[0] {
	case "create":
		if err := st.CreateAccount(ctx, id, *region, *credit, now); err != nil {
			return err
		}
		if *pwStdin {
			if err := setPassword(ctx, st, id); err != nil {
				return err
			}
		}
	case "suspend":
		_, err = st.SetStatus(ctx, id, store.StatusSuspended, now)
	case "resume":
		_, err = st.SetStatus(ctx, id, store.StatusActive, now)
	case "close":
		_, err = st.SetStatus(ctx, id, store.StatusClosed, now)
	case "topup":
		_, err = st.TopUp(ctx, id, *amount, now)
	case "password":
		err = setPassword(ctx, st, id)
	case "show":
	default:
		return fmt.Errorf("unknown account subcommand %q: use create, suspend, resume, close, topup, password or show", args[0])
	}
	if err != nil {
		return err
	}
	a, err := st.Account(ctx, id)
	if err != nil {
		return err
	}
	ledger, err := st.Ledger(ctx, id)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"account": a, "ledger": ledger})
	}
	fmt.Printf("%s\t%s\tregion=%s\tbalance=%d cents\n", a.ID, a.Status, a.Region, a.BalanceCents)
	if args[0] == "show" {
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tKIND\tCENTS\tITEM\tNOTE")
		for _, e := range ledger {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", e.At.Format(time.RFC3339), e.Kind, e.AmountCents, e.Item, e.Note)
		}
		return tw.Flush()
	}
	return nil
}

// setPassword reads one line from stdin and stores its hash as the customer's web password.
func setPassword(ctx context.Context, st *store.Store, id string) error {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("read the password from stdin: %w", err)
	}
	h, err := web.HashPassword(strings.TrimRight(line, "\r\n"))
	if err != nil {
		return err
	}
	return st.SetPassword(ctx, id, h)
}

func regions(ctx context.Context, args []string) error {
	st, pos, err := storeCommand(ctx, "regions", args, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(pos) < 1 || len(pos) > 2 {
		return errors.New("regions takes ITEM and optionally REGION,REGION,…")
	}
	item, err := media.ParseItemID(pos[0])
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		var rs []string
		for _, r := range strings.Split(pos[1], ",") {
			if r = strings.TrimSpace(r); r != "" {
				rs = append(rs, r)
			}
		}
		if err := st.SetItemRegions(ctx, item, rs); err != nil {
			return err
		}
	}
	rs, err := st.ItemRegions(ctx, item)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		fmt.Println("everywhere")
		return nil
	}
	fmt.Println(strings.Join(rs, ","))
	return nil
}

// setCategory shows or sets the category of one title.
func setCategory(ctx context.Context, args []string) error {
	st, pos, err := storeCommand(ctx, "category", args, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(pos) < 1 || len(pos) > 2 {
		return errors.New("category takes ITEM and optionally CATEGORY")
	}
	item, err := media.ParseItemID(pos[0])
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		if err := st.SetItemCategory(ctx, item, pos[1]); err != nil {
			return err
		}
	}
	it, err := st.Item(ctx, item)
	if err != nil {
		return err
	}
	fmt.Println(categoryName(it.Category))
	return nil
}

func categoryName(c string) string {
	if c == "" {
		return protocol.Uncategorised
	}
	return c
}

func keys(ctx context.Context, args []string) error {
	if len(args) < 1 || args[0] != "rotate" {
		return errors.New("keys needs a subcommand: rotate")
	}
	fs := flag.NewFlagSet("keys rotate", flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	addDatabaseFlag(fs)
	if _, err := cmdline.Parse(fs, args[1:]); err != nil {
		return err
	}
	st, err := openState(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.store.Close()
	n, err := st.vault.Rotate(ctx, filepath.Join(*dir, "keys"), st.store)
	if err != nil {
		return err
	}
	fmt.Printf("master key rotated; %d content keys re-wrapped\n", n)
	return nil
}

func auditLog(ctx context.Context, args []string) error {
	var n int
	var jsonOut bool
	st, _, err := storeCommand(ctx, "audit", args, func(fs *flag.FlagSet) {
		fs.IntVar(&n, "n", 50, "how many of the newest decisions")
		fs.BoolVar(&jsonOut, "json", false, "print JSON")
	})
	if err != nil {
		return err
	}
	defer st.Close()
	log, err := st.AuditLog(ctx, n)
	if err != nil {
		return err
	}
	if jsonOut {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"audit": log})
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tOUTCOME\tREASON\tACCOUNT\tBOX\tITEM\tKIND\tSOURCE")
	for _, e := range log {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.8s\t%.8s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Outcome, e.Reason, e.Account, e.Box, e.Item, e.Kind, e.Source)
	}
	return tw.Flush()
}

func catalog(ctx context.Context, args []string) error {
	var jsonOut bool
	st, _, err := storeCommand(ctx, "catalog", args, func(fs *flag.FlagSet) { fs.BoolVar(&jsonOut, "json", false, "print JSON") })
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.Catalog(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		return json.NewEncoder(os.Stdout).Encode(c)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tCATEGORY\tTITLE\tSIZE\tPRICE")
	for _, it := range c.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d.%02d\n", it.ID, it.Kind, categoryName(it.Category), it.Title, it.Size, it.PriceCents/100, it.PriceCents%100)
	}
	return tw.Flush()
}

func transfers(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("transfers", flag.ExitOnError)
	dir := fs.String("state", defaultState(), "state folder")
	jsonOut := fs.Bool("json", false, `print one JSON line {"transfers":[...]}`)
	addDatabaseFlag(fs)
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

func loadgen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ExitOnError)
	o := cloudload.Options{}
	fs.IntVar(&o.Boxes, "boxes", 1000, "simulated boxes")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to measure")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "syncs in flight (default min(boxes, 64))")
	fs.StringVar(&o.URL, "url", "", "a running head-end (default: start one in this process)")
	fs.StringVar(&o.Account, "account", "loadgen", "account the boxes register under (must exist with -url)")
	fs.StringVar(&o.Database, "database", "", "in-process head-end's database: SQLite path or postgres:// URL (default a temporary SQLite file)")
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
	fmt.Printf("%s: %d boxes, %d in flight: %.0f syncs/s, p50 %.2f ms, p99 %.2f ms (%d syncs, %d errors, %.1f s)\n",
		res.Store, res.Boxes, res.Concurrency, res.SyncsPerSecond, res.P50ms, res.P99ms, res.Syncs, res.Errors, res.Seconds)
	return nil
}
