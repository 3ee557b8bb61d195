package store

import (
	"context"
	"crypto/ed25519"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"swarmbox/media"
)

var codeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// unpairedBox registers a new box with no household.
func unpairedBox(t *testing.T, s *Store, now time.Time) media.BoxID {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(nil)
	id := media.BoxIDFromKey(pub)
	b, err := s.RegisterBox(context.Background(), Box{ID: id, SignKey: pub, KEMKey: pub, Registered: now})
	if err != nil || b.Account != Unpaired || !b.Paired.IsZero() || b.Region != "" {
		t.Fatalf("unpaired registration: %+v %v", b, err)
	}
	return id
}

// testPairing: an unpaired box's code is stable while it lasts, renewed when asked or expired;
// the right code pairs it to an active account once (the code is used up), the box then has
// the account's region; unpairing returns it to no household, and only its own household (or
// the operator) may unpair it. Unpaired boxes' region is never planned.
func testPairing(t *testing.T, s *Store) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	if err := s.CreateAccount(ctx, "h", "eu", 1000, now); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, "other", "us", 0, now); err != nil {
		t.Fatal(err)
	}
	id := unpairedBox(t, s, now)
	pc, err := s.BoxPairingCode(ctx, id, now, false)
	if err != nil || !codeShape.MatchString(pc.Code) || !pc.Expires.Equal(now.Add(CodeTTL)) {
		t.Fatalf("code %+v %v", pc, err)
	}
	if again, err := s.BoxPairingCode(ctx, id, now.Add(time.Minute), false); err != nil || again != pc {
		t.Fatalf("asking again while it lasts: %+v %v, want %+v", again, err, pc)
	}
	late := now.Add(CodeTTL)
	renewed, err := s.BoxPairingCode(ctx, id, late, false)
	if err != nil || renewed.Code == pc.Code || !renewed.Expires.Equal(late.Add(CodeTTL)) {
		t.Fatalf("after expiry: %+v %v, want a new code", renewed, err)
	}
	if _, err := s.PairByCode(ctx, PairRequest{Code: pc.Code, Account: "h", By: "operator", Now: late}); !errors.Is(err, ErrBadCode) {
		t.Fatalf("the expired code paired: %v", err)
	}
	typed := strings.ToLower(strings.ReplaceAll(renewed.Code, "-", " "))
	got, err := s.PairByCode(ctx, PairRequest{Code: typed, Account: "h", By: "browser", Source: "192.0.2.1", Now: late})
	if err != nil || got != id {
		t.Fatalf("pair with %q: %v %v", typed, got, err)
	}
	b, err := s.Box(ctx, id)
	if err != nil || b.Account != "h" || b.Region != "eu" || !b.Paired.Equal(late) {
		t.Fatalf("paired box %+v %v", b, err)
	}
	if _, err := s.PairByCode(ctx, PairRequest{Code: renewed.Code, Account: "other", By: "browser", Now: late}); !errors.Is(err, ErrBadCode) {
		t.Fatalf("a used code paired again: %v", err)
	}
	if _, err := s.BoxPairingCode(ctx, id, late, false); !errors.Is(err, ErrAlreadyPaired) {
		t.Fatalf("a paired box got a code: %v", err)
	}
	if boxes, err := s.PairedBoxes(ctx, "h"); err != nil || len(boxes) != 1 || boxes[0].ID != id {
		t.Fatalf("h's boxes %+v %v", boxes, err)
	}
	if err := s.Unpair(ctx, id, "other", "browser", "", late); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another household unpaired the box: %v", err)
	}
	if err := s.Unpair(ctx, id, "h", "browser", "192.0.2.1", late); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Box(ctx, id); err != nil || b.Account != Unpaired || !b.Paired.IsZero() {
		t.Fatalf("unpaired box %+v %v", b, err)
	}
	if err := s.Unpair(ctx, id, "", "operator", "", late); !errors.Is(err, ErrNotPaired) {
		t.Fatalf("unpairing twice: %v", err)
	}
	log, err := s.PairingLog(ctx, "h", 10)
	if err != nil || len(log) != 3 || log[0].Kind != "unpair" || log[1].Kind != "pair" || log[1].Source != "192.0.2.1" || log[1].Box != id.String() ||
		log[2].Outcome != AuditRefused { // the expired code the operator tried
		t.Fatalf("h's pairing log %+v %v", log, err)
	}
	regions, err := s.Regions(ctx)
	if err != nil || strings.Join(regions, ",") != "eu,us" {
		t.Fatalf("regions %v %v: the unpaired boxes' empty region must not be planned", regions, err)
	}

	// Enrollment: a token pairs as many boxes as it has uses, then is refused like any unknown
	// token; an expired one too.
	tok, err := s.CreateEnrollment(ctx, "h", 1, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	eb, err := s.EnrollBox(ctx, Box{ID: media.BoxIDFromKey(pub), SignKey: pub, KEMKey: pub, Registered: now}, tok, "192.0.2.9")
	if err != nil || eb.Account != "h" || eb.Paired.IsZero() {
		t.Fatalf("enrolled box %+v %v", eb, err)
	}
	if again, err := s.EnrollBox(ctx, Box{ID: eb.ID, SignKey: pub, KEMKey: pub, Registered: now}, tok, ""); err != nil || again.Account != "h" {
		t.Fatalf("the same box registering again with its used token: %+v %v", again, err)
	}
	pub2, _, _ := ed25519.GenerateKey(nil)
	if _, err := s.EnrollBox(ctx, Box{ID: media.BoxIDFromKey(pub2), SignKey: pub2, KEMKey: pub2, Registered: now}, tok, ""); !errors.Is(err, ErrEnrollRefused) {
		t.Fatalf("a used-up token enrolled another box: %v", err)
	}
	if _, err := s.Box(ctx, media.BoxIDFromKey(pub2)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused enrollment left the box registered: %v", err)
	}
	old, _ := s.CreateEnrollment(ctx, "h", 5, time.Minute, now)
	if _, err := s.EnrollBox(ctx, Box{ID: media.BoxIDFromKey(pub2), SignKey: pub2, KEMKey: pub2, Registered: now.Add(time.Minute)}, old, ""); !errors.Is(err, ErrEnrollRefused) {
		t.Fatalf("an expired token enrolled a box: %v", err)
	}
}

// testPairingGuessesLimited: wrong codes count per account and per source address; past either
// limit even the right code is refused until the window has passed; the operator's command is
// not limited.
func testPairingGuessesLimited(t *testing.T, s *Store) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	for _, a := range []string{"h", "h2", "h3"} {
		if err := s.CreateAccount(ctx, a, "eu", 0, now); err != nil {
			t.Fatal(err)
		}
	}
	id := unpairedBox(t, s, now)
	pc, err := s.BoxPairingCode(ctx, id, now, false)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "BBBB-BBBB"
	if pc.Code == wrong {
		wrong = "CCCC-CCCC"
	}
	guess := func(acct, addr, code string, at time.Time) error {
		_, err := s.PairByCode(ctx, PairRequest{Code: code, Account: acct, By: "browser", Source: addr, Limited: true, Now: at})
		return err
	}
	for i := range PairingAttemptsPerAccount {
		if err := guess("h", "192.0.2.1", wrong, now.Add(time.Duration(i)*time.Second)); !errors.Is(err, ErrBadCode) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	if err := guess("h", "192.0.2.77", pc.Code, now.Add(time.Minute)); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("right code after %d wrong ones for the account: %v, want refused", PairingAttemptsPerAccount, err)
	}
	// The same address for other accounts: its limit is PairingAttemptsPerAddress in all.
	for i := range PairingAttemptsPerAddress - PairingAttemptsPerAccount {
		acct := []string{"h2", "h3"}[i%2]
		if err := guess(acct, "192.0.2.1", wrong, now.Add(time.Minute)); !errors.Is(err, ErrBadCode) {
			t.Fatalf("address's wrong code %d: %v", PairingAttemptsPerAccount+i+1, err)
		}
	}
	if err := guess("h3", "192.0.2.1", pc.Code, now.Add(2*time.Minute)); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("right code from an address past its limit: %v, want refused", err)
	}
	if _, err := s.Box(ctx, id); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Box(ctx, id); b.Account != Unpaired {
		t.Fatalf("box paired to %q while limited", b.Account)
	}
	// An hour later the window has passed.
	if err := guess("h", "192.0.2.1", pc.Code, now.Add(PairingAttemptWindow+2*time.Minute)); !errors.Is(err, ErrBadCode) {
		t.Fatalf("after the window, the (now expired) code: %v, want ErrBadCode", err)
	}
	fresh, err := s.BoxPairingCode(ctx, id, now.Add(PairingAttemptWindow+2*time.Minute), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := guess("h", "192.0.2.1", fresh.Code, now.Add(PairingAttemptWindow+3*time.Minute)); err != nil {
		t.Fatalf("the right code once the window passed: %v", err)
	}
}

// testPairingClosedAccountRefused: a closed or suspended account can neither pair a box by code
// nor make or use an enrollment token, and the box stays unpaired.
func testPairingClosedAccountRefused(t *testing.T, s *Store) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	for _, a := range []string{"closed", "suspended"} {
		if err := s.CreateAccount(ctx, a, "eu", 100, now); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := s.CreateEnrollment(ctx, "closed", 1, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, "closed", StatusClosed, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, "suspended", StatusSuspended, now); err != nil {
		t.Fatal(err)
	}
	id := unpairedBox(t, s, now)
	pc, err := s.BoxPairingCode(ctx, id, now, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"closed", "suspended", Unpaired} {
		if _, err := s.PairByCode(ctx, PairRequest{Code: pc.Code, Account: a, By: "operator", Now: now}); !errors.Is(err, ErrAccountInactive) {
			t.Errorf("pairing to %q: %v, want ErrAccountInactive", a, err)
		}
		if _, err := s.CreateEnrollment(ctx, a, 1, time.Hour, now); !errors.Is(err, ErrAccountInactive) {
			t.Errorf("enrollment token for %q: %v, want ErrAccountInactive", a, err)
		}
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	if _, err := s.EnrollBox(ctx, Box{ID: media.BoxIDFromKey(pub), SignKey: pub, KEMKey: pub, Registered: now}, tok, ""); !errors.Is(err, ErrEnrollRefused) {
		t.Errorf("token made before the account closed: %v, want ErrEnrollRefused", err)
	}
	if b, err := s.Box(ctx, id); err != nil || b.Account != Unpaired {
		t.Fatalf("box %+v %v, want unpaired", b, err)
	}
	if log, err := s.PairingLog(ctx, "closed", 10); err != nil || len(log) != 1 || log[0].Outcome != AuditRefused {
		t.Fatalf("closed account's pairing log %+v %v, want the refusal", log, err)
	}
}

// FuzzNormalizeCode: whatever a household types, normalizing never panics, and what it accepts
// is a well-formed code that normalizes to itself.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdfghjk", " bcdf ghjk ", "AAAA-AAAA", "", "BCDF-GHJK-", "ÄÖÜ", strings.Repeat("B", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := NormalizeCode(in)
		if !ok {
			return
		}
		if !codeShape.MatchString(out) {
			t.Fatalf("%q normalized to %q", in, out)
		}
		if again, ok := NormalizeCode(out); !ok || again != out {
			t.Fatalf("%q does not normalize to itself: %q %v", out, again, ok)
		}
	})
}

// TestNewPairingCodeUniform: codes have the shape and use every letter of the alphabet in every
// position (a draw that skipped letters would shrink the space guessing must cover).
func TestNewPairingCodeUniform(t *testing.T) {
	seen := make([]map[byte]bool, 9)
	for i := range seen {
		seen[i] = map[byte]bool{}
	}
	for range 2000 {
		c, err := NewPairingCode()
		if err != nil || !codeShape.MatchString(c) {
			t.Fatalf("code %q %v", c, err)
		}
		for i := range c {
			seen[i][c[i]] = true
		}
	}
	for i, m := range seen {
		if i != 4 && len(m) != len(CodeAlphabet) {
			t.Errorf("position %d used %d letters of %d", i, len(m), len(CodeAlphabet))
		}
	}
}
