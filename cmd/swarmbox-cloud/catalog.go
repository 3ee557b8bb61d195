package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
)

// catalog prints the titles.
func catalog(ctx context.Context, args []string) error {
	var jsonOut bool
	st, _, err := storeCommand(ctx, "catalog", args, func(fs *flag.FlagSet) { fs.BoolVar(&jsonOut, "json", false, "print JSON") })
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.Catalog(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		return json.NewEncoder(os.Stdout).Encode(c)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tCATEGORY\tTITLE\tSIZE\tPRICE")
	for _, it := range c.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d.%02d\n", it.ID, it.Kind, categoryName(it.Category), it.Title, it.Size, it.PriceCents/100, it.PriceCents%100)
	}
	return tw.Flush()
}
