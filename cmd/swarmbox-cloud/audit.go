package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"
)

// auditLog prints the newest license decisions.
func auditLog(ctx context.Context, args []string) error {
	var n int
	var jsonOut bool
	st, _, err := storeCommand(ctx, "audit", args, func(fs *flag.FlagSet) {
		fs.IntVar(&n, "n", 50, "how many of the newest decisions")
		fs.BoolVar(&jsonOut, "json", false, "print JSON")
	})
	if err != nil {
		return err
	}
	defer st.Close()
	log, err := st.AuditLog(ctx, n)
	if err != nil {
		return err
	}
	if jsonOut {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"audit": log})
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tOUTCOME\tREASON\tACCOUNT\tBOX\tITEM\tKIND\tSOURCE")
	for _, e := range log {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.8s\t%.8s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Outcome, e.Reason, e.Account, e.Box, e.Item, e.Kind, e.Source)
	}
	return tw.Flush()
}
