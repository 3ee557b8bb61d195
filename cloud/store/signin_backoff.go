package store

import (
	"context"
	"time"
)

// SignInFailuresSince counts key's failed sign-ins after since and says when the last of them
// was: what the web catalog's sign-in delay grows with (cloud/web/limiter.go).
func (s *Store) SignInFailuresSince(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var last int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(at), 0) FROM signin_failures WHERE key = ? AND at > ?`,
		key, since.UnixMilli()).Scan(&n, &last)
	return n, millis(last), err
}
