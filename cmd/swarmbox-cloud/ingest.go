package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"swarmbox/cloud/repository"
	"swarmbox/internal/cmdline"
	"swarmbox/internal/progress"
)

// ingest seals a file into the repository and adds it to the catalog with its wrapped key.
func ingest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	sf := addStoreFlags(fs)
	title := fs.String("title", "", "title shown in the catalog (required)")
	kind := fs.String("kind", "video", "video, audio or file")
	category := fs.String("category", "", `shelf, e.g. "drama" or "films/drama" (lower case; letters, digits, spaces, -; one /); empty = uncategorised`)
	price := fs.Int64("price", 399, "price to own, in cents (a rental costs a third)")
	jsonOut := fs.Bool("json", false, "print the new item as JSON")
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("ingest takes one FILE")
	}
	st, err := sf.openState(ctx)
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
