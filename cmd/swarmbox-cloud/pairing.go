package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
)

// boxCommand pairs boxes to households and unpairs them, and lists a household's boxes: the
// operator's side of pairing (a household does the same on the browser's account page).
func boxCommand(ctx context.Context, args []string) error {
	if len(args) < 1 {
		return errors.New("box needs a subcommand: pair, unpair or list")
	}
	var code, acct string
	var jsonOut bool
	st, pos, err := storeCommand(ctx, "box "+args[0], args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&code, "code", "", "the pairing code the box's TV shows, XXXX-XXXX (pair)")
		fs.StringVar(&acct, "account", "", "the household's account (pair, list)")
		fs.BoolVar(&jsonOut, "json", false, "print as JSON (list)")
	})
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	switch args[0] {
	case "pair":
		if code == "" || acct == "" {
			return errors.New("give the code the TV shows and the account: box pair -code XXXX-XXXX -account ID")
		}
		box, err := st.PairByCode(ctx, store.PairRequest{Code: code, Account: acct, By: "operator", Now: now})
		if err != nil {
			return err
		}
		fmt.Printf("box %s paired to account %s\n", box, acct)
		return nil
	case "unpair":
		if len(pos) != 1 {
			return errors.New("give one box id: box unpair BOX")
		}
		id, err := media.ParseBoxID(pos[0])
		if err != nil {
			return err
		}
		if err := st.Unpair(ctx, id, "", "operator", "", now); err != nil {
			return err
		}
		fmt.Printf("box %s unpaired: it shows a pairing code again and cannot buy until paired\n", id)
		return nil
	case "list":
		if acct == "" {
			return errors.New("give the account: box list -account ID")
		}
		boxes, err := st.PairedBoxes(ctx, acct)
		if err != nil {
			return err
		}
		if jsonOut {
			type row struct {
				Box      media.BoxID `json:"box"`
				Paired   time.Time   `json:"paired"`
				LastSync time.Time   `json:"last_sync"`
			}
			out := []row{}
			for _, b := range boxes {
				out = append(out, row{b.ID, b.Paired, b.LastSync})
			}
			return json.NewEncoder(os.Stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BOX\tPAIRED\tLAST SYNC")
		for _, b := range boxes {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", b.ID, b.Paired.Format(time.RFC3339), b.LastSync.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown box subcommand %q: use pair, unpair or list", args[0])
}

// enroll prints a one-time enrollment token for an account: a box started with
// 'swarmboxd run -enroll TOKEN' (or prepared by swarmbox-preload -enroll TOKEN) is paired to
// the account as it registers.
func enroll(ctx context.Context, args []string) error {
	var uses int
	var ttl time.Duration
	st, pos, err := storeCommand(ctx, "account enroll", args, func(fs *flag.FlagSet) {
		fs.IntVar(&uses, "boxes", 1, "how many boxes the token may pair")
		fs.DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token lasts")
	})
	if err != nil {
		return err
	}
	defer st.Close()
	if len(pos) != 1 {
		return errors.New("give one account ID: account enroll [-boxes N] [-ttl D] ID")
	}
	tok, err := st.CreateEnrollment(ctx, pos[0], uses, ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
