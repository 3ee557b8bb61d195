package store

import (
	"context"
	"time"
)

// PlanTimes says when each region's plan was last published (migrations/0007: plans.at): the
// operator's page shows how old each plan is. A region never planned is absent.
func (s *Store) PlanTimes(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT region, at FROM plans`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var region string
		var at int64
		if err := rows.Scan(&region, &at); err != nil {
			return nil, err
		}
		out[region] = millis(at)
	}
	return out, rows.Err()
}
