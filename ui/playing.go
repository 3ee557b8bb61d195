package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rivo/tview"

	"swarmbox/player"
)

// pollPlayer is how often the overlay asks the player where it is: often enough for a clock
// with seconds.
const pollPlayer = 500 * time.Millisecond

// nowPlaying is the title in the player overlay. Its fields change on the drawing goroutine only.
type nowPlaying struct {
	id, title, url string
	ctl            playback // nil when no player is configured or it could not start
	status         player.Status
	statusErr      error
	known          bool // the player answered once
	stopPoll       context.CancelFunc
}

// play asks the box for the title's stream and starts the player on it.
func (a *App) play(id, title string, from float64) {
	var url string
	var ctl playback
	var startErr error
	a.command(a.cfg.CallTimeout, func(ctx context.Context) error {
		var err error
		if url, err = a.box.Play(ctx, id); err != nil {
			return err
		}
		if a.cfg.Player != "" {
			// The player has its own wait for its control socket.
			ctl, startErr = a.startPlayer(a.ctx, a.cfg.Player, url, from)
		}
		return nil
	}, func(err error) {
		if err != nil {
			a.fail(err)
			return
		}
		a.stopPlayback() // one title at a time
		p := &nowPlaying{id: id, title: title, url: url, ctl: ctl, stopPoll: func() {}}
		a.playing = p
		a.say(fmt.Sprintf("▶ Playing %s — Stop to end.", title))
		if startErr != nil {
			a.fail(startErr)
		}
		if ctl != nil {
			ctx, cancel := context.WithCancel(a.ctx)
			p.stopPoll = cancel
			go a.followPlayer(ctx, p)
		}
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
	stErr := fmt.Errorf("no player")
	a.command(a.cfg.CallTimeout, func(ctx context.Context) error {
		if p.ctl != nil {
			st, stErr = p.ctl.Status(ctx)
			p.ctl.Stop()
		}
		// Stopping the player may have used the deadline up: the box gets one of its own.
		ctx, cancel := context.WithTimeout(a.ctx, a.cfg.CallTimeout)
		defer cancel()
		err := a.box.Stop(ctx)
		a.model.refresh(ctx, false, p.id)
		return err
	}, func(err error) {
		if stErr == nil {
			if err := a.resume.record(p.id, st, time.Now()); err != nil {
				a.fail(err)
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

// playingScreen is the overlay while a title plays: position, play/pause, seek, stop.
type playingScreen struct {
	a    *App
	text *tview.TextView
}

func newPlayingText() *tview.TextView {
	t := tview.NewTextView().SetDynamicColors(true)
	t.SetBorder(true).SetTitle(" Now playing ")
	return t
}

func (s *playingScreen) Name() string               { return "Playing" }
func (s *playingScreen) Primitive() tview.Primitive { return s.text }
func (s *playingScreen) Keys() []keyHelp {
	return []keyHelp{{"Play/Pause", "pause", ""}, {"FF", "+30 s", ""}, {"RW", "−10 s", ""}, {"Stop", "stop", ""}, {"Back", "stop", ""}}
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
	case p.ctl == nil:
		fmt.Fprintf(&b, "  No player is configured on this box.\n")
	case !p.known:
		fmt.Fprintf(&b, "  Starting…\n")
	case p.statusErr != nil:
		fmt.Fprintf(&b, "  [red]The player does not answer: %s[-]\n", tview.Escape(p.statusErr.Error()))
	default:
		state := "▶ Playing"
		switch {
		case st.Ended:
			state = "■ Finished"
		case st.Paused:
			state = "⏸ Paused"
		}
		fmt.Fprintf(&b, "  [#ffc800::b]%s[-:-:-]\n\n  %s  %s / %s\n", state,
			bar(int64(st.Position*10), int64(max(st.Duration, st.Position)*10), 40), clock(st.Position), clock(st.Duration))
	}
	fmt.Fprintf(&b, "\n  [#9696aa]Stream: %s[-]", p.url)
	s.text.SetText(b.String())
}

func (s *playingScreen) Act(act Action) bool {
	p := s.a.playing
	if p == nil || p.ctl == nil {
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
			s.a.fail(err)
		}
	})
	return true
}
