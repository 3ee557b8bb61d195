package ui

import (
	"github.com/gdamore/tcell/v2"

	"swarmbox/hw/remote"
)

// remoteKeys turns remote buttons into the terminal keys the UI already understands, so the
// remote and a keyboard take one path through the UI.
var remoteKeys = map[remote.Button]*tcell.EventKey{
	remote.Up:          tcell.NewEventKey(tcell.KeyUp, 0, tcell.ModNone),
	remote.Down:        tcell.NewEventKey(tcell.KeyDown, 0, tcell.ModNone),
	remote.Left:        tcell.NewEventKey(tcell.KeyLeft, 0, tcell.ModNone),
	remote.Right:       tcell.NewEventKey(tcell.KeyRight, 0, tcell.ModNone),
	remote.OK:          tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone),
	remote.Back:        tcell.NewEventKey(tcell.KeyEscape, 0, tcell.ModNone),
	remote.Home:        tcell.NewEventKey(tcell.KeyHome, 0, tcell.ModNone),
	remote.PlayPause:   tcell.NewEventKey(tcell.KeyRune, ' ', tcell.ModNone),
	remote.Stop:        tcell.NewEventKey(tcell.KeyRune, 's', tcell.ModNone),
	remote.FastForward: tcell.NewEventKey(tcell.KeyRune, 'f', tcell.ModNone),
	remote.Rewind:      tcell.NewEventKey(tcell.KeyRune, 'r', tcell.ModNone),
	remote.Red:         tcell.NewEventKey(tcell.KeyF1, 0, tcell.ModNone),
	remote.Green:       tcell.NewEventKey(tcell.KeyF2, 0, tcell.ModNone),
	remote.Yellow:      tcell.NewEventKey(tcell.KeyF3, 0, tcell.ModNone),
	remote.Blue:        tcell.NewEventKey(tcell.KeyF4, 0, tcell.ModNone),
	remote.PageUp:      tcell.NewEventKey(tcell.KeyPgUp, 0, tcell.ModNone),
	remote.PageDown:    tcell.NewEventKey(tcell.KeyPgDn, 0, tcell.ModNone),
	remote.Info:        tcell.NewEventKey(tcell.KeyRune, 'i', tcell.ModNone),
}

// RemoteKey returns the terminal key a remote button stands for.
func RemoteKey(b remote.Button) (*tcell.EventKey, bool) {
	if len(b) == 1 && b[0] >= '0' && b[0] <= '9' {
		return tcell.NewEventKey(tcell.KeyRune, rune(b[0]), tcell.ModNone), true
	}
	ev, ok := remoteKeys[b]
	return ev, ok
}

// Press delivers a remote button to the UI; safe to call from any goroutine.
func (a *App) Press(b remote.Button) {
	if ev, ok := RemoteKey(b); ok {
		a.app.QueueEvent(ev)
	}
}

// repeats are the buttons whose auto-repeat means "more of the same": moving and seeking. A
// held Back, Home, OK or colour key repeats too, but a household holding Back to close a dialog
// means that dialog, not the title page under it as well (UI-3), so their repeats are dropped.
var repeats = map[remote.Button]bool{
	remote.Up: true, remote.Down: true, remote.Left: true, remote.Right: true,
	remote.PageUp: true, remote.PageDown: true, remote.FastForward: true, remote.Rewind: true,
}

// PressRemote delivers a press from the remote, dropping the auto-repeats of buttons that
// open, close or change something; safe to call from any goroutine.
func (a *App) PressRemote(p remote.Press) {
	if p.Repeat && !repeats[p.Button] {
		return
	}
	a.Press(p.Button)
}
