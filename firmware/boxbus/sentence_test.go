package boxbus

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSentence (UI-2): every refusal the box can send reads as a sentence for the household
// that says what to do, never the box's own message (which may name files, addresses or error
// chains); a box that does not answer and an unknown failure have sentences of their own.
func TestSentence(t *testing.T) {
	internal := "open /var/lib/swarmbox/state.db: http://127.0.0.1:8080: broken pipe"
	names := []ErrorName{ErrNotBought, ErrNotDownloaded, ErrUnknownItem, ErrExpired, ErrWrongBox, ErrBadLicence, ErrDamaged, ErrInvalidArgs,
		ErrAccountUnknown, ErrInsufficientBalance, ErrAccountInactive, ErrNotPaired, ErrHeadendRefused, ErrHeadendUnreachable, ErrOffline,
		ErrNotPlaying, ErrNoSpace, ErrFailed, DBusUnknownMethod}
	seen := map[string]ErrorName{}
	for _, name := range names {
		s := Sentence(fmt.Errorf("calling the box: %w", &Error{Name: name, Message: internal}))
		if s == "" || strings.Contains(s, "127.0.0.1") || strings.Contains(s, "/var/") || !strings.HasSuffix(s, ".") || s[0] < 'A' || s[0] > 'Z' {
			t.Errorf("%s reads %q", name, s)
		}
		if other, ok := seen[s]; ok && name != ErrFailed && name != DBusUnknownMethod && other != ErrFailed {
			t.Errorf("%s and %s read the same: %q", name, other, s)
		}
		seen[s] = name
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("Play: %w: %w", ErrUnanswered, errors.New("context deadline exceeded")), "The box is not answering. Wait a moment, or restart the box if this lasts."},
		{&Error{Name: ErrNotBought, Message: internal}, "This title is not yours yet: buy or rent it first."},
		{&Error{Name: ErrInsufficientBalance}, "Your balance is too low for this. Top it up, then try again."},
		{errors.New(internal), "The box could not do that. Try again, and call the operator if this lasts."},
	} {
		if got := Sentence(c.err); got != c.want {
			t.Errorf("Sentence(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
