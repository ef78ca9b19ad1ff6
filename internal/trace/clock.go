package trace

import (
	"time"

	"github.com/mtr-go/mtr-go/internal/alarm"
)

// Clock is where a run takes its time from. Real runs use the wall clock with timerfd alarms;
// tests inject a clock whose time they drive (see trace_test.go), so a simulated day of probing
// runs in seconds and no test sleeps.
type Clock interface {
	Now() time.Time
	// NewTimer returns a stopped timer.
	NewTimer() Timer
}

// Timer fires once on C each time it is armed with Reset; Reset and Stop discard a firing that
// C still holds, so what arrives after them belongs to the new arming.
type Timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
	Close()
}

// WallClock is the real clock: time.Now, and alarms (timerfd on Linux) for the many wake-ups a
// second of a fast run.
type WallClock struct{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// NewTimer returns a stopped alarm.
func (WallClock) NewTimer() Timer { return wallTimer{alarm.New()} }

type wallTimer struct{ t *alarm.Timer }

func (w wallTimer) C() <-chan time.Time   { return w.t.C }
func (w wallTimer) Reset(d time.Duration) { w.t.Reset(d) }
func (w wallTimer) Stop()                 { w.t.Stop() }
func (w wallTimer) Close()                { w.t.Close() }
