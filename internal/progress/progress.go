// Package progress shows how far a long report run is, on one line of a terminal that it clears
// again before the report prints.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Line is the progress text: rounds done of total and the time left at the run's pace.
func Line(done, total int, left time.Duration) string {
	done = min(max(done, 0), total)
	return fmt.Sprintf("mtr-go: round %d of %d, %s left", done, total, Duration(left))
}

// Duration writes a time left to the second, as "1h02m03s", "4m05s" or "9s".
func Duration(d time.Duration) string {
	s := int64((max(d, 0) + time.Second - 1) / time.Second) // rounded up: never "0s" with time left
	switch h, m, s := s/3600, s/60%60, s%60; {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// Meter draws one line on a terminal, each redraw over the last, and erases it for good on Stop.
// It is safe for use from several goroutines.
type Meter struct {
	mu      sync.Mutex
	w       io.Writer
	shown   bool
	stopped bool
}

// New returns a Meter writing to w, which must be a terminal: the line is redrawn with a carriage
// return and erased with the erase-to-end-of-line sequence.
func New(w io.Writer) *Meter { return &Meter{w: w} }

// eraseLine returns to the line's start and clears it, so whatever follows starts on a clean line.
const eraseLine = "\r\x1b[K"

// Show replaces the line with text; nothing once stopped.
func (m *Meter) Show(text string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	_, _ = io.WriteString(m.w, eraseLine+text)
	m.shown = true
}

// Stop erases the line if one was drawn; later Shows draw nothing.
func (m *Meter) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shown && !m.stopped {
		_, _ = io.WriteString(m.w, eraseLine)
	}
	m.stopped = true
}

// Run redraws the line on every tick with what read says, until stop is closed; then it erases
// it. read returns rounds done, rounds in all, and the time left.
func (m *Meter) Run(tick <-chan time.Time, stop <-chan struct{}, read func() (done, total int, left time.Duration)) {
	defer m.Stop()
	for {
		m.Show(Line(read()))
		select {
		case <-tick:
		case <-stop:
			return
		}
	}
}
