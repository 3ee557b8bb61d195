package sim

import (
	"fmt"
	"io"

	"gonum.org/v1/plot/vg/vgimg"

	"swarmbox/internal/outfile"
)

// savePNG writes the image to path; a regular file is written to a temporary file and renamed,
// so a failed run leaves no half picture behind, and anything else (a FIFO, /dev/null) is written
// into, never replaced (outfile.Write).
func savePNG(img *vgimg.Canvas, path string) error {
	err := outfile.Write(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("plot: write %s: %w", path, err)
	}
	return nil
}
