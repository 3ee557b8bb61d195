package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"swarmbox/cloud/store"
)

// TestAccountCreateIsAtomic: "account create -password-stdin" with a password that is refused
// (too short) leaves no account, credit or password behind, so the operator can run it again;
// with a good password the account, its credit and the password are all there.
func TestAccountCreateIsAtomic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	create := func(password string) error {
		in := filepath.Join(dir, "stdin")
		if err := os.WriteFile(in, []byte(password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		old := os.Stdin
		os.Stdin = f
		defer func() { os.Stdin = old }()
		return account(ctx, []string{"create", "-state", dir, "-region", "eu", "-credit", "500", "-password-stdin", "alice"})
	}
	if err := create("short"); err == nil || !strings.Contains(err.Error(), "8 characters") {
		t.Fatalf("short password: %v, want the length refusal", err)
	}
	st, err := store.Open(ctx, filepath.Join(dir, "headend.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Account(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after a refused password the account is there: %v", err)
	}
	if l, err := st.Ledger(ctx, "alice"); err != nil || len(l) != 0 {
		t.Fatalf("after a refused password the ledger has %v (%v)", l, err)
	}
	st.Close()
	if err := create("a long enough password"); err != nil {
		t.Fatalf("create again: %v", err)
	}
	st, err = store.Open(ctx, filepath.Join(dir, "headend.db"))
	if err != nil {
		t.Fatal(err)
	}
	if a, err := st.Account(ctx, "alice"); err != nil || a.BalanceCents != 500 {
		t.Fatalf("account %+v %v", a, err)
	}
	if h, err := st.PasswordHash(ctx, "alice"); err != nil || !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("password hash %q %v", h, err)
	}
	st.Close()
	// Creating it again fails (it exists) and says so, whatever the password.
	if err := create("another long password"); err == nil || !strings.Contains(err.Error(), "exist") {
		t.Fatalf("creating an existing account: %v, want an error", err)
	}
}
