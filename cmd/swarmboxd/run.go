package main

import (
	"context"
	"flag"
	"log/slog"
	"strings"

	"swarmbox/firmware"
	"swarmbox/firmware/bootctl"
	"swarmbox/firmware/boxbus"
	"swarmbox/internal/cmdline"
	"swarmbox/storage"
)

// run is the supervisor daemon: `swarmboxd run`.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	dir := fs.String("dir", defaultDir(), "state folder")
	headendURL := fs.String("headend", "", "head-end URL (first start)")
	enroll := fs.String("enroll", "", "enrollment token from 'swarmbox-cloud account enroll ID': pairs the box to that household as it registers")
	acct := fs.String("account", "", "no longer accepted: a box is paired with the code it shows, or with -enroll")
	listen := fs.String("listen", "0.0.0.0:6881", "BitTorrent listen address")
	adv := fs.String("advertise", "", "address other boxes dial (default: the listen address)")
	bus := fs.String("dbus", "", `publish the box's API on D-Bus: "system", "session" or a bus address`)
	busName := fs.String("dbus-name", boxbus.Name, "well-known D-Bus name to own")
	quotas := map[string]*int64{}
	for _, a := range storage.Areas {
		quotas[a] = fs.Int64("quota-"+a, 0, "byte quota of the "+a+" area (0 = the disk)")
	}
	lanIf := fs.String("lan-if", "", "interfaces for LAN discovery (mDNS), comma-separated; empty = off")
	up := fs.Int64("uplink", 0, "upload cap in bytes per second (0 = none)")
	down := fs.Int64("downlink", 0, "download cap in bytes per second (0 = none)")
	network := fs.String("network", "", "for tests only: an ISP or network label reported to the head-end, used only where the operator's prefix map (swarmbox-cloud serve -prefixes) does not list the box's address")
	nat := fs.Bool("behind-nat", false, "the box cannot accept incoming connections")
	diskStatus := fs.String("disk-status", "", "the init's record of the media disk (/run/swarmbox/disk): reported as DiskState")
	diskConfig := fs.String("disk-config", "", "the split of the media disk among the areas (e.g. DIR/disk.conf; missing file = 60% wishlist, 35% cache); quota flags win")
	planPeers := fs.Bool("plan-peers", true, "fetch from the peers the plan names (false: LAN neighbours and web seed only, for tests)")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if *acct != "" {
		return errAccountFlag
	}
	cfg := firmware.Config{Dir: *dir, HeadendURL: *headendURL, Enroll: *enroll, ListenAddr: *listen, AdvertiseAddr: *adv, DBus: *bus, DBusName: *busName,
		Quotas: map[string]int64{}, UplinkBytesPerSecond: *up, DownlinkBytesPerSecond: *down, Network: *network, BehindNAT: *nat, IgnorePlanPeers: !*planPeers}
	for a, q := range quotas {
		cfg.Quotas[a] = *q
	}
	var err error
	if cfg.Quotas, err = diskQuotas(*dir, *diskConfig, cfg.Quotas); err != nil {
		return err
	}
	cfg.DiskStatus = *diskStatus
	if *lanIf != "" {
		cfg.LANInterfaces = strings.Split(*lanIf, ",")
	}
	go confirmWhenHealthy(ctx, bootctl.Host, *bus, *busName, slog.Default()) // a trial boot's health check (update.go)
	return firmware.Run(ctx, cfg)
}
