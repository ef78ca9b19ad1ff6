package tui

import (
	"fmt"

	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// ReverseSource is the far end's trace back to this host (--reverse) as the UI reads it.
type ReverseSource interface {
	Latest() reverse.Update
	Changed() <-chan struct{} // coalesced "the reverse trace changed"
	URL() string              // the responder as the user gave it
}

// revHeading is the line over the reverse table, or the one line that stands for it while
// there is none: waiting for the responder, or why it failed.
func revHeading(r reverse.Update, url string) string {
	if !r.Target.IsValid() {
		if r.Err != nil {
			return "Reverse: " + r.Err.Error()
		}
		return "Reverse: waiting for the responder at " + url
	}
	from := r.Responder
	if from == "" {
		from = url // a responder that does not name itself is where we asked
	}
	t := fmt.Sprintf("Reverse: from %s to %s %s", from, r.Target, reverse.TargetNote(r.Target, r.Local))
	if r.Err != nil {
		t += "; stopped: " + r.Err.Error()
	}
	return t
}

// revRows is how many rows the reverse part takes under the forward table: the heading, and
// with a table its two title rows and its hops.
func (u *ui) revRows(r reverse.Update) int {
	if !r.Target.IsValid() {
		return 1
	}
	return 3 + u.rowsOf(r.Snapshot.Hops, ModeTable)
}

// stackFits reports whether both directions fit on a screen h rows high: the top rows, the
// forward table, the reverse part and the status line.
func (u *ui) stackFits(h int, fwd []stats.Hop, r reverse.Update) bool {
	return u.top()+u.rowsOf(fwd, u.mode)+u.revRows(r)+1 <= h
}

// drawReverse draws the reverse part from row y down to the status line: its heading, then the
// reverse table in the statistics layout whatever the display mode (a chart of the far end's
// probes would need its own scale).
func (u *ui) drawReverse(s *canvas, w, h, y int, r reverse.Update, url string) {
	s.put(0, y, cut(vocab.StripControl(revHeading(r, url)), w), bold)
	if !r.Target.IsValid() {
		return
	}
	// drawTable lays its titles out from row 3: shift it so they come right under the heading.
	s.dy = y + 1 - 3
	u.drawTable(s, w, h-s.dy, r.Snapshot.Hops)
	s.dy = 0
}

// showingReverse reports whether the table on screen alone is the reverse one. The pane is only
// open when the tables are not stacked, so it always sits under this one.
func (u *ui) showingReverse() bool { return u.opt.Reverse != nil && u.showRev && !u.stacked }
