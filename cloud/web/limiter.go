package web

import (
	"context"
	"time"
)

// failureLog is where failed sign-ins are counted: the store, so that several head-end
// instances behind a balancer share the limits.
type failureLog interface {
	SignInFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error)
	AddSignInFailure(ctx context.Context, key string, at, forget time.Time) error
	ClearSignInFailures(ctx context.Context, key string) error
}

// limiter counts failed sign-ins per key (an account name, a client address) over a window and
// says when a key has had too many.
type limiter struct {
	log    failureLog
	max    int
	window time.Duration
}

func newLimiter(log failureLog, max int, window time.Duration) *limiter {
	return &limiter{log: log, max: max, window: window}
}

// blocked reports whether key has used up its failures, and until when. When the count cannot
// be read it says blocked for a window: signing in needs the store anyway.
func (l *limiter) blocked(key string, now time.Time) (bool, time.Time) {
	n, first, err := l.log.SignInFailures(context.Background(), key, now.Add(-l.window))
	if err != nil {
		return true, now.Add(l.window)
	}
	if n < l.max {
		return false, time.Time{}
	}
	return true, first.Add(l.window)
}

// fail and reset cannot report an error: one that cannot be written only weakens the limit,
// and the sign-in itself fails on the same store.
func (l *limiter) fail(key string, now time.Time) {
	l.log.AddSignInFailure(context.Background(), key, now, now.Add(-l.window))
}

func (l *limiter) reset(key string) {
	l.log.ClearSignInFailures(context.Background(), key)
}
