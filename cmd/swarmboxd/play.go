package main

import (
	"context"
	"fmt"
	"io"
)

// play decrypts a bought title to a file or standard output: `swarmboxd play ITEM --out FILE|-`.
func play(ctx context.Context, args []string) error {
	fs := newFlags("play")
	out := fs.String("out", "-", "write the decrypted title to FILE, or - for standard output")
	box, item, err := oneItem(ctx, fs, args)
	if err != nil {
		return err
	}
	defer box.Close()
	if err := writeOut(*out, func(w io.Writer) error { return box.Watch(ctx, item, w) }); err != nil {
		return fmt.Errorf("cannot play: %w", err)
	}
	return nil
}
