package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"swarmbox/cloud/fleet"
	"swarmbox/cloud/headend"
	"swarmbox/cloud/netmap"
	regionfile "swarmbox/cloud/regions" // the command "regions" has the plain name
	"swarmbox/cloud/sales"
	"swarmbox/cloud/scheduler"
	"swarmbox/cloud/web"
	"swarmbox/internal/cmdline"
	"swarmbox/vocab"
)

// serve runs the head-end: the boxes' API, planning, tracker, web seed and the browser catalog.
func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	sf := addStoreFlags(fs)
	listen := fs.String("listen", "127.0.0.1:8700", "address to serve on")
	public := fs.String("public-url", "", "URL boxes use to reach this head-end (default http://LISTEN)")
	syncEvery := fs.Duration("sync-interval", 30*time.Second, "how often idle boxes sync")
	rental := fs.Duration("rental-window", 48*time.Hour, "how long a rental plays")
	currency := fs.String("currency", vocab.DefaultCurrency, "every price's and balance's currency, ISO 4217 (boxes learn it at each sync)")
	owned := fs.Duration("owned-renewal", 30*24*time.Hour, "how long an owned title's licence lasts; boxes renew it, free, while online (also the longest an owned title plays with no head-end contact)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM)")
	tlsKey := fs.String("tls-key", "", "key of -tls-cert (PEM)")
	regionMap := fs.String("region-map", "", `file of "CIDR REGION" lines: licenses only for requests from the box's region's networks`)
	regionFile := fs.String("regions", "", `file of "REGION HH:MM-HH:MM ZONE [BYTES_PER_SECOND]" lines: each region's off-peak window, when the server sends what is not a box's top wish, and its rate then; read again when it changes`)
	secure := fs.Bool("secure-cookies", false, "mark browser cookies Secure (implied by -tls-cert or an https -public-url)")
	instance := fs.String("instance", "", "this instance's name as planner lease holder, when several share a database (default host/random)")
	planPoll := fs.Duration("plan-poll", time.Second, "how often to renew planner leases and look for catalog changes and published plans")
	leaseTTL := fs.Duration("lease-ttl", 10*time.Second, "how long a region's planner lease outlives its holder")
	roundEvery := fs.Duration("round-interval", time.Minute, "how often each region is planned from scratch")
	flashDemand := fs.Int("flash-demand", scheduler.DefaultConfig.RangeDemand, "open wishes for one title in a region that make a flash crowd: idle boxes then take a piece range of it each and serve it")
	horizon := fs.Duration("horizon", scheduler.DefaultConfig.Horizon, "how soon a transfer should finish: where the peers are slower, the server sends too (in the region's off-peak window unless a top wish)")
	flashParts := fs.Int("flash-parts", scheduler.DefaultConfig.RangeParts, "piece ranges a flash crowd's title is cut into")
	connsPerAddr := fs.Int("conns-per-addr", 64, "connections one client address may hold open at once (boxes behind one NAT share an address); counted on the TCP peer, and not for -trusted-proxies")
	prefixes := fs.String("prefixes", "", `file of "CIDR NETWORK REGION" lines placing each box by its public address for the scheduler's tiers (longest prefix wins; "-" for a label not set); read again when it changes and on SIGHUP`)
	trusted := fs.String("trusted-proxies", "", "comma-separated addresses or CIDR prefixes of the load balancers in front of this head-end: from these only, X-Forwarded-For names the client")
	probe := fs.Bool("probe", true, "learn whether each box can be reached by dialling its BitTorrent port back (a box's -behind-nat only adds \"do not dial me\"); -probe=false takes every box's word")
	probeFrom := fs.String("probe-from", "", "dial boxes back from this address of this machine (a second address, so home routers that let in only what a box talked to are seen as they are)")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if *horizon < time.Second {
		return fmt.Errorf("-horizon must be at least 1s (got %s)", *horizon)
	}
	var prober headend.Prober
	if *probe {
		p := headend.DialProber{}
		if *probeFrom != "" {
			var err error
			if p.From, err = netip.ParseAddr(*probeFrom); err != nil {
				return fmt.Errorf("-probe-from %q: %w (give an IP address of this machine)", *probeFrom, err)
			}
		}
		prober = p
	} else if *probeFrom != "" {
		return fmt.Errorf("-probe-from needs -probe")
	}
	if *flashDemand < 1 || *flashParts < 2 {
		return fmt.Errorf("-flash-demand must be at least 1 and -flash-parts at least 2 (got %d and %d)", *flashDemand, *flashParts)
	}
	proxies, err := headend.ParseProxies(*trusted)
	if err != nil {
		return fmt.Errorf("-trusted-proxies: %w", err)
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
	var locations headend.Locator // nil: no map
	if *prefixes != "" {
		f, err := netmap.Open(*prefixes, slog.Default())
		if err != nil {
			return err
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP) // before serving: a HUP never stops the head-end
		defer signal.Stop(hup)
		go watchPrefixes(ctx, f, hup)
		locations = f
	}
	var rf *regionfile.File
	if *regionFile != "" {
		var err error
		if rf, err = regionfile.Open(*regionFile, slog.Default()); err != nil {
			return fmt.Errorf("%w (fix the file or leave -regions out for a server that sends at any time)", err)
		}
	}
	st, err := sf.openState(ctx)
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
	srv, err := newHeadend(st, filepath.Join(sf.dir, "operators"), headend.Config{
		PublicURL: *public, SyncInterval: *syncEvery, RentalWindow: *rental, OwnedRenewal: *owned, Currency: *currency, Log: slog.Default(), Policy: policy,
		Instance: *instance, PlanPoll: *planPoll, LeaseTTL: *leaseTTL, RoundInterval: *roundEvery,
		Locations: locations, TrustedProxies: proxies, Regions: rf, Prober: prober,
		Plan: scheduler.Config{Horizon: *horizon, RangeDemand: *flashDemand, RangeParts: *flashParts},
	}, *secure)
	if err != nil {
		return err
	}
	srv.Start(ctx)
	defer srv.Close()
	// Timeouts by route and a per-address connection limit (cloud/headend/serving.go).
	hs := headend.NewHTTPServer(srv.Handler(), headend.Serving{ConnsPerAddr: *connsPerAddr}, slog.Default())
	ln = headend.LimitConns(ln, *connsPerAddr, slog.Default(), proxies...)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	slog.Info("head-end serving", "addr", ln.Addr().String(), "public_url", *public, "state", sf.dir, "store", st.store.Engine())
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

// watchPrefixes reads the prefix file again when it changes (checked every few seconds, so an
// edit lands without the operator doing more) and at once on SIGHUP (the usual "reload" of a
// daemon, and sure to catch an edit that kept the file's size and time). A file that does not
// parse is logged and the last good map stays.
func watchPrefixes(ctx context.Context, f *netmap.File, hup <-chan os.Signal) {
	go f.Watch(ctx, prefixPoll)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			f.Reload() // logs what went wrong itself
		}
	}
}

// prefixPoll is how often serve looks for a changed -prefixes file.
const prefixPoll = 5 * time.Second

// newHeadend wires the head-end with its browser catalog and the operator's live view, whose
// staff are named in the file at operators (swarmbox-cloud operator password).
func newHeadend(st *state, operators string, cfg headend.Config, secureCookies bool) (*headend.Server, error) {
	cfg.Store, cfg.Vault, cfg.Repo = st.store, st.vault, st.repo
	ops, err := web.OpenOperators(operators, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("%w (fix the file, or remove it and add the staff again with swarmbox-cloud operator password)", err)
	}
	// A box is online while it keeps syncing: three missed syncs make it offline (and never
	// less than 10 s, so that a sync delayed by a busy moment is not an outage).
	figures := &fleet.Source{Store: st.store, OnlineWithin: max(3*cfg.SyncInterval, 10*time.Second), Top: 20}
	var srv *headend.Server
	w, err := web.New(web.Config{Store: st.store, Secure: secureCookies, Log: cfg.Log, Currency: cfg.Currency, RentalWindow: cfg.RentalWindow,
		OnSignInFailure: func() { srv.CountSignInFailure() }, Operators: ops, Tokens: st.vault, Fleet: figures})
	if err != nil {
		return nil, err
	}
	cfg.Web = w.Handler()
	srv = headend.New(cfg)
	if err := srv.RegisterMetrics(fleet.Collector{Source: figures, Log: cfg.Log}); err != nil {
		return nil, err
	}
	return srv, nil
}
