package progress

import (
	"bytes"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	tests := []struct {
		done, total int
		left        time.Duration
		want        string
	}{
		{0, 100, 100 * time.Second, "mtr-go: round 0 of 100, 1m40s left"},
		{37, 100, 63 * time.Second, "mtr-go: round 37 of 100, 1m03s left"},
		{99, 100, 200 * time.Millisecond, "mtr-go: round 99 of 100, 1s left"},
		{100, 100, 0, "mtr-go: round 100 of 100, 0s left"},
		{120, 100, -time.Second, "mtr-go: round 100 of 100, 0s left"},
		{1, 3600, 3599*time.Second + time.Hour, "mtr-go: round 1 of 3600, 1h59m59s left"},
	}
	for _, tc := range tests {
		if got := Line(tc.done, tc.total, tc.left); got != tc.want {
			t.Errorf("Line(%d, %d, %v) = %q, want %q", tc.done, tc.total, tc.left, got, tc.want)
		}
	}
}

// TestMeterRunAndStop: each tick redraws over the last line, and the line is erased when the
// run stops, before anything else may print.
func TestMeterRunAndStop(t *testing.T) {
	var b bytes.Buffer
	m := New(&b)
	tick := make(chan time.Time)
	stop := make(chan struct{})
	done := make(chan struct{})
	n := 0
	go func() {
		m.Run(tick, stop, func() (int, int, time.Duration) { n++; return n, 3, time.Duration(3-n) * time.Second })
		close(done)
	}()
	tick <- time.Time{}
	tick <- time.Time{}
	close(stop)
	<-done
	want := "\r\x1b[Kmtr-go: round 1 of 3, 2s left" + "\r\x1b[Kmtr-go: round 2 of 3, 1s left" + "\r\x1b[Kmtr-go: round 3 of 3, 0s left" + "\r\x1b[K"
	if b.String() != want {
		t.Errorf("wrote %q\nwant  %q", b.String(), want)
	}
	m.Show("late")
	m.Stop()
	if b.String() != want {
		t.Errorf("wrote after Stop: %q", b.String())
	}
}

// TestStopBeforeShow: a run that ends before the first draw writes nothing at all.
func TestStopBeforeShow(t *testing.T) {
	var b bytes.Buffer
	m := New(&b)
	m.Stop()
	m.Show("x")
	if b.Len() != 0 {
		t.Errorf("wrote %q", b.String())
	}
}
