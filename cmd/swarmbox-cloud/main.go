// Command swarmbox-cloud is the operator's head-end: it serves the catalog, plans transfers,
// tracks swarms, seeds from the repository and sells licenses; its subcommands ingest titles and
// manage accounts.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `swarmbox-cloud — the swarmbox head-end

Usage:
  swarmbox-cloud serve    [-state DIR] [-database DSN] [-listen ADDR] [-public-url URL]
                          [-sync-interval D] [-region-map FILE] [-secure-cookies]
                          [-prefixes FILE] [-trusted-proxies CIDR,...]
  swarmbox-cloud ingest   [-state DIR] -title T [-kind video|audio|file] [-category C] [-price CENTS] FILE
  swarmbox-cloud category [-state DIR] ITEM [CATEGORY]    (shows or sets; "uncategorised" clears)
  swarmbox-cloud account  create  [-state DIR] -region R [-credit CENTS] [-password-stdin] ID
  swarmbox-cloud account  suspend|resume|close|show [-state DIR] [-json] ID
  swarmbox-cloud account  topup   [-state DIR] -amount CENTS ID
  swarmbox-cloud account  password [-state DIR] ID        (reads the password from stdin)
  swarmbox-cloud account  enroll  [-state DIR] [-boxes N] [-ttl D] ID   (prints a token for swarmboxd run -enroll)
  swarmbox-cloud box      pair    [-state DIR] -code XXXX-XXXX -account ID   (the code the box's TV shows)
  swarmbox-cloud box      unpair  [-state DIR] BOX
  swarmbox-cloud box      list    [-state DIR] -account ID [-json]
  swarmbox-cloud regions  [-state DIR] ITEM [REGION,...]  (none = licensable everywhere)
  swarmbox-cloud keys     rotate [-state DIR]
  swarmbox-cloud audit    [-state DIR] [-n N] [-json]
  swarmbox-cloud operator password|remove [-state DIR] NAME   (staff of the live view at /operator; password on stdin)
  swarmbox-cloud catalog  [-state DIR] [-json]
  swarmbox-cloud transfers [-state DIR] [-json]
  swarmbox-cloud loadgen  [-boxes N] [-duration D] [-database DSN | -url URL -enroll TOKEN] [-json]
  swarmbox-cloud testcard -kind video|audio [-seconds N] [-seed N] FILE
  swarmbox-cloud firmware keygen KEYFILE               (writes KEYFILE and KEYFILE.pub)
  swarmbox-cloud firmware build -key KEY -version V -hardware HW[,HW] [-rollback] ROOTFS.img -o BUNDLE

The state folder (default $SWARMBOX_CLOUD_STATE or ./cloud-state) holds the database, the key
vault's keys and the repository of sealed containers. -database (default $SWARMBOX_DATABASE,
else DIR/headend.db) is a SQLite file or a postgres:// URL; every command takes it.
`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, args)
	case "ingest":
		err = ingest(ctx, args)
	case "account":
		err = account(ctx, args)
	case "box":
		err = boxCommand(ctx, args)
	case "catalog":
		err = catalog(ctx, args)
	case "transfers":
		err = transfers(ctx, args)
	case "regions":
		err = regions(ctx, args)
	case "category":
		err = setCategory(ctx, args)
	case "keys":
		err = keys(ctx, args)
	case "audit":
		err = auditLog(ctx, args)
	case "operator":
		err = operator(args)
	case "loadgen":
		err = loadgen(ctx, args)
	case "testcard":
		err = testcard(args)
	case "firmware":
		err = firmware(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarmbox-cloud:", err)
		os.Exit(1)
	}
}
