package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
	"swarmbox/player"
)

// Action is what a key means, whether it came from the remote or a terminal.
type Action int

// Actions the UI reacts to beyond list navigation (arrows and OK are the widgets' own).
const (
	ActNone Action = iota
	ActBack
	ActHome
	ActRed
	ActGreen
	ActYellow
	ActBlue
	ActPlayPause
	ActStop
	ActFastForward
	ActRewind
	ActInfo
)

// KeyAction maps a terminal key to an action: Esc/Backspace = Back, Home or h = Home, F1–F4 =
// the colour keys, space or p = Play/Pause, s = Stop, f or > = FF, r or < = RW, i or ? = Info.
func KeyAction(ev *tcell.EventKey) Action {
	switch ev.Key() {
	case tcell.KeyEscape, tcell.KeyBackspace, tcell.KeyBackspace2:
		return ActBack
	case tcell.KeyHome:
		return ActHome
	case tcell.KeyF1:
		return ActRed
	case tcell.KeyF2:
		return ActGreen
	case tcell.KeyF3:
		return ActYellow
	case tcell.KeyF4:
		return ActBlue
	case tcell.KeyRune:
		switch ev.Rune() {
		case 'h':
			return ActHome
		case ' ', 'p':
			return ActPlayPause
		case 's':
			return ActStop
		case 'f', '>':
			return ActFastForward
		case 'r', '<':
			return ActRewind
		case 'i', '?':
			return ActInfo
		}
	}
	return ActNone
}

// playback is the external player as the UI drives it; *player.MPV is one.
type playback interface {
	TogglePause(ctx context.Context) error
	Seek(ctx context.Context, delta float64) error
	Status(ctx context.Context) (player.Status, error)
	Stop() error
}

// App is the TV UI. Everything but the model's goroutine and the commands runs on tview's
// drawing goroutine.
type App struct {
	cfg    Config
	box    Box
	model  *model
	ctx    context.Context // ends when Run is told to stop
	cancel context.CancelFunc

	app    *tview.Application
	nav    *navStack
	header *tview.TextView
	footer *tview.TextView
	status *tview.TextView

	snap     *snapshot // the latest the model handed over
	home     *homeScreen
	filter   catalogFilter
	resume   *positions
	meter    meter // download rates, for rate and time-left figures
	playing  *nowPlaying
	said     string   // the status line's message
	saidSeq  int      // bumped with every message, so an old timer does not clear a new one
	undo     *removal // the last wish removed, which Yellow puts back while its message shows
	answered bool     // the box answered the last time we knew

	// startPlayer starts the external player; tests replace it.
	startPlayer func(ctx context.Context, command, url string, from float64) (playback, error)
}

// New builds the UI for box. player, if not empty, is run with the playback URL.
func New(box Box, player string, opts ...Option) *App {
	cfg := defaultConfig(player)
	for _, o := range opts {
		o(&cfg)
	}
	a := &App{cfg: cfg, box: box, app: tview.NewApplication(), nav: newNavStack(), resume: &positions{m: map[string]resumePoint{}}, answered: true,
		snap: &snapshot{index: map[string]int{}, shelves: map[string][]boxbus.Shelf{}}, startPlayer: startMPV}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.model = newModel(box, cfg, func(s *snapshot) { a.app.QueueUpdateDraw(func() { a.show(s) }) })
	tview.Styles.PrimitiveBackgroundColor = theme.body.bg
	tview.Styles.ContrastBackgroundColor = theme.body.bg
	tview.Styles.PrimaryTextColor = theme.body.fg
	tview.Styles.SecondaryTextColor = theme.body.fg
	tview.Styles.BorderColor = theme.faint.fg
	tview.Styles.TitleColor = theme.body.fg // a widget's colour cannot be bold: the accent would be brown
	a.header = tview.NewTextView().SetDynamicColors(true)
	a.footer = tview.NewTextView().SetDynamicColors(true)
	// Two lines, wrapped at words: a sentence saying what failed and what to do is never cut
	// off at the 72 columns the box's safe area leaves.
	// The line's one-column indent is the view's padding, not a leading space, so the second
	// line starts where the first does.
	a.status = tview.NewTextView().SetDynamicColors(true).SetWordWrap(true)
	a.status.SetBorderPadding(0, 0, 1, 0)
	layout := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(a.header, 1, 0, false).
		AddItem(a.nav.pages, 0, 1, true).
		AddItem(a.status, 2, 0, false).
		AddItem(a.footer, 1, 0, false)
	a.app.SetRoot(&safeArea{Flex: layout, percent: cfg.SafeArea}, true)
	a.app.SetInputCapture(a.onKey)
	a.home = newHome(a)
	a.push(a.home)
	return a
}

func startMPV(ctx context.Context, command, url string, from float64) (playback, error) {
	return player.StartMPV(ctx, command, url, from)
}

// Run draws the UI and follows the box until the household leaves it (Ctrl-C) or stop is closed.
func (a *App) Run(stop <-chan struct{}) error {
	go func() {
		select {
		case <-stop:
			a.app.Stop()
		case <-a.ctx.Done():
		}
	}()
	defer a.cancel()
	go a.model.run(a.ctx)
	go a.clock(a.ctx)
	return a.app.Run()
}

// clock redraws when the minute turns: the header's clock, a licence's time left, the rate of a
// download that stalled (no change is announced for bytes that do not arrive).
func (a *App) clock(ctx context.Context) {
	for {
		now := time.Now()
		if !sleep(ctx, now.Truncate(time.Minute).Add(time.Minute).Sub(now)) {
			return
		}
		a.app.QueueUpdateDraw(a.redraw)
	}
}

// Application exposes the tview application (for tests with a simulation screen).
func (a *App) Application() *tview.Application { return a.app }

// show takes a snapshot from the model and redraws the screen on top with it.
func (a *App) show(s *snapshot) {
	a.snap = s
	if s.trust == nil && !a.answered {
		a.say("The box is answering again.")
	}
	a.answered = s.trust == nil
	a.nav.top().Update(s)
	a.drawChrome()
}

// drawChrome draws the header, the status line and the bottom line.
func (a *App) drawChrome() {
	info := "help"
	if _, ok := a.nav.top().(*helpScreen); ok {
		info = "close help"
	}
	// Info is named here, on every screen, rather than at the end of a bottom line an 80-column
	// console may cut: it is the key that tells the rest.
	a.header.SetText(fmt.Sprintf(" [::b]swarmbox[-:-:-]  %s  %s%s[-:-:-]%s%s   [::b]Info[::-] %s", glyphCrumb, theme.accent.tag(), a.nav.top().Name(), strings.Repeat(" ", 20), time.Now().Format("15:04"), info))
	var status string
	switch {
	case a.snap.trust != nil && errors.Is(a.snap.trust, boxbus.ErrUnanswered):
		status = " " + theme.accent.tag() + "The box is not answering.[-:-:-] Wait a moment, or restart the box if this lasts."
	case a.snap.trust != nil:
		status = " " + theme.fail.tag() + "The box could not list its titles. Restart the box, and call the operator if this lasts."
	case a.said == "" && a.snap.diskFull != "":
		status = " " + theme.accent.tag() + tview.Escape(a.snap.diskFull)
	case a.said == "" && a.snap.loaded:
		status = offlineLine(a.snap.link)
	default:
		status = a.said
	}
	a.status.SetText(strings.TrimPrefix(status, " ")) // the view's padding indents it

	a.footer.SetText(legend(a.nav.top().Keys()))
}

// redraw updates the screen on top from the snapshot it already has (after a key changed
// what it shows).
func (a *App) redraw() {
	a.nav.top().Update(a.snap)
	a.drawChrome()
}

// push opens s on top.
func (a *App) push(s screen) {
	a.nav.push(s)
	a.redraw()
}

// back closes the screen on top.
func (a *App) back() {
	if _, ok := a.nav.top().(*playingScreen); ok && a.playing != nil {
		a.stopPlayback() // leaving the player ends playback, as on any TV
		return
	}
	if a.nav.pop() {
		a.redraw()
	}
}

func (a *App) onKey(ev *tcell.EventKey) *tcell.EventKey {
	act := KeyAction(ev)
	if s, ok := a.nav.top().(actor); ok && act != ActNone && s.Act(act) {
		return nil
	}
	if r := ev.Rune(); ev.Key() == tcell.KeyRune && r >= '0' && r <= '9' {
		if s, ok := a.nav.top().(*searchScreen); ok {
			s.typeDigit(r)
			return nil
		}
		// Digits jump to an entry of the list in focus: 1 is the first, 0 the tenth (UI-3).
		if l, ok := a.app.GetFocus().(*tview.List); ok {
			if i := digitRow(r); i < l.GetItemCount() {
				l.SetCurrentItem(i)
			}
			return nil
		}
	}
	switch act {
	case ActBack:
		a.back()
		return nil
	case ActHome:
		// Home is a fresh start: the home screen with its first entry in focus, as on any TV.
		a.stopPlayback()
		a.nav.reset()
		a.home.list.SetCurrentItem(0)
		a.redraw()
		return nil
	case ActStop:
		a.stopPlayback()
		return nil
	case ActInfo:
		// Info opens the help of the screen on top, and closes it again (UI-3).
		if _, ok := a.nav.top().(*helpScreen); ok {
			a.back()
		} else {
			a.push(newHelp(a.nav.top()))
		}
		return nil
	}
	return ev
}

// statusFor is how long a message stays on the status line: long enough to read from the sofa,
// short enough not to describe a screen the household has left.
const statusFor = 8 * time.Second

// say puts msg on the status line for a while.
func (a *App) say(msg string) { a.setStatus(" " + tview.Escape(msg)) }

// fail says on the status line, in a sentence, what a failed call means and what to do
// (boxbus.Sentence: never the box's internals); a box not answering has its own line instead.
func (a *App) fail(err error) {
	if errors.Is(err, boxbus.ErrUnanswered) {
		return
	}
	a.failSay(boxbus.Sentence(err))
}

// failSay puts a failure's sentence on the status line.
func (a *App) failSay(sentence string) { a.setStatus(" " + theme.fail.tag() + tview.Escape(sentence)) }

func (a *App) setStatus(text string) {
	a.said = text
	a.saidSeq++
	seq := a.saidSeq
	time.AfterFunc(statusFor, func() {
		a.app.QueueUpdateDraw(func() {
			if a.saidSeq == seq {
				a.said = ""
				a.drawChrome()
			}
		})
	})
	a.drawChrome()
}

// command runs f off the drawing goroutine with a deadline of timeout, then done with its error
// on the drawing goroutine. A box that does not answer is the model's to show.
func (a *App) command(timeout time.Duration, f func(ctx context.Context) error, done func(err error)) {
	go func() {
		ctx, cancel := context.WithTimeout(a.ctx, timeout)
		defer cancel()
		err := f(ctx)
		if errors.Is(err, boxbus.ErrUnanswered) {
			a.model.unanswered(a.ctx, err)
		}
		a.app.QueueUpdateDraw(func() { done(err) })
	}()
}

// KeepPositions keeps resume points in path, so "Continue watching" survives a restart, and
// Home's row order beside it (home-order.json in path's folder), so after a restart a digit
// opens the title it opened before (UI-3). With a device for path (-positions /dev/null) only
// the resume points are kept, there.
func (a *App) KeepPositions(path string) error {
	p, err := loadPositions(path)
	a.resume = p
	if fi, serr := os.Stat(path); path != "" && (errors.Is(serr, os.ErrNotExist) || serr == nil && fi.Mode().IsRegular()) {
		err = errors.Join(err, a.home.keepOrder(filepath.Join(filepath.Dir(path), homeOrderFile)))
	}
	return err
}
