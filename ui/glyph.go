package ui

// The glyphs the TV draws beyond letters, digits and punctuation, in one place (UI-4). On the
// box the console shows text in Debian's Terminus font (Uni2-Terminus32x16, see
// scripts/image.d/rc), which has Latin-1, box drawing, arrows and a few symbols, not every
// character a desktop terminal shows: a character it lacks is drawn as a box. The UI uses these
// names rather than literal symbols, and TestEveryGlyphIsInTheConsoleFont renders every screen
// and checks every character on it against the font.
const (
	glyphCrumb    = "›" // between "swarmbox" and the screen's name in the header
	glyphRange    = "–" // a range of keys: "0–9"
	glyphDot      = "·" // between parts of a line
	glyphMinus    = "−" // a step back: "−10 s"
	glyphEllipsis = "…" // a cut title, something under way
	glyphLeft     = "◀" // the remote's arrows, and more on that side
	glyphRight    = "▶"
	glyphUp       = "▲"
	glyphDown     = "▼"
	glyphPlay     = "▶" // Play, Resume, Playing
	glyphPause    = "‖" // Paused (the console font has no ⏸)
	glyphStop     = "■" // Finished
	glyphDone     = "█" // a meter's done part
	glyphToDo     = "░" // a meter's rest
)

// The search keyboard's keys that type no letter: words, as a TV's keyboard shows them (no
// symbol for space or delete is in the console font, and two such symbols look alike from the
// sofa).
const (
	keySpace  = "Space"
	keyDelete = "Delete"
	keyDone   = "Done"
)
