package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// Reader is what Source reads the figures' inputs from (the head-end's store).
type Reader interface {
	Reports(ctx context.Context) ([]store.Report, error)
	BoxStates(ctx context.Context) ([]store.BoxState, error)
	Transfers(ctx context.Context) ([]store.Transfer, error)
	Catalog(ctx context.Context) (protocol.Catalog, error)
	PlanTimes(ctx context.Context) (map[string]time.Time, error)
}

// Source computes the figures from the store, at most once per MaxAge however many pages and
// scrapes ask: each computation reads every box, so a crowd of operators' browsers and
// Prometheus together cost one read a moment. On a large fleet the moment stretches to five
// times what the last computation took, so that the figures never take more than a fifth of a
// core (docs/benchmarks.md: about 1 s for 100,000 boxes, before the store's reads).
type Source struct {
	Store Reader
	// OnlineWithin is how recently a box must have reported to count as online (default 2 min;
	// the head-end sets three sync intervals).
	OnlineWithin time.Duration
	MaxAge       time.Duration // how long computed figures are reused (default 2 s)
	Top          int           // titles listed per region (default 10)
	Now          func() time.Time

	mu   sync.Mutex
	last Figures
	cost time.Duration // what the last read and computation took
}

// Figures returns the figures, computed afresh when the last are older than MaxAge.
func (s *Source) Figures(ctx context.Context) (Figures, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := now()
	if !s.last.At.IsZero() && t.Sub(s.last.At) < max(s.maxAge(), 5*s.cost) && !t.Before(s.last.At) {
		return s.last, nil
	}
	began := time.Now()
	in, err := s.read(ctx)
	if err != nil {
		return Figures{}, fmt.Errorf("read the fleet's figures from the store: %w", err)
	}
	within := s.OnlineWithin
	if within <= 0 {
		within = 2 * time.Minute
	}
	top := s.Top
	if top <= 0 {
		top = 10
	}
	s.last = Compute(in, t, within, top)
	s.cost = time.Since(began)
	return s.last, nil
}

func (s *Source) maxAge() time.Duration {
	if s.MaxAge <= 0 {
		return 2 * time.Second
	}
	return s.MaxAge
}

func (s *Source) read(ctx context.Context) (Input, error) {
	var in Input
	var err error
	if in.Reports, err = s.Store.Reports(ctx); err != nil {
		return in, err
	}
	if in.States, err = s.Store.BoxStates(ctx); err != nil {
		return in, err
	}
	if in.Transfers, err = s.Store.Transfers(ctx); err != nil {
		return in, err
	}
	if in.Plans, err = s.Store.PlanTimes(ctx); err != nil {
		return in, err
	}
	c, err := s.Store.Catalog(ctx)
	if err != nil {
		return in, err
	}
	in.Titles, in.Sizes = map[media.ItemID]string{}, map[media.ItemID]int64{}
	for _, it := range c.Items {
		in.Titles[it.ID], in.Sizes[it.ID] = it.Title, it.SealedSize
	}
	return in, nil
}
