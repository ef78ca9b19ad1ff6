package alarm

import (
	"runtime"
	"testing"
	"time"
)

// timers returns the kinds of timer to test: the timerfd (on Linux) and the time.Timer one.
func timers(t *testing.T) map[string]func() *Timer {
	m := map[string]func() *Timer{"std": newStd}
	if runtime.GOOS == "linux" {
		if New().fd == nil {
			t.Fatal("no timerfd on Linux")
		}
		m["timerfd"] = New
	}
	return m
}

func TestFiresOnceAfterDelay(t *testing.T) {
	for name, mk := range timers(t) {
		a := mk()
		start := time.Now()
		a.Reset(30 * time.Millisecond)
		select {
		case at := <-a.C:
			if d := at.Sub(start); d < 30*time.Millisecond {
				t.Errorf("%s: fired after %v; want >= 30ms", name, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: never fired", name)
		}
		select {
		case <-a.C:
			t.Errorf("%s: fired twice for one Reset", name)
		case <-time.After(60 * time.Millisecond):
		}
		a.Close()
	}
}

func TestResetDiscardsUnreadFiring(t *testing.T) {
	for name, mk := range timers(t) {
		a := mk()
		a.Reset(time.Millisecond)
		time.Sleep(30 * time.Millisecond) // fired, nobody read it
		a.Reset(300 * time.Millisecond)
		start := time.Now()
		select {
		case <-a.C:
			if d := time.Since(start); d < 250*time.Millisecond {
				t.Errorf("%s: got the old firing %v after Reset", name, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: never fired after Reset", name)
		}
		a.Close()
	}
}

func TestResetWhileArmedMovesDeadline(t *testing.T) {
	for name, mk := range timers(t) {
		a := mk()
		a.Reset(20 * time.Millisecond)
		a.Reset(200 * time.Millisecond)
		start := time.Now()
		select {
		case <-a.C:
			if d := time.Since(start); d < 150*time.Millisecond {
				t.Errorf("%s: fired after %v, at the first deadline", name, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: never fired", name)
		}
		a.Reset(0) // at once
		select {
		case <-a.C:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Reset(0) never fired", name)
		}
		a.Close()
	}
}

func TestStopDisarmsAndDiscards(t *testing.T) {
	for name, mk := range timers(t) {
		a := mk()
		a.Reset(10 * time.Millisecond)
		a.Stop()
		select {
		case <-a.C:
			t.Errorf("%s: fired after Stop", name)
		case <-time.After(60 * time.Millisecond):
		}
		a.Reset(time.Millisecond)
		time.Sleep(30 * time.Millisecond)
		a.Stop()
		select {
		case <-a.C:
			t.Errorf("%s: unread firing kept after Stop", name)
		case <-time.After(30 * time.Millisecond):
		}
		a.Close()
	}
}

// TestManyFirings re-arms from the firing, as the scheduler does, and checks none is lost.
func TestManyFirings(t *testing.T) {
	for name, mk := range timers(t) {
		a := mk()
		start := time.Now()
		const n = 50
		for i := range n {
			a.Reset(2 * time.Millisecond)
			select {
			case <-a.C:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: firing %d lost", name, i)
			}
		}
		if d := time.Since(start); d < n*2*time.Millisecond {
			t.Errorf("%s: %d firings of 2ms took %v", name, n, d)
		}
		a.Close()
	}
}
