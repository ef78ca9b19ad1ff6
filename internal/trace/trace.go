// Package trace is the round scheduler: it drives a prober through mtr's rounds of TTLs, matches
// answers to the probes it sent, and feeds the per-hop statistics that views read as snapshots.
package trace

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/mtr-go/mtr-go/internal/alarm"
	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
)

// Prober sends probes with a TTL and delivers the answers to them. *probe.ICMP is one; tests use
// a scripted fake.
type Prober interface {
	Send(seq uint16, ttl int) (time.Time, error)
	Replies() <-chan probe.Reply
}

// Config is how a run probes; the zero values of optional fields take mtr's defaults.
type Config struct {
	First      int           // first TTL (mtr -f), default 1
	Max        int           // largest TTL (mtr -m), default 30
	MaxUnknown int           // silent TTLs past the last answering one that end a round (-U), default 12
	Count      int           // rounds to run (-c); 0 runs until the context ends
	Interval   time.Duration // length of a round (-i), default 1s
	Timeout    time.Duration // how long an unanswered probe may still be answered (-Z), default 10s
	Grace      time.Duration // longest wait for answers after the last round (-G), default 5s
}

func (c *Config) defaults() {
	if c.First <= 0 {
		c.First = 1
	}
	if c.Max <= 0 {
		c.Max = 30
	}
	c.First = min(c.First, c.Max)
	if c.MaxUnknown <= 0 {
		c.MaxUnknown = 12
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 5 * time.Second
	}
}

// Drain bounds: after the last round a run waits for outstanding answers at least minDrain and at
// most twice the slowest answer seen plus drainSlack, and never longer than the gracetime. Answers
// later than that would have been counted as lost by mtr's own rule anyway, since mtr counts a
// probe as lost when the next one to its hop goes out.
const (
	minDrain   = 50 * time.Millisecond
	drainSlack = 20 * time.Millisecond
)

// EventKind says what happened to a probe.
type EventKind uint8

// Event kinds.
const (
	EventSent  EventKind = iota + 1 // a probe went out
	EventReply                      // an answer to it came back
)

// Event is one probe sent or answered, for views that stream them (mtr's raw format).
type Event struct {
	Kind EventKind
	TTL  int
	Seq  uint16
	From netip.Addr    // EventReply: who answered
	RTT  time.Duration // EventReply
	Err  string        // EventReply: the ICMP error text, or ""
	MPLS []stats.Label // EventReply: the MPLS label stack the answer carried, if any
}

type outstanding struct {
	ttl  int
	sent time.Time
}

// Tracer runs rounds of probes towards one target. Its path is owned by the Run goroutine and
// guarded by mu for the views that take snapshots.
type Tracer struct {
	cfg    Config
	prober Prober
	target netip.Addr

	mu     sync.Mutex
	path   *stats.Path
	rounds *rounds
	paused bool
	resume chan struct{} // SetPaused(false) wakes a Run that stopped ticking while paused
	start  time.Time

	out     map[uint16]outstanding
	seq     uint16
	worst   time.Duration // slowest answer of the run, bounds the final wait
	changed chan struct{}
	seen    map[netip.Addr]bool
	newAddr func(netip.Addr)
	onEvent func(Event)
}

// New returns a tracer probing target through p.
func New(p Prober, target netip.Addr, cfg Config) *Tracer {
	cfg.defaults()
	var b [2]byte
	_, _ = rand.Read(b[:])
	return &Tracer{
		cfg:     cfg,
		prober:  p,
		target:  target,
		path:    stats.NewPath(target, cfg.First, cfg.Max),
		rounds:  newRounds(cfg.First, cfg.Max, cfg.MaxUnknown),
		out:     make(map[uint16]outstanding),
		seq:     binary.BigEndian.Uint16(b[:]),
		changed: make(chan struct{}, 1),
		resume:  make(chan struct{}, 1),
		seen:    make(map[netip.Addr]bool),
	}
}

// OnNewAddress registers f to be called (from the Run goroutine, so it must not block) the first
// time an address answers any hop, e.g. to start its reverse lookup early. Call before Run.
func (t *Tracer) OnNewAddress(f func(netip.Addr)) { t.newAddr = f }

// OnEvent registers f to be called, from the Run goroutine and without locks held, for every
// probe sent and every answer matched. f must not block for long: probes wait for it. Call
// before Run.
func (t *Tracer) OnEvent(f func(Event)) { t.onEvent = f }

// Changed signals, coalesced, that the statistics changed since the last signal.
func (t *Tracer) Changed() <-chan struct{} { return t.changed }

// Snapshot copies the hops a view shows.
func (t *Tracer) Snapshot() stats.Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.path.Snapshot()
}

// Rounds returns how many rounds are complete.
func (t *Tracer) Rounds() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rounds.done
}

// Reset forgets all statistics and starts a new round.
func (t *Tracer) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.path.Reset()
	t.rounds.reset()
	clear(t.out)
	t.notify()
}

// SetPaused stops (true) or resumes sending probes; answers are still received while paused.
func (t *Tracer) SetPaused(p bool) {
	t.mu.Lock()
	t.paused = p
	t.mu.Unlock()
	if !p {
		select {
		case t.resume <- struct{}{}:
		default:
		}
	}
}

func (t *Tracer) isPaused() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.paused
}

// SetCount changes how many rounds a run sends; 0 runs until the context ends. The live UI
// runs without end unless -c was given, while reports stop after -c's default of 10. Call before
// Run.
func (t *Tracer) SetCount(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg.Count = max(0, n)
}

// SetInterval changes the round length from the next probe on.
func (t *Tracer) SetInterval(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("interval %v: must be positive", d)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg.Interval = d
	return nil
}

// TTLRange returns the first and largest TTL probed.
func (t *Tracer) TTLRange() (first, max int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg.First, t.cfg.Max
}

// SetTTLRange changes the TTLs probed (mtr's -f and -m) and starts a new round. Hops that stay in
// range keep their statistics; answers still due from TTLs now out of range are dropped.
func (t *Tracer) SetTTLRange(first, max int) error {
	if first < 1 || max > 255 || first > max {
		return fmt.Errorf("TTL range %d..%d: need 1 <= first <= max <= 255", first, max)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := stats.NewPath(t.target, first, max)
	for ttl := 1; ttl <= min(max, t.cfg.Max); ttl++ {
		*p.Hop(ttl) = *t.path.Hop(ttl)
	}
	t.path = p
	t.cfg.First, t.cfg.Max = first, max
	done := t.rounds.done
	t.rounds = newRounds(first, max, t.cfg.MaxUnknown)
	t.rounds.done = done // -c counts rounds across the change
	t.notify()
	return nil
}

func (t *Tracer) notify() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// Run probes until Count rounds are done and their answers are in (or the gracetime is over), or
// until ctx ends; either way every probe still unanswered then counts as lost. It returns ctx's
// error when interrupted, or the error of a failed send.
func (t *Tracer) Run(ctx context.Context) error {
	replies := t.prober.Replies()
	tick := alarm.New() // many wake-ups a second: see package alarm
	defer tick.Close()
	tick.Reset(0)
	// Ticks are kept on a grid of absolute times: re-arming a timer relative to when the last
	// probe went out would add the timer's own lateness (often most of a millisecond) to every
	// tick, stretching a 100-round run at -i 0.05 by 10 %.
	next := time.Now()
	draining := false // the last round is over; waiting for its answers
	idle := false     // paused: the tick is not re-armed until SetPaused(false)
	var drain *time.Timer
	var drainC <-chan time.Time
	defer func() {
		if drain != nil {
			drain.Stop()
		}
		t.mu.Lock()
		t.path.Finish()
		t.mu.Unlock()
		t.notify()
	}()
	t.start = time.Now()

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r, ok := <-replies:
			if !ok {
				return errors.New("prober closed")
			}
			t.answer(r)
			if !draining && t.lastRoundOver() {
				draining, drain = true, t.startDrain()
				drainC = drain.C
				tick.Stop()
			}
			if draining && t.drained() {
				return nil
			}
		case <-drainC:
			return nil
		case <-t.resume:
			if idle && !draining {
				idle = false
				next = time.Now()
				tick.Reset(0)
			}
		case <-tick.C:
			// While paused nothing wakes the loop but answers and the resume: a timer polling
			// the pause flag would cost CPU for nothing.
			if t.isPaused() {
				idle = true
				continue
			}
			wait, err := t.step()
			if err != nil {
				return err
			}
			if wait < 0 { // the last round is over
				draining, drain = true, t.startDrain()
				drainC = drain.C
				if t.drained() {
					return nil
				}
				continue
			}
			next = next.Add(wait)
			now := time.Now()
			if next.Before(now) {
				// Fell behind (paused, or a slow send): don't fire a burst to catch up.
				next = now
			}
			tick.Reset(next.Sub(now))
		}
	}
}

// lastRoundOver reports whether the final round (with Count set) needs no further probe.
func (t *Tracer) lastRoundOver() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cfg.Count == 0 || t.rounds.done != t.cfg.Count-1 || !t.rounds.roundOver(t.path) {
		return false
	}
	t.rounds.endRound()
	return true
}

// startDrain starts the timer that ends the wait for the last answers.
func (t *Tracer) startDrain() *time.Timer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.NewTimer(min(t.cfg.Grace, max(minDrain, 2*t.worst+drainSlack)))
}

// drained reports whether no answer is outstanding.
func (t *Tracer) drained() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.out) == 0
}

// step sends the next probe and returns how long to wait before the following one, or -1 when
// the last round is over.
func (t *Tracer) step() (time.Duration, error) {
	t.mu.Lock()
	if t.rounds.roundOver(t.path) {
		t.rounds.endRound()
		t.notify()
		if t.cfg.Count > 0 && t.rounds.done >= t.cfg.Count {
			t.mu.Unlock()
			return -1, nil
		}
	}
	ttl := t.rounds.take()
	tick := t.cfg.Interval / time.Duration(t.rounds.numHosts)
	t.expire(time.Now())
	t.seq++
	seq := t.seq
	t.mu.Unlock()

	sent, err := t.prober.Send(seq, ttl)
	if err != nil {
		return 0, fmt.Errorf("send probe (ttl %d): %w", ttl, err)
	}
	t.mu.Lock()
	t.out[seq] = outstanding{ttl: ttl, sent: sent}
	t.path.Sent(ttl, seq)
	t.mu.Unlock()
	if t.onEvent != nil {
		t.onEvent(Event{Kind: EventSent, TTL: ttl, Seq: seq})
	}
	t.notify()
	return tick, nil
}

// expire forgets probes older than the timeout: an answer to them no longer counts.
func (t *Tracer) expire(now time.Time) {
	for seq, o := range t.out {
		if now.Sub(o.sent) > t.cfg.Timeout {
			delete(t.out, seq)
		}
	}
}

// answer records a reply to one of our probes; answers to probes not outstanding (unknown,
// already answered, or timed out) are dropped.
func (t *Tracer) answer(r probe.Reply) {
	t.mu.Lock()
	o, ok := t.out[r.Seq]
	if !ok {
		t.mu.Unlock()
		return
	}
	delete(t.out, r.Seq)
	if !r.Sent.IsZero() {
		o.sent = r.Sent // the kernel's send stamp, where the prober has one
	}
	rtt := r.At.Sub(o.sent)
	t.worst = max(t.worst, rtt)
	errText := ""
	if r.Kind == probe.Unreachable && !t.reached(r) {
		errText = probe.UnreachableText(r.Code, t.target.Is6())
	}
	fresh := !t.seen[r.From]
	t.seen[r.From] = true
	t.path.Reply(o.ttl, r.Seq, r.From, rtt, errText)
	var labels []stats.Label
	if len(r.MPLS) > 0 {
		labels = make([]stats.Label, len(r.MPLS))
		for i, l := range r.MPLS {
			labels[i] = stats.Label{Label: l.Label, TC: l.TC, S: l.S, TTL: l.TTL}
		}
		t.path.MPLS(o.ttl, r.From, labels)
	}
	t.mu.Unlock()
	if fresh && t.newAddr != nil {
		t.newAddr(r.From)
	}
	if t.onEvent != nil {
		t.onEvent(Event{Kind: EventReply, TTL: o.ttl, Seq: r.Seq, From: r.From, RTT: rtt, Err: errText, MPLS: labels})
	}
	t.notify()
}

// reached reports whether an unreachable answer means the destination was reached: a port
// unreachable from the target itself is how UDP probes arrive.
func (t *Tracer) reached(r probe.Reply) bool {
	if r.From != t.target {
		return false
	}
	return (!t.target.Is6() && r.Code == 3) || (t.target.Is6() && r.Code == 4)
}
