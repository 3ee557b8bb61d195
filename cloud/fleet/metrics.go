package fleet

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The fleet's series on /metrics, region by region (docs/grafana/swarmbox.json charts them).
var (
	descBoxes = prometheus.NewDesc("swarmbox_region_boxes",
		"Boxes by region and state: online (reported within the online window) or offline.", []string{"region", "state"}, nil)
	descBytes = prometheus.NewDesc("swarmbox_region_received_bytes",
		"Bytes the boxes of a region report receiving, by source: server, lan, same_network, other_network, other_region, unattributed (the sum of their latest reports; a box's per-peer counters restart with it).",
		[]string{"region", "source"}, nil)
	descShare = prometheus.NewDesc("swarmbox_region_server_share",
		"The server's share of the bytes a region's boxes received.", []string{"region"}, nil)
	descBound = prometheus.NewDesc("swarmbox_region_server_share_bound",
		"The least share the server could have had of the same deliveries: each title leaves the server once across all regions unless a box held it before (the region's part, in proportion to its bytes).",
		[]string{"region"}, nil)
	descPlanAge = prometheus.NewDesc("swarmbox_region_plan_age_seconds",
		"Seconds since the region's plan was last published (absent for a region never planned).", []string{"region"}, nil)
	descUp = prometheus.NewDesc("swarmbox_fleet_figures_ok",
		"1 when the fleet's figures could be read from the store at the last scrape, 0 when not (the head-end's log says why).", nil, nil)
)

// Collector exports the figures of a Source to Prometheus, computed when scraped.
type Collector struct {
	Source *Source
	Log    *slog.Logger // says why the figures could not be read (default slog.Default())
}

// Describe sends the descriptors of every series.
func (c Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBoxes, descBytes, descShare, descBound, descPlanAge, descUp} {
		ch <- d
	}
}

// Collect reads the figures and sends them.
func (c Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := c.Source.Figures(ctx)
	if err != nil {
		cmp.Or(c.Log, slog.Default()).Error("fleet figures for /metrics", "err", err)
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	for _, r := range f.Regions {
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{r.Name}, labels...)...)
		}
		gauge(descBoxes, float64(r.Online), "online")
		gauge(descBoxes, float64(r.Offline()), "offline")
		for _, sb := range r.ByOrigin() {
			gauge(descBytes, float64(sb.Bytes), sb.Origin.String())
		}
		gauge(descShare, r.ServerShare())
		gauge(descBound, r.BoundShare())
		if age, ok := r.PlanAge(f.At); ok {
			gauge(descPlanAge, age.Seconds())
		}
	}
}
