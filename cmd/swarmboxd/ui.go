package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"swarmbox/firmware"
	"swarmbox/firmware/boxbus"
	"swarmbox/hw/remote"
	"swarmbox/internal/cmdline"
	"swarmbox/ui"
)

// runUI is the TV UI: `swarmboxd ui`.
func runUI(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ui", flag.ExitOnError)
	bus := fs.String("dbus", "system", `the bus the box's API is on: "system", "session" or a bus address`)
	busName := fs.String("dbus-name", boxbus.Name, "the box's D-Bus name")
	playerCmd := fs.String("player", "mpv", "media player to start with the playback URL, if installed")
	remoteDev := fs.String("remote", "", `remote control input: "auto" (every /dev/input/event* with keys), "none", or device paths separated by commas; default: auto on a Linux console (the TV), none in a terminal window`)
	positionsFile := fs.String("positions", defaultPositions(), `file that keeps where each title was stopped ("Continue watching"); "" keeps none`)
	keymapFile := fs.String("keymap", "", "keymap file for the remote (\"KEY_NAME button\" per line); built-in default when empty")
	safeArea := fs.Int("safe-area", 0, "percent of the screen's width and height left blank at each edge, 0–20 (a television crops them; the box uses 5)")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if *safeArea < 0 || *safeArea > 20 {
		return fmt.Errorf("-safe-area %d: give a percent from 0 to 20 (5 suits a television)", *safeArea)
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
	app := ui.New(ui.NewDBusBox(conn, *busName), *playerCmd, ui.WithSafeArea(*safeArea))
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
					app.PressRemote(p)
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
