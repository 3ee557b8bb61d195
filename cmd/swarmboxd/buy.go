package main

import (
	"context"
	"fmt"
	"time"

	"swarmbox/vocab"
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
	st, _ := box.Status(ctx) // for the currency; amounts go without it when unknown
	end := time.Unix(p.Expires, 0)
	verb, left := "bought", "owned"
	if *rent {
		verb, left = "rented", vocab.TimeLeft(time.Until(end))
	}
	fmt.Printf("%s %s (%s) for %s; balance %s; license expires %s\n", verb, item, left,
		vocab.Amount(p.ChargedCents, st.Currency), vocab.Amount(p.BalanceCents, st.Currency), end.UTC().Format(time.RFC3339))
	return nil
}
