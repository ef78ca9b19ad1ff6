// Package trace is the round scheduler: it drives a prober through mtr's rounds of TTLs, matches
// answers to the probes it sent, and feeds the per-hop statistics that views read as snapshots.
package trace

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

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
	Clock      Clock         // where time comes from; nil = the wall clock
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
	if c.Clock == nil {
		c.Clock = WallClock{}
	}
}

// After the last round a run waits for the answers still outstanding, and stops early only when
// none of them can still come. As in mtr the wait ends at the latest one interval after the last
// round began plus the gracetime (-G), and a probe older than the timeout (-Z) can no longer be
// answered. A probe to a hop that has answered in this run is given up once it has waited
// giveUpFactor times that hop's slowest answer plus giveUpSlack (at least minGiveUp): "well past
// what its own answers took"; minGiveUp also covers a reader that a loaded machine runs late. A
// probe to a hop that has not answered yet (a router with a slow control plane, a fresh IPv6 path
// still resolving its neighbours) keeps the run waiting, as mtr always waits.
const (
	giveUpFactor = 2
	giveUpSlack  = 20 * time.Millisecond
	minGiveUp    = 200 * time.Millisecond
)

// maxSeen bounds the set of addresses already handed to OnNewAddress. Past it the set starts
// over, so a long run through changing responders costs at most a repeated (cached) lookup
// request, not memory that grows without end.
const maxSeen = 4096

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
	gen  int // statistics generation (Reset) the probe belongs to
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

	roundStart time.Time // when the current (or last) round's first probe went out

	clock   Clock
	out     map[uint16]outstanding // probes that may still be answered, by sequence
	seq     uint16                 // last sequence used
	gen     int                    // bumped by Reset: answers to older probes no longer count
	changed chan struct{}
	seen    map[netip.Addr]bool
	newAddr func(netip.Addr)
	onEvent func(Event)
}

// New returns a tracer probing target through p.
func New(p Prober, target netip.Addr, cfg Config) *Tracer {
	cfg.defaults()
	seqs := sequences(p)
	var b [2]byte
	_, _ = rand.Read(b[:])
	return &Tracer{
		cfg:     cfg,
		prober:  p,
		target:  target,
		path:    stats.NewPath(target, cfg.First, cfg.Max),
		rounds:  newRounds(cfg.First, cfg.Max, cfg.MaxUnknown),
		clock:   cfg.Clock,
		out:     make(map[uint16]outstanding),
		seq:     uint16(int(binary.BigEndian.Uint16(b[:])) % seqs),
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
	// The probes in flight keep their sequence numbers reserved until they time out, so no new
	// probe can take an answer meant for one of them; their answers no longer count.
	t.gen++
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

// SetInterval changes the round length from the next probe on. An interval so short that
// sequence numbers would be reused while their probes can still be answered is refused.
func (t *Tracer) SetInterval(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("interval %v: must be positive", d)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkInterval(d, t.cfg.First, t.cfg.Max); err != nil {
		return err
	}
	t.cfg.Interval = d
	return nil
}

// CheckInterval reports whether the current interval is long enough for the prober's sequence
// space as it is now (see MinInterval): before a run, or after the live view switched protocols.
// The error is an *IntervalError.
func (t *Tracer) CheckInterval() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.checkInterval(t.cfg.Interval, t.cfg.First, t.cfg.Max)
}

// MinInterval is the shortest interval (-i) at which a run over TTLs first..last with this
// timeout (-Z) never has more probes that may still be answered than the prober has sequence
// numbers (seqs; 0 means 65536). A round sends at most last-first+1 probes, one per
// interval/(last-first+1), and a probe may be answered for timeout after it left, so about
// timeout*(last-first+1)/interval probes are outstanding at once; two spare numbers absorb a
// tick that fires late and the next one on time.
func MinInterval(first, last int, timeout time.Duration, seqs int) time.Duration {
	if seqs <= 0 || seqs > 1<<16 {
		seqs = 1 << 16
	}
	hops := time.Duration(max(1, last-first+1))
	if seqs <= 3 {
		return timeout * hops
	}
	// Ceiling division: the interval must be at least this long, never a nanosecond less.
	n := time.Duration(seqs - 3)
	return (timeout*hops + n - 1) / n
}

// IntervalError is an interval below MinInterval for the run's TTLs, timeout and prober.
type IntervalError struct {
	Interval, Floor, Timeout time.Duration
	First, Last              int
}

func (e *IntervalError) Error() string {
	return fmt.Sprintf("interval %v is too short: with TTLs %d..%d and a %v timeout, probes would reuse sequence numbers still awaiting answers; use at least %v (or a shorter -Z, or a smaller -m)",
		e.Interval, e.First, e.Last, e.Timeout, e.Floor)
}

// checkInterval is the one check of interval d over TTLs first..last against the floor for the
// timeout and the prober's sequence space as it is now. t.mu is held.
func (t *Tracer) checkInterval(d time.Duration, first, last int) error {
	if floor := MinInterval(first, last, t.cfg.Timeout, sequences(t.prober)); d < floor {
		return &IntervalError{Interval: d, Floor: floor, Timeout: t.cfg.Timeout, First: first, Last: last}
	}
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
	if err := t.checkInterval(t.cfg.Interval, first, max); err != nil {
		return err
	}
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

// Run probes until Count rounds are done and their answers are in (or can no longer come, or the
// gracetime is over), or until ctx ends; either way every probe still unanswered then counts as
// lost. A probe the kernel refuses to send (no route while a route flaps, a local firewall, no
// buffer space) is a lost probe with its reason, and probing goes on. Run returns ctx's error when
// interrupted, an error when the prober fails for good (closed), or the error of a configuration
// the scheduler cannot run (an interval that would reuse sequence numbers).
func (t *Tracer) Run(ctx context.Context) error {
	if err := t.CheckInterval(); err != nil {
		return err
	}
	replies := t.prober.Replies()
	tick := t.clock.NewTimer() // many wake-ups a second: see package alarm
	defer tick.Close()
	tick.Reset(0)
	// Ticks are kept on a grid of absolute times: re-arming a timer relative to when the last
	// probe went out would add the timer's own lateness (often most of a millisecond) to every
	// tick, stretching a 100-round run at -i 0.05 by 10 %.
	next := t.clock.Now()
	idle := false // paused: the tick is not re-armed until SetPaused(false)
	var drain *drainer
	var drainC <-chan time.Time // drain's timer, once the last round is over
	defer func() {
		if drain != nil {
			drain.timer.Close()
		}
		t.mu.Lock()
		t.path.Finish()
		t.mu.Unlock()
		t.notify()
	}()
	startDrain := func() {
		tick.Stop()
		t.mu.Lock()
		end := t.roundStart.Add(t.cfg.Interval + t.cfg.Grace)
		t.mu.Unlock()
		drain = &drainer{timer: t.clock.NewTimer(), end: end}
		drainC = drain.timer.C()
	}

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r, ok := <-replies:
			if !ok {
				return errors.New("prober closed")
			}
			t.answer(r)
			if drain == nil && t.lastRoundOver() {
				startDrain()
			}
		case <-drainC:
		case <-t.resume:
			if idle && drain == nil {
				idle = false
				next = t.clock.Now()
				tick.Reset(0)
			}
			continue
		case <-tick.C():
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
				startDrain()
				break
			}
			next = next.Add(wait)
			now := t.clock.Now()
			if next.Before(now) {
				// Fell behind (paused, or a slow send): don't fire a burst to catch up.
				next = now
			}
			tick.Reset(next.Sub(now))
			continue
		}
		if drain != nil {
			wake, done := t.drainState(t.clock.Now(), drain.end)
			if done {
				// Answers already handed over count, whatever made their reader late.
				for pending := true; pending; {
					select {
					case r, ok := <-replies:
						if ok {
							t.answer(r)
						} else {
							pending = false
						}
					default:
						pending = false
					}
				}
				return nil
			}
			drain.timer.Reset(wake)
		}
	}
}

// drainer is the wait for the last answers after the final round.
type drainer struct {
	timer Timer
	end   time.Time // the last round's start + one interval + the gracetime
}

// drainState decides, after the last round, whether the run can end now: when the gracetime is
// over, or no outstanding probe can still be answered (given up by its hop's measure, or past the
// timeout). Otherwise it returns how long until that may change.
func (t *Tracer) drainState(now, end time.Time) (wake time.Duration, done bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !now.Before(end) {
		return 0, true
	}
	next, pending := end, false
	for _, o := range t.out {
		if o.gen != t.gen {
			continue // sent before a Reset: counts for nothing
		}
		at := o.sent.Add(t.cfg.Timeout) // past -Z no answer counts
		if d, ok := t.giveUp(o); ok {
			at = minTime(at, o.sent.Add(d))
		} // else a hop that never answered: wait for it as long as -Z and -G allow
		if at.After(now) {
			pending = true
			next = minTime(next, at)
		}
	}
	if !pending {
		return 0, true
	}
	return next.Sub(now), false
}

// giveUp returns how long after it left a probe may be given up: ok is false when its hop has
// not answered in this run, so there is nothing to judge its answer time by.
func (t *Tracer) giveUp(o outstanding) (time.Duration, bool) {
	h := t.path.Hop(o.ttl)
	if h == nil || h.Recv == 0 {
		return 0, false
	}
	return max(minGiveUp, giveUpFactor*h.Worst+giveUpSlack), true
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
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
	now := t.clock.Now()
	if ttl == t.rounds.first {
		t.roundStart = now
	}
	tick := t.cfg.Interval / time.Duration(t.rounds.numHosts)
	t.expire(now)
	seq := t.nextSeq()
	gen := t.gen
	t.mu.Unlock()

	sent, err := t.prober.Send(seq, ttl)
	if err != nil {
		if fatalSend(err) {
			return 0, fmt.Errorf("send probe (ttl %d): %w", ttl, err)
		}
		t.mu.Lock()
		t.path.SendFailed(ttl, seq, sendReason(err))
		t.mu.Unlock()
		t.notify()
		return tick, nil
	}
	t.mu.Lock()
	t.out[seq] = outstanding{ttl: ttl, sent: sent, gen: gen}
	t.path.Sent(ttl, seq)
	t.mu.Unlock()
	if t.onEvent != nil {
		t.onEvent(Event{Kind: EventSent, TTL: ttl, Seq: seq})
	}
	t.notify()
	return tick, nil
}

// nextSeq takes the next sequence number that no probe still awaiting an answer holds, so a late
// answer can never be taken for a newer probe's. The interval floor (MinInterval) keeps fewer
// probes outstanding than there are numbers; should a live change of protocol still run out of
// them, the oldest outstanding probe is given up (counted lost) for the new one.
func (t *Tracer) nextSeq() uint16 {
	// The live view may switch to a protocol with fewer numbers: numbers still held above the new
	// space stay reserved until answered or expired, and new ones come from the new space.
	n := sequences(t.prober)
	for range n {
		t.seq = uint16((int(t.seq) + 1) % n)
		if _, busy := t.out[t.seq]; !busy {
			return t.seq
		}
	}
	// Every number of the space is held: give up the oldest of them (numbers above a space that
	// shrank are of no use to free).
	var oldest uint16
	var at time.Time
	for seq, o := range t.out {
		if int(seq) < n && (at.IsZero() || o.sent.Before(at)) {
			oldest, at = seq, o.sent
		}
	}
	delete(t.out, oldest)
	t.seq = oldest
	return oldest
}

// sequences is how many probes p tells apart now (probe.Sequencer), at most 65536.
func sequences(p Prober) int {
	if s, ok := p.(probe.Sequencer); ok && s.Sequences() > 0 {
		return min(1<<16, s.Sequences())
	}
	return 1 << 16
}

// transientSend lists the refusals a later probe may not meet: a route that is gone while a
// route flaps, a neighbour that does not answer, a local firewall, full buffers, an IPv6 source
// address still tentative. Any other error (a closed prober, an invalid argument, a message too
// long) would fail every probe, so it ends the run with its message instead of a silent table.
var transientSend = []syscall.Errno{
	syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EHOSTDOWN, syscall.ENETDOWN,
	syscall.ENOBUFS, syscall.ENOMEM, syscall.EAGAIN, syscall.EPERM, syscall.EADDRNOTAVAIL,
	syscall.ECONNREFUSED, syscall.EINTR,
}

// fatalSend reports whether a send error means the run cannot go on.
func fatalSend(err error) bool {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
		return true
	}
	for _, e := range transientSend {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// sendReason is what a hop shows for a probe the kernel refused: the system's text for the
// errno ("network is unreachable"), without the prober's context.
func sendReason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// expire forgets probes older than the timeout: an answer to them no longer counts, and their
// sequence numbers are free again.
func (t *Tracer) expire(now time.Time) {
	for seq, o := range t.out {
		if now.Sub(o.sent) > t.cfg.Timeout {
			delete(t.out, seq)
		}
	}
}

// answer records a reply to one of our probes; answers to probes not outstanding (unknown,
// already answered, timed out, or sent before a Reset) are dropped.
func (t *Tracer) answer(r probe.Reply) {
	t.mu.Lock()
	o, ok := t.out[r.Seq]
	if !ok {
		t.mu.Unlock()
		return
	}
	delete(t.out, r.Seq)
	if o.gen != t.gen || r.At.Sub(o.sent) > t.cfg.Timeout {
		t.mu.Unlock()
		return
	}
	if !r.Sent.IsZero() {
		o.sent = r.Sent // the kernel's send stamp, where the prober has one
	}
	rtt := r.At.Sub(o.sent)
	errText := ""
	if r.Kind == probe.Unreachable && !t.reached(r) {
		errText = probe.UnreachableText(r.Code, t.target.Is6())
	}
	fresh := !t.seen[r.From]
	if fresh {
		if len(t.seen) >= maxSeen {
			clear(t.seen)
		}
		t.seen[r.From] = true
	}
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
