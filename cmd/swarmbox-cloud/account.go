package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/cloud/web"
	"swarmbox/internal/cmdline"
)

// account creates and manages customer accounts: status, top-ups, the web password, the ledger.
func account(ctx context.Context, args []string) error {
	if len(args) < 1 {
		return errors.New("account needs a subcommand: create, suspend, resume, close, topup, password, enroll or show")
	}
	if args[0] == "enroll" {
		return enroll(ctx, args[1:])
	}
	fs := flag.NewFlagSet("account "+args[0], flag.ExitOnError)
	sf := addStoreFlags(fs)
	region := fs.String("region", "", "the account's region (create)")
	credit := fs.Int64("credit", 0, "starting balance in cents (create)")
	amount := fs.Int64("amount", 0, "cents to add (topup)")
	pwStdin := fs.Bool("password-stdin", false, "read the customer's web password from stdin (create)")
	jsonOut := fs.Bool("json", false, "print the account as JSON")
	pos, err := cmdline.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("give one account ID")
	}
	id := pos[0]
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	switch args[0] {
	case "create":
		// The password is read and checked before anything is written, and the account, its
		// credit and the password are stored together: a refused password leaves nothing behind.
		if !*pwStdin {
			err = st.CreateAccount(ctx, id, *region, *credit, now)
			break
		}
		var h string
		if h, err = readPassword(os.Stdin); err != nil {
			return err
		}
		err = st.CreateCustomer(ctx, id, *region, *credit, h, now)
	case "suspend":
		_, err = st.SetStatus(ctx, id, store.StatusSuspended, now)
	case "resume":
		_, err = st.SetStatus(ctx, id, store.StatusActive, now)
	case "close":
		_, err = st.SetStatus(ctx, id, store.StatusClosed, now)
	case "topup":
		_, err = st.TopUp(ctx, id, *amount, now)
	case "password":
		err = setPassword(ctx, st, id)
	case "show":
	default:
		return fmt.Errorf("unknown account subcommand %q: use create, suspend, resume, close, topup, password or show", args[0])
	}
	if err != nil {
		return err
	}
	a, err := st.Account(ctx, id)
	if err != nil {
		return err
	}
	ledger, err := st.Ledger(ctx, id)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"account": a, "ledger": ledger})
	}
	fmt.Printf("%s\t%s\tregion=%s\tbalance=%d cents\n", a.ID, a.Status, a.Region, a.BalanceCents)
	if args[0] == "show" {
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tKIND\tCENTS\tITEM\tNOTE")
		for _, e := range ledger {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", e.At.Format(time.RFC3339), e.Kind, e.AmountCents, e.Item, e.Note)
		}
		return tw.Flush()
	}
	return nil
}

// setPassword reads one line from stdin and stores its hash as the customer's web password.
func setPassword(ctx context.Context, st *store.Store, id string) error {
	h, err := readPassword(os.Stdin)
	if err != nil {
		return err
	}
	return st.SetPassword(ctx, id, h)
}

// readPassword reads one line from r and hashes it as a web password (which checks its length).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	h, err := web.HashPassword(strings.TrimRight(line, "\r\n"))
	if err != nil {
		return "", fmt.Errorf("%w: nothing was changed, run the command again with a longer password", err)
	}
	return h, nil
}
