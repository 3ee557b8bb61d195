// Package vocab is the household's vocabulary: where a title stands (the state names the box's
// D-Bus API sends, and the words the TV, the command line and the browser show for them), time
// left in words, and prices with the account's currency. Every screen that tells a household
// about a title says it with these words, so no two say it differently (requirement UI-2).
//
// It holds words only: it imports nothing of the box, the bus or the head-end, so each of them
// can import it.
package vocab

import (
	"fmt"
	"time"
)

// State is where an item stands on a box: the word on the wire (D-Bus, the command line's
// JSON). Package boxbus names it boxbus.State.
type State string

// The states of an item, in the order a title usually goes through them.
const (
	NotWished   State = "not wished"
	Wished      State = "wished"
	Downloading State = "downloading"
	// Kept: the scheduler placed the title (or a piece range of it) in the disk space the box
	// lends to the swarm, for other households; this one has not wished it and the box does not
	// hold all of it, so it is neither downloading for them nor ready to buy.
	Kept       State = "kept for neighbours"
	ReadyToBuy State = "ready to buy"
	// Bought: the box holds a valid licence, owned or rented (LicenceKind tells which; a
	// rental is never shown as bought, see Standing).
	Bought State = "bought"
	// Playing: the box streams the title to a player. Whether a picture moves is the
	// player's to say (Playback), never this state's.
	Playing State = "playing"
	Expired State = "license expired"
	// Removed is only a signal's state: the item is no longer on the box nor on the wishlist.
	Removed State = "removed"
)

// States lists every state.
var States = []State{NotWished, Wished, Downloading, Kept, ReadyToBuy, Bought, Playing, Expired, Removed}

// ParseState checks a state word from the wire.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown item state %q: the box runs newer software than this client", s)
}

// Complete says whether an item in this state is whole and verified on the box's disk.
func (s State) Complete() bool { return s == ReadyToBuy || s == Bought || s == Playing || s == Expired }

// Playable says whether the household may play an item in this state.
func (s State) Playable() bool { return s == Bought || s == Playing }

// Licence kinds as the box reports them (media.Owned, media.Rental).
const (
	LicenceOwned  = "owned"
	LicenceRental = "rental"
)

// Title is what the words for a title's standing depend on.
type Title struct {
	State       State
	LicenceKind string    // LicenceOwned, LicenceRental; "" when not bought
	Expires     time.Time // the licence's end; zero when not bought
	PriceCents  int64     // the price to own; 0 is a free title
}

// Standing is where a title stands, in the household's words: "owned", "rented · 2 days
// left", "free, ready to watch", "rental ended"… A rental is never "bought", a free title never
// "ready to buy".
func Standing(t Title, now time.Time) string {
	switch t.State {
	case NotWished:
		if t.PriceCents == 0 {
			return "free, in the catalog"
		}
		return "in the catalog"
	case Wished:
		return "on your wishlist"
	case Downloading:
		return "downloading"
	case Kept:
		return "kept for neighbours"
	case ReadyToBuy:
		if t.PriceCents == 0 {
			return "free, ready to watch"
		}
		return "ready to buy"
	case Bought, Playing:
		if t.LicenceKind == LicenceRental {
			switch {
			case t.Expires.IsZero():
				return "rented"
			case !t.Expires.After(now): // ended before the box said so
				return "rental ended"
			}
			return "rented · " + TimeLeft(t.Expires.Sub(now))
		}
		return "owned"
	case Expired:
		if t.LicenceKind == LicenceRental {
			return "rental ended"
		}
		return "owned, licence to renew"
	case Removed:
		return "removed"
	}
	return string(t.State)
}

// Playback is what the player says it is doing, in the household's words. Only these say that
// a title plays; the box's Playing state does not (the box streams whether or not a player
// shows it).
type Playback string

// What a player can be doing.
const (
	PlayerStarting  Playback = "starting"
	PlayerPlaying   Playback = "playing"
	PlayerPaused    Playback = "paused"
	PlayerBuffering Playback = "buffering"
	PlayerFinished  Playback = "finished"
)

// Span says a length of time in words, to the nearest minute, then rounded down to its
// largest unit from two of them on: "2 days", "47 hours", "1 hour", "5 minutes", "less than a
// minute". Rounding down never promises time that is not there; the minute keeps a 48-hour
// rental read a second after renting at "2 days".
func Span(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d >= 48*time.Hour:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	}
	return "less than a minute"
}

// TimeLeft says how long a licence still plays: "2 days left", "5 hours left", "less than a
// minute left"; "ended" when nothing is left (a licence past its end, or an end before now
// because the clocks disagree).
func TimeLeft(d time.Duration) string {
	if d <= 0 {
		return "ended"
	}
	return Span(d) + " left"
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
