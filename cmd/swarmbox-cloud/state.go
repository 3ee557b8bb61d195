package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"

	"swarmbox/cloud/keyvault"
	"swarmbox/cloud/repository"
	"swarmbox/cloud/store"
	"swarmbox/internal/cmdline"
)

// defaultState is the state folder when -state is not given.
func defaultState() string {
	if s := os.Getenv("SWARMBOX_CLOUD_STATE"); s != "" {
		return s
	}
	return "cloud-state"
}

// storeFlags are the flags of every subcommand that opens the store: -state, the state folder
// (the SQLite database, the key vault's keys, the repository), and -database, a SQLite file or a
// postgres:// URL (default $SWARMBOX_DATABASE, else STATE/headend.db).
type storeFlags struct {
	dir      string
	database string
}

// addStoreFlags adds -state and -database to fs.
func addStoreFlags(fs *flag.FlagSet) *storeFlags {
	f := &storeFlags{}
	fs.StringVar(&f.dir, "state", defaultState(), "state folder")
	fs.StringVar(&f.database, "database", os.Getenv("SWARMBOX_DATABASE"), "SQLite file or postgres:// URL (default STATE/headend.db)")
	return f
}

// open opens (and migrates) the store the flags name; the caller closes it. Every subcommand
// opens the store through here.
func (f *storeFlags) open(ctx context.Context) (*store.Store, error) {
	if f.database != "" {
		return store.Open(ctx, f.database)
	}
	return store.Open(ctx, filepath.Join(f.dir, "headend.db"))
}

// storeCommand parses a subcommand's flags (-state, -database and those flags adds) and opens
// the store; the caller closes it.
func storeCommand(ctx context.Context, name string, args []string, flags func(*flag.FlagSet)) (*store.Store, []string, error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	sf := addStoreFlags(fs)
	if flags != nil {
		flags(fs)
	}
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	st, err := sf.open(ctx)
	return st, pos, err
}

// state is the store with the key vault and the repository kept beside it in the state folder.
type state struct {
	store *store.Store
	vault *keyvault.Vault
	repo  *repository.Repository
}

// openState opens the store (open), the key vault and the repository; the caller closes the store.
func (f *storeFlags) openState(ctx context.Context) (*state, error) {
	st, err := f.open(ctx)
	if err != nil {
		return nil, err
	}
	v, err := keyvault.Open(filepath.Join(f.dir, "keys"))
	if err != nil {
		st.Close()
		return nil, err
	}
	r, err := repository.Open(filepath.Join(f.dir, "repository"))
	if err != nil {
		st.Close()
		return nil, err
	}
	return &state{store: st, vault: v, repo: r}, nil
}
