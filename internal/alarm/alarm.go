// Package alarm is a one-shot timer for loops that wake many times a second, such as the
// probe scheduler at -i 0.2 (30 probes a second on a 6-hop path) and the live view's frames.
//
// A time.Timer costs up to four thread wake-ups per expiry: Go's poller sleeps in whole
// milliseconds, so it wakes just before the deadline and once more after it, and the runtime's
// monitor thread sleeps until the next timer too, then naps another 10 ms. On Linux an alarm is
// a timerfd waited on by the poller instead, which wakes once, on time to the nanosecond, and
// leaves the monitor thread asleep. Elsewhere (or when no timerfd can be made) it is a
// time.Timer.
package alarm

import "time"

// Timer fires once, on C, each time it is armed with Reset. Reset and Stop discard a firing
// that C still holds, so a value received after them always belongs to the new arming.
type Timer struct {
	C <-chan time.Time

	fd  *fdTimer // the timerfd, or nil
	std *time.Timer
}

// New returns a stopped timer.
func New() *Timer {
	if f, err := newFD(); err == nil {
		return &Timer{C: f.c, fd: f}
	}
	return newStd()
}

// newStd returns a stopped timer built on time.Timer.
func newStd() *Timer {
	s := time.NewTimer(time.Hour)
	s.Stop()
	return &Timer{C: s.C, std: s}
}

// Reset arms the timer to fire once d from now (at once if d <= 0).
func (t *Timer) Reset(d time.Duration) {
	if t.fd != nil {
		t.fd.set(max(d, 1))
		return
	}
	t.std.Reset(d)
}

// Stop disarms the timer.
func (t *Timer) Stop() {
	if t.fd != nil {
		t.fd.set(0)
		return
	}
	t.std.Stop()
}

// Close stops the timer for good and releases its descriptor; C is never closed.
func (t *Timer) Close() {
	if t.fd != nil {
		t.fd.close()
		return
	}
	t.std.Stop()
}
