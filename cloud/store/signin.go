package store

import (
	"context"
	"time"
)

// Failed customer sign-ins, counted in the store so that every head-end instance on one
// database applies the same limits (migrations/0006_signin_failures.sql).

// SignInFailures counts key's failed sign-ins after since, and says when the first of them was.
func (s *Store) SignInFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var first int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MIN(at), 0) FROM signin_failures WHERE key = ? AND at > ?`,
		key, since.UnixMilli()).Scan(&n, &first)
	return n, millis(first), err
}

// AddSignInFailure records a failed sign-in of key at at, forgetting key's failures from before
// forget.
func (s *Store) AddSignInFailure(ctx context.Context, key string, at, forget time.Time) error {
	return s.tx(ctx, func(tx *tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE key = ? AND at <= ?`, key, forget.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signin_failures (key, at) VALUES (?, ?)`, key, at.UnixMilli())
		return err
	})
}

// ClearSignInFailures forgets key's failed sign-ins (after a successful one).
func (s *Store) ClearSignInFailures(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM signin_failures WHERE key = ?`, key)
	return err
}
