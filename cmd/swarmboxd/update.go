package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/firmware"
	"swarmbox/firmware/bootctl"
	"swarmbox/firmware/boxbus"
	"swarmbox/firmware/bundle"
	"swarmbox/internal/cmdline"
)

// update is `swarmboxd update status|install|confirm` (FW-2..FW-6): the box's firmware slots.
func update(ctx context.Context, args []string) error {
	if len(args) < 1 {
		return errors.New("update needs a subcommand: status, install BUNDLE|URL|- or confirm")
	}
	switch args[0] {
	case "status":
		return updateStatus(args[1:])
	case "install":
		return updateInstall(ctx, args[1:])
	case "confirm":
		return updateConfirm(bootctl.Host)
	}
	return fmt.Errorf("update %s: unknown subcommand (status, install, confirm)", args[0])
}

// slotStatus is what `update status` shows.
type slotStatus struct {
	Booted    string    `json:"booted"`
	Active    string    `json:"active"`
	Trying    string    `json:"trying"`
	TriesLeft int       `json:"tries_left"`
	Versions  [2]string `json:"versions"` // slot a, slot b ("" = empty)
	Running   string    `json:"running"`  // the booted slot's version
	Note      string    `json:"note"`     // the last event: an install, a confirmation, a fall back and why
}

func readSlotStatus(sys bootctl.System) (slotStatus, error) {
	booted, f, r, err := sys.Current()
	if err != nil {
		return slotStatus{}, err
	}
	f.Close()
	return slotStatus{Booted: booted.String(), Active: r.Active.String(), Trying: r.Trying.String(), TriesLeft: int(r.TriesLeft),
		Versions: r.Versions, Running: r.Version(booted), Note: r.Note}, nil
}

func updateStatus(args []string) error {
	fs := flag.NewFlagSet("update status", flag.ExitOnError)
	asJSON := fs.Bool("json", false, "one JSON object")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	s, err := readSlotStatus(bootctl.Host)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(s)
	}
	show := func(v string) string {
		if v == "" {
			return "(empty)"
		}
		return v
	}
	fmt.Printf("running  version %s from slot %s\nactive   slot %s\ntrying   %s", show(s.Running), s.Booted, s.Active, s.Trying)
	if s.Trying != "none" {
		fmt.Printf(" (%d trial boots left)", s.TriesLeft)
	}
	fmt.Printf("\nslot a   %s\nslot b   %s\nlast     %s\n", show(s.Versions[0]), show(s.Versions[1]), s.Note)
	return nil
}

// openBundle opens a bundle file, "-" (stdin) or an http(s) URL, always as a stream.
func openBundle(ctx context.Context, src string) (io.ReadCloser, error) {
	switch {
	case src == "-":
		return io.NopCloser(os.Stdin), nil
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch the bundle: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("fetch the bundle: %s answered %s", src, resp.Status)
		}
		return resp.Body, nil
	}
	return os.Open(src)
}

func updateInstall(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("update install", flag.ExitOnError)
	keyPath := fs.String("key", "/etc/swarmbox/firmware.pub", "the operator's firmware public key")
	hwPath := fs.String("hardware", "/etc/swarmbox/hardware", "the file naming this box's hardware")
	tries := fs.Uint("tries", 3, "trial boots the new slot gets before the box falls back (1–9)")
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("update install [-tries N] BUNDLE|URL|-")
	}
	if *tries < 1 || *tries > 9 {
		return fmt.Errorf("-tries %d: give 1 to 9", *tries)
	}
	key, err := bundle.LoadPublicKey(*keyPath)
	if err != nil {
		return err
	}
	hw, err := os.ReadFile(*hwPath)
	if err != nil {
		return fmt.Errorf("which hardware this box is: %w", err)
	}
	sys := bootctl.Host
	booted, err := sys.BootedSlot()
	if err != nil {
		return err
	}
	rec, err := sys.OpenDevice()
	if err != nil {
		return err
	}
	defer rec.Close()
	src, err := openBundle(ctx, pos[0])
	if err != nil {
		return err
	}
	defer src.Close()
	b := bundle.Box{Record: rec, Booted: booted, Hardware: string(bytes.TrimSpace(hw)), Key: key, Tries: uint8(*tries),
		OpenSlot: func(s bootctl.Slot) (bundle.SlotWriter, int64, error) {
			dev, err := sys.SlotDevice(s)
			if err != nil {
				return nil, 0, err
			}
			f, err := os.OpenFile(dev, os.O_WRONLY, 0)
			if err != nil {
				return nil, 0, err
			}
			size, err := f.Seek(0, io.SeekEnd)
			if err != nil {
				f.Close()
				return nil, 0, err
			}
			return f, size, nil
		}}
	res, err := b.Install(ctx, src)
	if err != nil {
		return err
	}
	fmt.Printf("installed version %s into slot %s in %s (%.1f MB/s); restart to try it (%d trial boots, then back to slot %s)\n",
		res.Manifest.Version, res.Slot, res.Elapsed.Round(time.Millisecond), float64(res.Manifest.Image.Size)/1e6/res.Elapsed.Seconds(), *tries, res.Record.Active)
	return nil
}

// updateConfirm marks the booted slot good if it is on trial.
func updateConfirm(sys bootctl.System) error {
	booted, f, _, err := sys.Current()
	if err != nil {
		return err
	}
	defer f.Close()
	n, ok, err := bootctl.ConfirmOn(f, booted)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Printf("slot %s is not on trial: nothing to confirm\n", booted)
		return nil
	}
	fmt.Println(n.Note)
	return nil
}

// confirmWhenHealthy runs beside the daemon on a box booted from a slot on trial: once the
// box's API answers on D-Bus (the daemon is up and its storage open) and the TV UI is
// connected to the bus, it marks the slot good (FW-5). It does nothing on a box without A/B
// slots or not on trial; if the check never passes, the initramfs's watchdog reboots the box
// and the trial uses up a try.
func confirmWhenHealthy(ctx context.Context, sys bootctl.System, bus, busName string, log *slog.Logger) {
	if bus == "" {
		return
	}
	booted, f, r, err := sys.Current()
	if err != nil {
		return // not an A/B box (a development machine, an older image)
	}
	defer f.Close()
	if r.Trying != booted {
		return
	}
	log.Info("firmware: trial boot; waiting for the health check", "slot", booted.String())
	start := time.Now()
	var conn *dbus.Conn
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if conn == nil {
			if conn, err = firmware.ConnectBus(bus); err != nil {
				conn = nil
				continue
			}
			defer conn.Close()
		}
		if why := unhealthy(conn, busName); why != "" {
			continue
		}
		n, ok, err := bootctl.ConfirmOn(f, booted)
		if err != nil {
			log.Error("firmware: confirm the slot", "err", err)
			return
		}
		if !ok {
			return
		}
		log.Info("firmware: slot healthy, confirmed", "slot", booted.String(), "version", n.Version(booted), "after", time.Since(start).Round(time.Millisecond))
		return
	}
}

// unhealthy says what the health check still misses ("" when healthy): the box's API on the
// bus answering Status (so the daemon runs and its storage is open), and the TV UI connected.
func unhealthy(conn *dbus.Conn, busName string) string {
	var box, account, headend, disk string
	var items []boxbus.Local
	if err := conn.Object(busName, boxbus.Path).Call(boxbus.Interface+".Status", 0).Store(&box, &account, &headend, &items, &disk); err != nil {
		return "the box's API does not answer: " + err.Error()
	}
	var names []string
	if err := conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
		return err.Error()
	}
	for _, n := range names {
		var pid uint32
		if !strings.HasPrefix(n, ":") || conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, n).Store(&pid) != nil {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if w := bytes.Split(cmd, []byte{0}); len(w) > 1 && string(w[1]) == "ui" {
			return ""
		}
	}
	return "the TV UI is not connected"
}
