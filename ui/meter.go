package ui

import (
	"time"

	"swarmbox/vocab"
)

// meter turns successive byte counts of downloads into rates and times to finish. Time is an
// input, so it is tested without a clock.
type meter struct {
	last map[string]sample
}

type sample struct {
	bytes int64
	at    time.Time
	rate  float64 // bytes per second, smoothed
}

// observe records that id had received bytes at now and returns the smoothed rate.
func (m *meter) observe(id string, bytes int64, now time.Time) float64 {
	if m.last == nil {
		m.last = map[string]sample{}
	}
	prev, ok := m.last[id]
	s := sample{bytes: bytes, at: now, rate: prev.rate}
	if ok && now.Sub(prev.at) >= 500*time.Millisecond {
		inst := float64(bytes-prev.bytes) / now.Sub(prev.at).Seconds()
		if inst < 0 {
			inst = 0
		}
		if prev.rate == 0 {
			s.rate = inst
		} else {
			s.rate = 0.6*prev.rate + 0.4*inst // smooth the jumps of piece-sized arrivals
		}
	} else if ok {
		s = prev // too soon to tell anything new
	}
	m.last[id] = s
	return s.rate
}

// eta estimates the time left for a download that has bytes after done of total pieces.
func eta(bytes int64, done, total int32, rate float64) (time.Duration, bool) {
	if rate <= 0 || done <= 0 || total <= 0 || done >= total {
		return 0, false
	}
	left := float64(bytes) * float64(total-done) / float64(done)
	return time.Duration(left / rate * float64(time.Second)).Round(time.Second), true
}

// rateText reads as "1.2 MB/s, about 3 minutes left".
func rateText(rate float64, left time.Duration, known bool) string {
	if rate <= 0 {
		return "waiting for sources"
	}
	s := size(int64(rate)) + "/s"
	if known {
		if left < time.Minute {
			return s + ", less than a minute left"
		}
		s += ", about " + vocab.Span(left) + " left"
	}
	return s
}
