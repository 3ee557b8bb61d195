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

// commitBatch runs the jobs in one transaction. A job that fails before writing anything
// (its error wrapped by clean) leaves the others be; any other failure rolls the batch back and
// runs each job again on its own, so every caller gets the outcome of its own work. A job that
// lost a lock conflict to another writer's batch also runs again on its own. No savepoints: on
// PostgreSQL each would be two more round trips per sync inside the writer.
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
	for i, j := range batch {
		errs[i] = j.f(j.ctx, w)
		var c cleanErr
		if errs[i] == nil || errors.As(errs[i], &c) {
			continue
		}
		t.Rollback()
		if len(batch) == 1 {
			finish(nil)
			return
		}
		for _, j := range batch {
			s.commitTry([]groupJob{j}, try)
		}
		return
	}
	finish(t.Commit())
}

// cleanErr marks a job's error as raised before the job wrote anything.
type cleanErr struct{ error }

func (e cleanErr) Unwrap() error { return e.error }

// clean marks err as raised before any write, so the batch around the job can still commit.
func clean(err error) error { return cleanErr{err} }

// conflict reports a PostgreSQL deadlock or serialization failure: the work is sound and may
// simply run again.
func conflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}
