package store

import (
	"context"
	"time"
)

// Audit outcomes.
const (
	AuditIssued  = "issued"
	AuditRefused = "refused"
)

// AuditEntry is one license decision: who asked, for what, from where, and why it was issued or
// refused.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Box     string    `json:"box"`
	Account string    `json:"account"`
	Item    string    `json:"item"`
	Kind    string    `json:"kind"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason"`
	Source  string    `json:"source"` // the request's source address
	License string    `json:"license,omitempty"`
}

func audit(ctx context.Context, q querier, e AuditEntry) error {
	_, err := q.ExecContext(ctx, `INSERT INTO audit (at, box, account, item, kind, outcome, reason, source, license) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.At.UnixMilli(), e.Box, e.Account, e.Item, e.Kind, e.Outcome, e.Reason, e.Source, e.License)
	return err
}

// Audit records a license decision made outside Buy's transaction (a refusal).
func (s *Store) Audit(ctx context.Context, e AuditEntry) error { return audit(ctx, s.db, e) }

// AuditLog returns the newest limit decisions, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	return s.auditQuery(ctx, `SELECT id, at, box, account, item, kind, outcome, reason, source, license
		FROM audit ORDER BY id DESC LIMIT ?`, limit)
}

// auditQuery reads the audit entries a query selects (every column, in the table's order).
func (s *Store) auditQuery(ctx context.Context, query string, args ...any) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Box, &e.Account, &e.Item, &e.Kind, &e.Outcome, &e.Reason, &e.Source, &e.License); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
