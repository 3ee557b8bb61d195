package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
)

// transfers prints what boxes reported receiving, from the server and from peers.
func transfers(ctx context.Context, args []string) error {
	var jsonOut bool
	st, _, err := storeCommand(ctx, "transfers", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&jsonOut, "json", false, `print one JSON line {"transfers":[...]}`)
	})
	if err != nil {
		return err
	}
	defer st.Close()
	ts, err := st.Transfers(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		type row struct {
			Box             string `json:"box"`
			Item            string `json:"item"`
			BytesFromServer int64  `json:"bytes_from_server"`
			BytesFromPeers  int64  `json:"bytes_from_peers"`
		}
		rows := []row{}
		for _, t := range ts {
			rows = append(rows, row{t.Box.String(), t.Item.String(), t.BytesFromServer, t.BytesFromPeers})
		}
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"transfers": rows})
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BOX\tITEM\tTITLE\tFROM SERVER\tFROM PEERS\tSERVER COUNTED\tDONE")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%v\n", t.Box.String()[:8], t.Item.String()[:8], t.Title, t.BytesFromServer, t.BytesFromPeers, t.ServerCounted, t.Complete)
	}
	return tw.Flush()
}
