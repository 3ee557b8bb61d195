package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rivo/tview"

	"swarmbox/player"
	"swarmbox/vocab"
)

// pollPlayer is how often the overlay asks the player where it is: often enough for a clock
// with seconds.
const pollPlayer = 500 * time.Millisecond

// nowPlaying is the title in the player overlay. Its fields change on the drawing goroutine only.
type nowPlaying struct {
	id, title string
	ctl       playback // the player; never nil: without one nothing plays
	status    player.Status
	statusErr error
	known     bool          // the player answered once
	heard     player.Status // the player's last answer without an error
	heardOK   bool
	stopPoll  context.CancelFunc
}

// Sentences for playback that did not start: what happened and what to do.
const (
	noPlayer     = "This box has no player set up, so it cannot show the title. Call the operator to set one up."
	playerFailed = "The player did not start, so nothing plays. Try again, and call the operator if this lasts."
)

// play asks the box for the title's stream and starts the player on it. Nothing says that a
// title plays until the player does (the overlay shows what the player reports).
func (a *App) play(id, title string, from float64) {
	if a.cfg.Player == "" {
		a.failSay(noPlayer) // the box is not asked to stream what nothing would show
		return
	}
	var ctl playback
	var startErr error
	a.command(a.cfg.CallTimeout, func(ctx context.Context) error {
		url, err := a.box.Play(ctx, id)
		if err != nil {
			return err
		}
		// The player has its own wait for its control socket.
		if ctl, startErr = a.startPlayer(a.ctx, a.cfg.Player, url, from); startErr != nil {
			// Nothing shows the stream: the box stops serving it, with a deadline of its own.
			sctx, cancel := context.WithTimeout(a.ctx, a.cfg.CallTimeout)
			defer cancel()
			a.box.Stop(sctx)
			a.model.refresh(sctx, false, id)
		}
		return nil
	}, func(err error) {
		if err != nil {
			a.fail(err)
			return
		}
		if startErr != nil {
			a.failSay(playerFailed)
			return
		}
		a.stopPlayback() // one title at a time
		ctx, cancel := context.WithCancel(a.ctx)
		p := &nowPlaying{id: id, title: title, ctl: ctl, stopPoll: cancel}
		a.playing = p
		a.say(fmt.Sprintf("Starting %s… Stop ends it.", title))
		go a.followPlayer(ctx, p)
		a.push(&playingScreen{a: a, text: newPlayingText()})
	})
}

// followPlayer asks the player where it stands and redraws the overlay when that changed.
func (a *App) followPlayer(ctx context.Context, p *nowPlaying) {
	var last player.Status
	var lastErr string
	for first := true; sleep(ctx, pollPlayer); first = false {
		cctx, cancel := context.WithTimeout(ctx, a.cfg.CallTimeout)
		st, err := p.ctl.Status(cctx)
		cancel()
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		if !first && st == last && errText == lastErr {
			continue
		}
		last, lastErr = st, errText
		a.app.QueueUpdateDraw(func() {
			if a.playing != p {
				return
			}
			p.status, p.statusErr, p.known = st, err, true
			if err == nil {
				p.heard, p.heardOK = st, true
			}
			if _, ok := a.nav.top().(*playingScreen); ok {
				a.redraw()
			}
		})
		if st.Ended {
			return
		}
	}
}

// stopPlayback ends playback: the player, the box's stream, and the resume point.
func (a *App) stopPlayback() {
	p := a.playing
	if p == nil {
		return
	}
	a.playing = nil
	p.stopPoll()
	if _, ok := a.nav.top().(*playingScreen); ok {
		a.back()
	}
	var st player.Status
	var stErr error
	heard, heardOK := p.heard, p.heardOK
	a.command(a.cfg.CallTimeout, func(ctx context.Context) error {
		st, stErr = p.ctl.Status(ctx)
		p.ctl.Stop()
		// Stopping the player may have used the deadline up: the box gets one of its own.
		ctx, cancel := context.WithTimeout(a.ctx, a.cfg.CallTimeout)
		defer cancel()
		err := a.box.Stop(ctx)
		a.model.refresh(ctx, false, p.id)
		return err
	}, func(err error) {
		if stErr != nil && heardOK {
			// A player too busy to answer at Stop (a loaded box) still said where it was half a
			// second ago: that is a better resume point than none.
			st, stErr = heard, nil
		}
		if stErr == nil {
			if err := a.resume.record(p.id, st, time.Now()); err != nil {
				a.failSay("Stopped, but the box could not note where you stopped: the title starts from the beginning next time.")
				return
			}
			a.redraw() // "Continue watching", "Resume from"
		}
		if err != nil {
			a.fail(err)
			return
		}
		a.say("Stopped.")
	})
}

// playingScreen is the overlay while a title plays: what the player says it is doing,
// position, play/pause, seek, stop.
type playingScreen struct {
	a    *App
	text *tview.TextView
}

func newPlayingText() *tview.TextView {
	t := tview.NewTextView().SetDynamicColors(true)
	t.SetBorder(true).SetTitle(" Player ")
	return t
}

// Name is "Player", not "Playing": whether it plays is the player's to say, below.
func (s *playingScreen) Name() string               { return "Player" }
func (s *playingScreen) Primitive() tview.Primitive { return s.text }
func (s *playingScreen) Keys() []keyHelp {
	return []keyHelp{{"Play/Pause", "pause", ""}, {"FF", "+30 s", ""}, {"RW", glyphMinus + "10 s", ""}, {"Stop", "stop", ""}, {"Back", "stop", ""}}
}

// playbackOf is what the player reports, in the shared vocabulary.
func playbackOf(st player.Status) vocab.Playback {
	switch {
	case st.Ended:
		return vocab.PlayerFinished
	case st.Paused:
		return vocab.PlayerPaused
	case st.Buffering:
		return vocab.PlayerBuffering
	}
	return vocab.PlayerPlaying
}

// playbackLine is the overlay's state line for what the player reports.
var playbackLine = map[vocab.Playback]string{
	vocab.PlayerPlaying:   glyphPlay + " Playing",
	vocab.PlayerPaused:    glyphPause + " Paused",
	vocab.PlayerBuffering: "Buffering: waiting for the box",
	vocab.PlayerFinished:  glyphStop + " Finished",
}

func (s *playingScreen) Update(*snapshot) {
	p := s.a.playing
	if p == nil {
		s.text.SetText("\n  Nothing is playing.")
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n  [::b]%s[::-]\n\n", tview.Escape(p.title))
	switch st := p.status; {
	case !p.known:
		fmt.Fprintf(&b, "  Starting…\n")
	case p.statusErr != nil:
		fmt.Fprintf(&b, "  %sThe player does not answer. Press Stop, then Play again.%s\n", theme.fail.tag(), reset)
	default:
		fmt.Fprintf(&b, "  %s%s[-:-:-]\n\n  %s  %s / %s\n", theme.accent.tag(), playbackLine[playbackOf(st)],
			bar(int64(st.Position*10), int64(max(st.Duration, st.Position)*10), 40), clock(st.Position), clock(st.Duration))
		if st.Dropped > 0 { // the picture stutters: say why (the box cannot decode it in time)
			fmt.Fprintf(&b, "\n  %d frames dropped\n", st.Dropped)
		}
	}
	s.text.SetText(b.String())
}

func (s *playingScreen) Act(act Action) bool {
	p := s.a.playing
	if p == nil {
		return false
	}
	var f func(ctx context.Context) error
	switch act {
	case ActPlayPause:
		f = p.ctl.TogglePause
	case ActFastForward:
		f = func(ctx context.Context) error { return p.ctl.Seek(ctx, 30) }
	case ActRewind:
		f = func(ctx context.Context) error { return p.ctl.Seek(ctx, -10) }
	default:
		return false
	}
	s.a.command(s.a.cfg.CallTimeout, f, func(err error) {
		if err != nil {
			s.a.failSay("The player did not answer. Press Stop, then Play again.")
		}
	})
	return true
}
