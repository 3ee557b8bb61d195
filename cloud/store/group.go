package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store is closed")

// maxBatch caps how many callers' writes share one transaction.
const maxBatch = 256

// groupJob is one caller's part of a group commit.
type groupJob struct {
	key  string // jobs run in key order, so that concurrent batches lock rows in one order
	ctx  context.Context
	f    func(context.Context, *tx) error
	done chan error
}

// groupWriter commits many callers' writes in few transactions. On SQLite one writer does all
// the writing: the engine takes one writer at a time anyway, and callers queueing in a channel
// cost far less than callers sleeping in SQLite's busy handler. On PostgreSQL a few writers run
// side by side, each batching what arrives while it commits, so many syncs share one WAL flush.
type groupWriter struct {
	jobs   chan groupJob
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

func (s *Store) startWriters(n int) {
	g := &groupWriter{jobs: make(chan groupJob), closed: make(chan struct{})}
	s.group = g
	for range n {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			for {
				select {
				case j := <-g.jobs:
					s.commitBatch(g.collect(j))
				case <-g.closed:
					return
				}
			}
		}()
	}
}

// collect takes j and whatever else is waiting, up to maxBatch.
func (g *groupWriter) collect(j groupJob) []groupJob {
	batch := []groupJob{j}
	for len(batch) < maxBatch {
		select {
		case j := <-g.jobs:
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}

// stop ends the writers after the batches under way.
func (g *groupWriter) stop() {
	g.once.Do(func() { close(g.closed) })
	g.wg.Wait()
}

// grouped runs f inside a transaction shared with other callers' writes and returns once that
// transaction committed (or f's error, having undone f's writes alone).
func (s *Store) grouped(ctx context.Context, key string, f func(context.Context, *tx) error) error {
	j := groupJob{key: key, ctx: context.WithoutCancel(ctx), f: f, done: make(chan error, 1)}
	select {
	case s.group.jobs <- j:
	case <-s.group.closed:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the job runs to its commit: waiting for it keeps "answered" meaning "durable".
	return <-j.done
}

// retries bounds how often a job that lost a deadlock (PostgreSQL, several writers) runs again.
const retries = 3

// commitBatch runs the jobs in one transaction, each in a savepoint when there are several. A
// job that lost a lock conflict to another writer's batch runs again on its own afterwards.
func (s *Store) commitBatch(batch []groupJob) {
	s.commitTry(batch, 0)
}

func (s *Store) commitTry(batch []groupJob, try int) {
	ctx := context.Background()
	slices.SortStableFunc(batch, func(a, b groupJob) int { return strings.Compare(a.key, b.key) })
	errs := make([]error, len(batch))
	finish := func(commitErr error) {
		var again []groupJob
		for i, j := range batch {
			if errs[i] == nil {
				errs[i] = commitErr
			}
			if conflict(errs[i]) && try < retries {
				again = append(again, j)
				continue
			}
			j.done <- errs[i]
		}
		for _, j := range again {
			s.commitTry([]groupJob{j}, try+1)
		}
	}
	t, err := s.db.sql.BeginTx(ctx, nil)
	if err != nil {
		finish(fmt.Errorf("begin: %w", err))
		return
	}
	w := &tx{tx: t, d: s.db}
	if len(batch) == 1 {
		if errs[0] = batch[0].f(batch[0].ctx, w); errs[0] != nil {
			t.Rollback()
			finish(nil)
			return
		}
		finish(t.Commit())
		return
	}
	for i, j := range batch {
		if _, err := w.ExecContext(ctx, `SAVEPOINT sync`); err != nil {
			t.Rollback()
			finish(fmt.Errorf("savepoint: %w", err))
			return
		}
		if errs[i] = j.f(j.ctx, w); errs[i] != nil {
			if _, err := w.ExecContext(ctx, `ROLLBACK TO SAVEPOINT sync`); err != nil {
				t.Rollback()
				finish(fmt.Errorf("roll back one sync: %w", err))
				return
			}
		}
		if _, err := w.ExecContext(ctx, `RELEASE SAVEPOINT sync`); err != nil {
			t.Rollback()
			finish(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	finish(t.Commit())
}

// conflict reports a PostgreSQL deadlock or serialization failure: the work is sound and may
// simply run again.
func conflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}
