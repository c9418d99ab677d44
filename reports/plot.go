package reports

import (
	"errors"
	"io"
)

// WriteTimeline draws the run as a PNG timeline to w.
func WriteTimeline(w io.Writer, run *Run) error {
	if run == nil {
		return errors.New("timeline: no run")
	}
	return errors.New("timeline: not implemented yet")
}
