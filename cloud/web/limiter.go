package web

import (
	"context"
	"time"
)

// Failed sign-ins slow further attempts down instead of locking an account (requirement ACCT-5):
// whoever guesses waits longer after each wrong password, and the household, signing in from
// its own address, is never locked out by someone else's guesses. Three keys are counted, each
// with its own free failures and its own longest delay:
//
//   - the account from one address: MaxFailures free, then 1 s, 2 s, 4 s, … up to FailureWindow.
//     One guesser at one account is slowed to a handful of guesses an hour.
//   - the address, whatever the account: 4× MaxFailures free, then the same doubling. One guesser
//     spraying many accounts is slowed alike.
//   - the account from every address: 4× MaxFailures free, then doubling up to AccountDelay
//     (default 10 s). Guessers spread over many addresses get at most one guess per AccountDelay,
//     and the household waits at most that long.
//
// An attempt that comes before its keys allow is answered 429 with Retry-After; its password is
// not checked, so it is no guess, and it is not counted as a failure.

// failureLog is where failed sign-ins are counted: the store, so that several head-end
// instances behind a balancer share the delays.
type failureLog interface {
	SignInFailuresSince(ctx context.Context, key string, since time.Time) (int, time.Time, error)
	AddSignInFailure(ctx context.Context, key string, at, forget time.Time) error
	ClearSignInFailures(ctx context.Context, key string) error
}

// backoff delays one kind of key after its failures: free ones cost nothing, then each failure
// doubles the delay from first up to max, counted from the key's last failure; failures older
// than window are forgotten.
type backoff struct {
	log    failureLog
	free   int
	first  time.Duration
	max    time.Duration
	window time.Duration
}

// next says when key may try again; a time not after now means at once. When the count cannot
// be read it says wait a moment: signing in needs the store anyway.
func (b *backoff) next(ctx context.Context, key string, now time.Time) time.Time {
	n, last, err := b.log.SignInFailuresSince(ctx, key, now.Add(-b.window))
	if err != nil {
		return now.Add(b.first)
	}
	if n < b.free {
		return time.Time{}
	}
	d := b.first
	for i := b.free; i < n && d < b.max; i++ {
		d *= 2
	}
	return last.Add(min(d, b.max))
}

// fail and reset cannot report an error: one that cannot be written only weakens the delay, and
// the sign-in itself fails on the same store.
func (b *backoff) fail(ctx context.Context, key string, now time.Time) {
	b.log.AddSignInFailure(ctx, key, now, now.Add(-b.window))
}

func (b *backoff) reset(ctx context.Context, key string) {
	b.log.ClearSignInFailures(ctx, key)
}

// signInDelays are the three backoffs of a sign-in.
type signInDelays struct {
	pair, addr, account *backoff
}

func newSignInDelays(log failureLog, maxFailures int, window, accountDelay time.Duration) signInDelays {
	return signInDelays{
		pair:    &backoff{log: log, free: maxFailures, first: time.Second, max: window, window: window},
		addr:    &backoff{log: log, free: 4 * maxFailures, first: time.Second, max: window, window: window},
		account: &backoff{log: log, free: 4 * maxFailures, first: time.Second, max: accountDelay, window: window},
	}
}

func pairKey(account, addr string) string { return "pair:" + account + "|" + addr }
func accountKey(account string) string    { return "acct:" + account }

// next says when a sign-in to account from addr may be tried: the latest of its keys' times.
func (d signInDelays) next(ctx context.Context, account, addr string, now time.Time) time.Time {
	t := d.pair.next(ctx, pairKey(account, addr), now)
	if a := d.addr.next(ctx, addr, now); a.After(t) {
		t = a
	}
	if a := d.account.next(ctx, accountKey(account), now); a.After(t) {
		t = a
	}
	return t
}

// fail counts a wrong password for account from addr on all three keys.
func (d signInDelays) fail(ctx context.Context, account, addr string, now time.Time) {
	d.pair.fail(ctx, pairKey(account, addr), now)
	d.addr.fail(ctx, addr, now)
	d.account.fail(ctx, accountKey(account), now)
}

// succeed forgets the account's failures (the household got in); the address's stay, so one
// address cannot sign in to its own account between guesses at others to clear its count.
func (d signInDelays) succeed(ctx context.Context, account, addr string) {
	d.pair.reset(ctx, pairKey(account, addr))
	d.account.reset(ctx, accountKey(account))
}
