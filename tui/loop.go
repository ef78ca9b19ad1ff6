package tui

import (
	"context"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/alarm"
)

// frame is the shortest time between two redraws caused by new data: a busy path changes the
// statistics hundreds of times a second, the eye needs ten.
const frame = 100 * time.Millisecond

// Run shows the live view on s, which the caller has initialised (so it can fall back to a
// report when the terminal cannot be used), until the user quits, opt.Done is closed or ctx
// ends. It always finalises s, on a panic too, so the terminal is restored. Key presses only
// call ctl's setters: they never wait for the network.
func Run(ctx context.Context, s tcell.Screen, src Source, ctl Control, names Names, opt Options) Result {
	// Deferred calls run before a panic is printed, so this restores the terminal then too.
	defer s.Fini()
	u := newUI(ctl, names, opt)
	u.color = u.color && s.Colors() > 0

	events := make(chan tcell.Event, 32)
	stopEvents := make(chan struct{})
	defer close(stopEvents)
	go s.ChannelEvents(events, stopEvents)

	var nameUpdates <-chan struct{}
	if names != nil {
		nameUpdates = names.Updates()
	}
	var asUpdates <-chan struct{}
	if opt.AS != nil {
		asUpdates = opt.AS.Updates()
	}
	clock := time.NewTicker(time.Second) // the title shows the time
	defer clock.Stop()
	timer := alarm.New() // pending coalesced redraw; up to ten a second, see package alarm
	defer timer.Close()
	timer.Reset(0)
	armed := true
	var last time.Time

	show := func() {
		if armed {
			armed = false
			timer.Stop()
		}
		u.draw(s, src.Snapshot())
		if u.redraw {
			u.redraw = false
			s.Sync()
		} else {
			s.Show()
		}
		last = time.Now()
		if wait := u.analysisWait(); wait > 0 && !armed {
			// The path changed too soon after the last analysis: draw again when it may run.
			armed = true
			timer.Reset(wait)
		}
		if opt.OnDraw != nil {
			opt.OnDraw(s)
		}
	}
	// later schedules a redraw no sooner than one frame after the last one.
	later := func() {
		if !armed {
			armed = true
			timer.Reset(max(0, frame-time.Since(last)))
		}
	}

	for {
		// While a redraw is pending, further change signals add nothing: leave them in their
		// channels instead of waking up for each probe.
		changed, renamed, asRenamed := src.Changed(), nameUpdates, asUpdates
		if armed {
			changed, renamed, asRenamed = nil, nil, nil
		}
		select {
		case <-ctx.Done():
			return u.result()
		case <-opt.Done:
			return u.result()
		case ev, ok := <-events:
			if !ok {
				return u.result()
			}
			switch ev := ev.(type) {
			case *tcell.EventKey:
				u.key(ev)
				if u.quit {
					return u.result()
				}
				show() // answer keys at once
			case *tcell.EventResize:
				u.redraw = true
				show()
			}
		case <-changed:
			later()
		case <-renamed:
			later()
		case <-asRenamed:
			later()
		case <-clock.C:
			later()
		case <-timer.C:
			armed = false
			show()
		}
	}
}
