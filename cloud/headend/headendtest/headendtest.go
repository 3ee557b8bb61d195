// Package headendtest starts a real head-end (SQLite store, key vault, repository, HTTP on
// loopback) inside a test, with titles ingested and an account ready, for tests of the box side.
package headendtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"swarmbox/cloud/headend"
	"swarmbox/cloud/keyvault"
	"swarmbox/cloud/repository"
	"swarmbox/cloud/store"
	"swarmbox/sync/protocol"
)

// Account is the account New creates, with Credit cents.
const (
	Account = "household"
	Region  = "eu-west"
	Credit  = 10_000
)

// Headend is a running head-end.
type Headend struct {
	URL   string
	Store *store.Store
	Vault *keyvault.Vault
	Repo  *repository.Repository
	Items []store.Item
	Files []string // the ingested plaintext files, in Items order
}

// Title describes a title to ingest.
type Title struct {
	Name     string
	Kind     string
	Category string
	Price    int64
	Data     []byte
}

// New starts a head-end with the titles ingested; everything stops when the test ends.
func New(t testing.TB, titles ...Title) *Headend {
	t.Helper()
	return Start(t, Options{}, titles...)
}

// Options are a test head-end's settings beyond the defaults: its clock (shared with a box's
// in tests of licence periods) and the periods themselves.
type Options struct {
	Now          func() time.Time
	RentalWindow time.Duration
	OwnedRenewal time.Duration
	// Wrap, when set, stands in front of the head-end's handler, e.g. to hold back the web
	// seed so that a title stays downloading for as long as a test needs.
	Wrap func(http.Handler) http.Handler
}

// Start is New with options.
func Start(t testing.TB, o Options, titles ...Title) *Headend {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "headend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t.Setenv(keyvault.EnvMasterKey, "")
	v, err := keyvault.Open(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Open(filepath.Join(dir, "repository"))
	if err != nil {
		t.Fatal(err)
	}
	h := &Headend{Store: st, Vault: v, Repo: repo}
	for i, ti := range titles {
		src := filepath.Join(dir, filepath.Base(ti.Name)+".src")
		if err := os.WriteFile(src, ti.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		kind := ti.Kind
		if kind == "" {
			kind = protocol.KindVideo
		}
		it, key, err := repo.Ingest(ctx, src, repository.IngestOptions{Title: ti.Name, Kind: kind, Category: ti.Category, PriceCents: ti.Price})
		if err != nil {
			t.Fatalf("ingest title %d: %v", i, err)
		}
		if err := st.AddItem(ctx, it, v.Wrap(it.ID, key)); err != nil {
			t.Fatal(err)
		}
		h.Items = append(h.Items, it)
		h.Files = append(h.Files, src)
	}
	if err := st.CreateAccount(ctx, Account, Region, Credit, time.Now()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	public := "http://" + srv.Listener.Addr().String()
	hs := headend.New(headend.Config{Store: st, Vault: v, Repo: repo, PublicURL: public, Now: o.Now, RentalWindow: o.RentalWindow, OwnedRenewal: o.OwnedRenewal})
	hs.Start(context.Background())
	t.Cleanup(hs.Close)
	srv.Config.Handler = hs.Handler()
	if o.Wrap != nil {
		srv.Config.Handler = o.Wrap(srv.Config.Handler)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// Enroll returns a one-box enrollment token for Account, as 'swarmbox-cloud account enroll'
// makes: a box registering with it is paired to the household at once.
func (h *Headend) Enroll(t testing.TB) string {
	t.Helper()
	tok, err := h.Store.CreateEnrollment(context.Background(), Account, 1, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
