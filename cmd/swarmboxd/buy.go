package main

import (
	"context"
	"fmt"
	"time"

	"swarmbox/media"
)

// buy buys (or rents) a title that is ready: `swarmboxd buy [-rent] ITEM`.
func buy(ctx context.Context, args []string) error {
	fs := newFlags("buy")
	rent := fs.Bool("rent", false, "rent instead of buying")
	box, item, err := oneItem(ctx, fs, args)
	if err != nil {
		return err
	}
	defer box.Close()
	p, err := box.Buy(ctx, item, *rent)
	if err != nil {
		return err
	}
	kind := media.Owned
	if *rent {
		kind = media.Rental
	}
	fmt.Printf("bought %s (%s) for %d.%02d; balance %d.%02d; license expires %s\n", item, kind,
		p.ChargedCents/100, p.ChargedCents%100, p.BalanceCents/100, p.BalanceCents%100, time.Unix(p.Expires, 0).UTC().Format(time.RFC3339))
	return nil
}
