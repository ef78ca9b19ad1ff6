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
	loop(ctx, s, &single{u: u, src: src}, names, opt)
	return u.result()
}

// viewer is what the loop shows: one target's screen, or several targets' (multi).
type viewer interface {
	// draw paints a frame; full asks for every cell to be sent again (Ctrl-L, a resize).
	draw(s tcell.Screen) (full bool)
	key(ev *tcell.EventKey) (quit bool)
	resized()
	// analysisWait is how long until the analysis pane may be refreshed, 0 when it need not.
	analysisWait() time.Duration
	changed() <-chan struct{}
}

// single is the view of one target: today's screen, mtr's.
type single struct {
	u   *ui
	src Source
}

func (v *single) draw(s tcell.Screen) bool {
	v.u.draw(s, v.src.Snapshot())
	full := v.u.redraw
	v.u.redraw = false
	return full
}

func (v *single) key(ev *tcell.EventKey) bool {
	v.u.key(ev)
	return v.u.quit
}

func (v *single) resized()                    { v.u.redraw = true }
func (v *single) analysisWait() time.Duration { return v.u.analysisWait() }
func (v *single) changed() <-chan struct{}    { return v.src.Changed() }

// loop runs v on s until the user quits, opt.Done is closed or ctx ends.
func loop(ctx context.Context, s tcell.Screen, v viewer, names Names, opt Options) {
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
	var revUpdates <-chan struct{}
	if opt.Reverse != nil {
		revUpdates = opt.Reverse.Changed()
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
		if v.draw(s) {
			s.Sync()
		} else {
			s.Show()
		}
		last = time.Now()
		if wait := v.analysisWait(); wait > 0 && !armed {
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
		changed, renamed, asRenamed, revChanged := v.changed(), nameUpdates, asUpdates, revUpdates
		if armed {
			changed, renamed, asRenamed, revChanged = nil, nil, nil, nil
		}
		select {
		case <-ctx.Done():
			return
		case <-opt.Done:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch ev := ev.(type) {
			case *tcell.EventKey:
				if v.key(ev) {
					return
				}
				show() // answer keys at once
			case *tcell.EventResize:
				v.resized()
				show()
			}
		case <-changed:
			later()
		case <-renamed:
			later()
		case <-asRenamed:
			later()
		case <-revChanged:
			later()
		case <-clock.C:
			later()
		case <-timer.C:
			armed = false
			show()
		}
	}
}
