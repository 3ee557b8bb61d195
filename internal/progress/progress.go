// Package progress shows progress bars for long command-line work, only when the output is a
// terminal; in logs and pipes it stays silent. It wraps github.com/schollz/progressbar, which
// handles terminal width, rates and ETA better than a hand-rolled bar.
package progress

import (
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar reports progress of one job. The zero of a non-terminal Bar does nothing.
type Bar struct {
	bar *progressbar.ProgressBar
}

// Bytes returns a bar for a job of total bytes, drawn on stderr when stderr is a terminal.
func Bytes(total int64, what string) *Bar {
	return newBar(total, what, progressbar.OptionShowBytes(true))
}

// Count returns a bar for a job of total steps, drawn on stderr when stderr is a terminal.
func Count(total int64, what string) *Bar { return newBar(total, what) }

func newBar(total int64, what string, extra ...progressbar.Option) *Bar {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return &Bar{}
	}
	return &Bar{bar: progressbar.NewOptions64(total, append([]progressbar.Option{
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000), // 100 ms
		progressbar.OptionOnCompletion(func() { os.Stderr.WriteString("\n") }),
	}, extra...)...)}
}

// Set moves the bar to done.
func (b *Bar) Set(done int64) {
	if b.bar != nil {
		b.bar.Set64(done)
	}
}

// Finish completes the bar.
func (b *Bar) Finish() {
	if b.bar != nil {
		b.bar.Finish()
	}
}
