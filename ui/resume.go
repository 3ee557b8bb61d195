package ui

import (
	"time"

	"swarmbox/player"
)

// resumePoint is where a household stopped watching a title.
type resumePoint struct {
	Position float64   `json:"position"` // seconds
	Duration float64   `json:"duration"` // seconds; 0 when the player did not know
	At       time.Time `json:"at"`       // when playback stopped
}

// positions keeps resume points in a small JSON file of the UI's own: they are the UI's state,
// and the UI never opens the box's database.
type positions struct {
	path string
	m    map[string]resumePoint
}

// loadPositions reads path; a missing file is an empty list. A damaged file is set aside
// (renamed with .damaged) and the list starts empty, so the UI always starts.
func loadPositions(path string) (*positions, error) {
	p := &positions{path: path, m: map[string]resumePoint{}}
	err := loadState(path, "resume positions", &p.m)
	if p.m == nil {
		p.m = map[string]resumePoint{}
	}
	return p, err
}

// worthResuming says whether stopping at pos of dur leaves something to come back to: past the
// first second and not at the end credits.
func worthResuming(pos, dur float64) bool {
	return pos >= 1 && (dur <= 0 || pos < 0.95*dur)
}

// record notes where id stopped (or forgets it when there is nothing left to resume) and saves.
func (p *positions) record(id string, st player.Status, now time.Time) error {
	if worthResuming(st.Position, st.Duration) {
		p.m[id] = resumePoint{Position: st.Position, Duration: st.Duration, At: now}
	} else {
		delete(p.m, id)
	}
	return p.save()
}

// save writes the file atomically: a power cut leaves the old list or the new, never half.
func (p *positions) save() error { return saveState(p.path, "resume positions", p.m) }
