package boxbus

import (
	"errors"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// ErrorPrefix starts every error name of the box's own; wrong argument types and unknown
// methods get the standard org.freedesktop.DBus.Error names.
const ErrorPrefix = "org.swarmbox.Error."

// ErrorName is the last part of a D-Bus error name the box sends (org.swarmbox.Error.NotBought
// has ErrorName "NotBought").
type ErrorName string

// The box's error names.
const (
	ErrNotBought           ErrorName = "NotBought"           // the title has no licence on this box
	ErrNotDownloaded       ErrorName = "NotDownloaded"       // the title is not (yet) on the disk
	ErrUnknownItem         ErrorName = "UnknownItem"         // no such title in the catalog
	ErrExpired             ErrorName = "Expired"             // the licence has expired
	ErrWrongBox            ErrorName = "WrongBox"            // a licence for another box
	ErrBadLicence          ErrorName = "BadLicense"          // a licence that does not verify
	ErrDamaged             ErrorName = "Damaged"             // the container fails its checks
	ErrInvalidArgs         ErrorName = "InvalidArgs"         // a value out of range (a position < 1, an unknown kind)
	ErrAccountUnknown      ErrorName = "AccountUnknown"      // the box has not synced yet
	ErrInsufficientBalance ErrorName = "InsufficientBalance" // the account cannot pay
	ErrAccountInactive     ErrorName = "AccountInactive"     // the account is suspended or closed
	ErrNotPaired           ErrorName = "NotPaired"           // the box is not paired to a household: the message says how
	ErrHeadendRefused      ErrorName = "HeadendRefused"      // the head-end said no for another reason
	ErrHeadendUnreachable  ErrorName = "HeadendUnreachable"  // the head-end could not be reached
	ErrOffline             ErrorName = "Offline"             // buying needs the connection, and the box is offline
	ErrNotPlaying          ErrorName = "NotPlaying"          // nothing plays
	ErrNoSpace             ErrorName = "NoSpace"             // the title is larger than its area can take in
	ErrFailed              ErrorName = "Failed"              // anything else; the message says what
)

// Standard D-Bus error names a client may get from the bus or the daemon.
const (
	DBusInvalidArgs   = "org.freedesktop.DBus.Error.InvalidArgs"
	DBusUnknownMethod = "org.freedesktop.DBus.Error.UnknownMethod"
	DBusServiceAbsent = "org.freedesktop.DBus.Error.ServiceUnknown"
	DBusNoReply       = "org.freedesktop.DBus.Error.NoReply"
)

// Error is a refusal from the box, as a client sees it.
type Error struct {
	Name    ErrorName // the box's own name, or the full standard name
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, &Error{Name: ErrNotBought}) match by name.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Name == e.Name && (t.Message == "" || t.Message == e.Message)
}

// Refusal returns a sentinel for errors.Is: errors.Is(err, boxbus.Refusal(boxbus.ErrNotBought)).
func Refusal(name ErrorName) error { return &Error{Name: name} }

// NewDBusError is the daemon's side: the D-Bus error for name with a sentence for the household.
func NewDBusError(name ErrorName, msg string) *dbus.Error {
	full := string(name)
	if !strings.Contains(full, ".") {
		full = ErrorPrefix + full
	}
	return dbus.NewError(full, []any{msg})
}

// ErrUnanswered says the daemon did not answer in time or is not on the bus.
var ErrUnanswered = errors.New("the box is not answering")

// fromCall turns a call's error into an *Error (the daemon refused) or an error wrapping
// ErrUnanswered (no daemon, a timeout, a lost connection).
func fromCall(method string, err error) error {
	var de dbus.Error
	if errors.As(err, &de) {
		msg := de.Name
		if len(de.Body) > 0 {
			msg = fmt.Sprint(de.Body[0])
		}
		switch de.Name {
		case DBusServiceAbsent, DBusNoReply:
			return fmt.Errorf("%s: %w (%s)", method, ErrUnanswered, msg)
		}
		name := ErrorName(de.Name)
		if s, ok := strings.CutPrefix(de.Name, ErrorPrefix); ok {
			name = ErrorName(s)
		}
		return &Error{Name: name, Message: msg}
	}
	return fmt.Errorf("%s: %w: %w", method, ErrUnanswered, err)
}

// sentences say what a refusal means to the household and what to do, in a sentence; the
// box's own message is for logs and the command line, and may name code or addresses.
var sentences = map[ErrorName]string{
	ErrNotBought:           "This title is not yours yet: buy or rent it first.",
	ErrNotDownloaded:       "This title is not on the box yet: add it to your wishlist and wait until it has arrived.",
	ErrUnknownItem:         "This title is no longer in the catalog.",
	ErrExpired:             "Its licence has ended: rent or buy it again to watch it.",
	ErrWrongBox:            "This title's licence is for another box. Call the operator.",
	ErrBadLicence:          "This title's licence could not be checked. Call the operator.",
	ErrDamaged:             "The copy of this title on the box is damaged. Call the operator if this lasts.",
	ErrInvalidArgs:         "The box could not do that. Try again, and call the operator if this lasts.",
	ErrAccountUnknown:      "The box has not reached the operator yet, so your account is not known. Try again in a minute.",
	ErrInsufficientBalance: "Your balance is too low for this. Top it up, then try again.",
	ErrAccountInactive:     "Your account is suspended or closed. Call the operator.",
	ErrNotPaired:           "This box is not paired to your household yet: follow the pairing steps on the Home screen.",
	ErrHeadendRefused:      "The operator refused this. Call the operator if you do not know why.",
	ErrHeadendUnreachable:  "The box cannot reach the operator right now. Your titles still play; try again later.",
	ErrOffline:             "Buying needs the connection to the operator, and the box is offline. Your titles still play.",
	ErrNotPlaying:          "Nothing is playing.",
	ErrNoSpace:             "There is no room for this title on the box's disk. Remove a title from your wishlist first.",
}

// Sentence says what a failed call means to the household and what to do, in one sentence,
// without the box's internals (addresses, error chains): the TV shows it. Every refusal the box
// can send maps here, in one place; anything else reads as a failure to try again.
func Sentence(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrUnanswered):
		return "The box is not answering. Wait a moment, or restart the box if this lasts."
	case errors.As(err, &e):
		if s, ok := sentences[e.Name]; ok {
			return s
		}
	}
	return "The box could not do that. Try again, and call the operator if this lasts."
}
