package headend

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the head-end's Prometheus series, on a registry of its own so that several
// servers in one process (tests) do not collide.
type metrics struct {
	reg        *prometheus.Registry
	syncs      prometheus.Counter
	planTime   prometheus.Histogram
	roundTime  prometheus.Histogram
	egress     prometheus.Counter
	licenses   *prometheus.CounterVec
	renewals   *prometheus.CounterVec // owned licences renewed or refused (LIC-4)
	requests   *prometheus.CounterVec
	signInFail prometheus.Counter
	// reportRefused counts syncs refused for numbers out of bounds; reportDropped the holdings
	// and transfers of unknown items dropped from syncs (reportcheck.go).
	reportRefused prometheus.Counter
	reportDropped prometheus.Counter
}

// peerBytes reads the bytes boxes reported receiving from peers, summed over their latest
// reports; it is read only when /metrics is scraped.
type peerBytes interface {
	PeerBytesReported(ctx context.Context) (int64, error)
}

func newMetrics(st peerBytes) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		syncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "swarmbox_syncs_total",
			Help: "Box syncs answered."}),
		planTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "swarmbox_plan_seconds",
			Help: "Time to re-plan one syncing box.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		roundTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "swarmbox_plan_round_seconds",
			Help: "Time of a full planning round (every region due), in the background.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		egress: prometheus.NewCounter(prometheus.CounterOpts{Name: "swarmbox_server_egress_bytes_total",
			Help: "Bytes the web seed sent to boxes."}),
		licenses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarmbox_licenses_total",
			Help: "License decisions by outcome (issued, refused) and reason."}, []string{"outcome", "reason"}),
		renewals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarmbox_renewals_total",
			Help: "Owned licence renewals by outcome (issued, refused) and reason."}, []string{"outcome", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarmbox_box_requests_refused_total",
			Help: "Box requests refused before reaching a handler, by reason."}, []string{"reason"}),
		signInFail: prometheus.NewCounter(prometheus.CounterOpts{Name: "swarmbox_signin_failures_total",
			Help: "Failed or rate-limited customer sign-ins."}),
		reportRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "swarmbox_sync_reports_refused_total",
			Help: "Box syncs refused because a reported number was negative or out of bounds."}),
		reportDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "swarmbox_sync_report_entries_dropped_total",
			Help: "Holdings and transfers of items the catalog does not know, dropped from box syncs."}),
	}
	m.reg.MustRegister(m.syncs, m.planTime, m.roundTime, m.egress, m.licenses, m.renewals, m.requests, m.signInFail, m.reportRefused, m.reportDropped,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "swarmbox_peer_bytes_reported",
			Help: "Bytes boxes report having received from other boxes (sum of their latest reports)."},
			func() float64 {
				n, err := st.PeerBytesReported(context.Background())
				if err != nil {
					return -1
				}
				return float64(n)
			}),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// RegisterMetrics adds a collector's series to the head-end's /metrics (the fleet's figures,
// cloud/fleet), refusing one whose series the head-end already exports.
func (s *Server) RegisterMetrics(c prometheus.Collector) error {
	if err := s.metrics.reg.Register(c); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	return nil
}
