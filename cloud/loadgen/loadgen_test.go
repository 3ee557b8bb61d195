package loadgen

import (
	"context"
	"testing"
	"time"

	"swarmbox/internal/testenv"
)

func check(t *testing.T, o Options, engine string) {
	t.Helper()
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Store != engine || res.Syncs == 0 || res.Errors != 0 || res.SyncsPerSecond <= 0 || res.P99ms < res.P50ms || res.Boxes != o.Boxes {
		t.Fatalf("result %+v", res)
	}
}

func TestLoadgenSQLite(t *testing.T) {
	check(t, Options{Boxes: 6, Duration: 300 * time.Millisecond, Concurrency: 3, Titles: 2}, "sqlite")
}

func TestLoadgenPostgres(t *testing.T) {
	pg := testenv.Postgres(t)
	check(t, Options{Boxes: 6, Duration: 300 * time.Millisecond, Concurrency: 3, Titles: 2, Database: pg.Database(t)}, "postgres")
}

func TestLoadgenBadOptions(t *testing.T) {
	if _, err := Run(context.Background(), Options{}); err == nil {
		t.Fatal("ran without boxes")
	}
	if _, err := Run(context.Background(), Options{Boxes: 1, Duration: time.Second, URL: "http://127.0.0.1:1"}); err == nil {
		t.Fatal("ran against nothing")
	}
}

// TestLoadgenRenewals: with a renew share, that many boxes buy a title and renew its licence
// while the others sync; both are measured, nothing fails.
func TestLoadgenRenewals(t *testing.T) {
	res, err := Run(context.Background(), Options{Boxes: 6, Duration: 400 * time.Millisecond, Concurrency: 3, Titles: 2, RenewShare: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if res.RenewingBoxes != 3 || res.Renewals == 0 || res.RenewalsPerSecond <= 0 || res.Syncs == 0 || res.Errors != 0 || res.RenewalP99ms <= 0 {
		t.Fatalf("result %+v", res)
	}
	if _, err := Run(context.Background(), Options{Boxes: 1, Duration: time.Second, RenewShare: 2}); err == nil {
		t.Fatal("ran with a renew share of 2")
	}
}
