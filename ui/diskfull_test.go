package ui

import (
	"strings"
	"testing"
)

// TestTVSaysTheDiskIsFull: the box's sentence on a full disk (Status.Disk) stands on the
// status line while nothing else is said, and goes once the box clears it.
func TestTVSaysTheDiskIsFull(t *testing.T) {
	box := shelvedBox()
	const note = "The disk is full (0 B free in /var/lib/swarmbox): the download of \"Drama One\" into the wishlist area is paused."
	box.disk = note
	a := loaded(t, box)
	a.drawChrome()
	if got := a.status.GetText(true); !strings.Contains(got, note) {
		t.Fatalf("status line %q; want the disk sentence", got)
	}
	a.say("On your wishlist.")
	a.drawChrome()
	if got := a.status.GetText(true); !strings.Contains(got, "On your wishlist.") {
		t.Fatalf("status line %q; want what the household just did first", got)
	}
	box.disk = ""
	a = loaded(t, box)
	a.drawChrome()
	if got := a.status.GetText(true); strings.Contains(got, "disk is full") {
		t.Fatalf("status line %q after the box cleared the sentence", got)
	}
}
