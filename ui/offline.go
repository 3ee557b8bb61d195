package ui

import (
	"time"

	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
)

// offlineLine is the quiet status line while the box cannot reach its head-end: what still
// works, no alarm. Empty while online.
func offlineLine(l boxbus.Link) string {
	switch {
	case l.Online:
		return ""
	case !l.Registered:
		return " " + theme.faint.tag() + "Waiting for the operator's service — the box connects by itself when it is reachable.[-]"
	case l.OfflineSince == 0:
		return " " + theme.faint.tag() + "Offline — your titles still play.[-]"
	default:
		return " " + theme.faint.tag() + "Offline since " + tview.Escape(time.Unix(l.OfflineSince, 0).Format("15:04")) + " — your titles still play.[-]"
	}
}

// offlineBuy is what the Buy dialog says while the box is offline, "" while online.
func offlineBuy(l boxbus.Link) string {
	switch {
	case l.Online:
		return ""
	case !l.Registered:
		return "Buying needs the connection to the operator, and the box has not reached it yet."
	case l.OfflineSince == 0:
		return "Buying needs the connection to the operator, and the box is offline."
	default:
		return "Buying needs the connection to the operator, and the box is offline since " + time.Unix(l.OfflineSince, 0).Format("15:04") + "."
	}
}

// offlineRefusal is the status line after the box refused a purchase for being offline: short
// enough for one line of an 80-column TV.
func offlineRefusal(l boxbus.Link) string {
	if l.OfflineSince == 0 || l.Online {
		return "Buying needs the connection, and the box is offline. Your titles still play."
	}
	return "Buying needs the connection; offline since " + time.Unix(l.OfflineSince, 0).Format("15:04") + ". Your titles still play."
}
