package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"swarmbox/cloud/web"
	"swarmbox/internal/cmdline"
)

// operator names the staff who may sign in to the operator's live view (/operator, OPS-1):
// "password NAME" sets a password read from stdin (adding NAME), "remove NAME" takes the name
// out, which ends that person's sessions at their next request. Both edit STATE/operators, which
// a running head-end reads again when it changes.
func operator(args []string) error {
	if len(args) < 1 || (args[0] != "password" && args[0] != "remove") {
		return errors.New("operator needs a subcommand: password NAME (reads the password from stdin) or remove NAME")
	}
	fs := flag.NewFlagSet("operator "+args[0], flag.ExitOnError)
	sf := addStoreFlags(fs)
	pos, err := cmdline.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("give one operator name")
	}
	name := pos[0]
	if err := web.CheckOperatorName(name); err != nil {
		return err
	}
	if err := os.MkdirAll(sf.dir, 0o700); err != nil {
		return fmt.Errorf("state folder: %w", err)
	}
	path := filepath.Join(sf.dir, "operators")
	hash := ""
	if args[0] == "password" {
		if hash, err = readPassword(os.Stdin); err != nil {
			return err
		}
	}
	if err := web.SetOperator(path, name, hash); err != nil {
		return err
	}
	if hash == "" {
		fmt.Printf("operator %s removed\n", name)
	} else {
		fmt.Printf("operator %s may sign in at /operator/signin\n", name)
	}
	return nil
}
