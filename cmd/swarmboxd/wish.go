package main

import (
	"context"
	"fmt"
)

// wish sets the wishlist, most wanted first: `swarmboxd wish ITEM...`.
func wish(ctx context.Context, args []string) error {
	fs := newFlags("wish")
	names, err := fs.parse(args)
	if err != nil {
		return err
	}
	box, err := openBox(ctx, *fs.dir)
	if err != nil {
		return err
	}
	defer box.Close()
	items, err := resolve(ctx, box, names)
	if err != nil {
		return err
	}
	if err := box.SetWishlist(ctx, items); err != nil {
		return err
	}
	for i, it := range items {
		fmt.Printf("wish #%d %s\n", i+1, it)
	}
	return nil
}
