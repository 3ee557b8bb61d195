package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"swarmbox/internal/cmdline"
)

// keys rotates the key vault's master key, re-wrapping every content key in the store.
func keys(ctx context.Context, args []string) error {
	if len(args) < 1 || args[0] != "rotate" {
		return errors.New("keys needs a subcommand: rotate")
	}
	fs := flag.NewFlagSet("keys rotate", flag.ExitOnError)
	sf := addStoreFlags(fs)
	if _, err := cmdline.Parse(fs, args[1:]); err != nil {
		return err
	}
	st, err := sf.openState(ctx)
	if err != nil {
		return err
	}
	defer st.store.Close()
	n, err := st.vault.Rotate(ctx, filepath.Join(sf.dir, "keys"), st.store)
	if err != nil {
		return err
	}
	fmt.Printf("master key rotated; %d content keys re-wrapped\n", n)
	return nil
}
