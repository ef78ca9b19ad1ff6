package trace

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/probe"
)

// fakePath answers probes like a chain of routers: hop i (1-based) is addrs[i-1]; the last
// address is the destination, which answers every TTL at or beyond its own with an echo reply.
type fakePath struct {
	addrs []netip.Addr
	rtt   time.Duration
	// drop(ttl, n) says whether the n-th probe (0-based) to ttl goes unanswered.
	drop func(ttl, n int) bool

	mu      sync.Mutex
	sent    map[int]int // probes per TTL
	replies chan probe.Reply
}

func newFake(rtt time.Duration, addrs ...string) *fakePath {
	f := &fakePath{rtt: rtt, sent: map[int]int{}, replies: make(chan probe.Reply, 1024)}
	for _, a := range addrs {
		var ip netip.Addr // "" is a hop that never answers
		if a != "" {
			ip = netip.MustParseAddr(a)
		}
		f.addrs = append(f.addrs, ip)
	}
	return f
}

func (f *fakePath) Replies() <-chan probe.Reply { return f.replies }

func (f *fakePath) Send(seq uint16, ttl int) (time.Time, error) {
	now := time.Now()
	f.mu.Lock()
	n := f.sent[ttl]
	f.sent[ttl]++
	f.mu.Unlock()
	if f.drop != nil && f.drop(ttl, n) {
		return now, nil
	}
	r := probe.Reply{Seq: seq, At: now.Add(f.rtt), Kind: probe.TimeExceeded}
	switch {
	case ttl >= len(f.addrs):
		r.From, r.Kind = f.addrs[len(f.addrs)-1], probe.EchoReply
	case f.addrs[ttl-1].IsValid():
		r.From = f.addrs[ttl-1]
	default: // a silent hop
		return now, nil
	}
	f.replies <- r
	return now, nil
}

func (f *fakePath) probes(ttl int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent[ttl]
}

func run(t *testing.T, f *fakePath, cfg Config) *Tracer {
	t.Helper()
	target := f.addrs[len(f.addrs)-1]
	tr := New(f, target, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return tr
}

func TestCleanPathEveryHopEveryRound(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2", "198.18.3.2")
	tr := run(t, f, Config{Count: 5, Interval: 20 * time.Millisecond})
	s := tr.Snapshot()
	if len(s.Hops) != 4 {
		t.Fatalf("hops shown = %d, want 4", len(s.Hops))
	}
	for i, h := range s.Hops {
		if h.Addr() != f.addrs[i] || h.Sent != 5 || h.Recv != 5 || h.Loss() != 0 {
			t.Errorf("hop %d: %v snt %d rcv %d loss %.1f; want %v 5 5 0", h.TTL, h.Addr(), h.Sent, h.Recv, h.Loss(), f.addrs[i])
		}
		if h.Avg() < 0.9 || h.Avg() > 1.1 {
			t.Errorf("hop %d avg %.3f ms, want 1", h.TTL, h.Avg())
		}
	}
	// Answers come back within a tick, so no round probes past the destination.
	if n := f.probes(5); n != 0 {
		t.Errorf("%d probes sent past the destination", n)
	}
}

func TestLossOnlyWhereProbesGoUnanswered(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2")
	f.drop = func(ttl, n int) bool { return ttl == 2 && n%2 == 1 } // hop 2 answers every other probe
	tr := run(t, f, Config{Count: 10, Interval: 10 * time.Millisecond})
	s := tr.Snapshot()
	want := []float64{0, 50, 0}
	for i, h := range s.Hops {
		if h.Loss() != want[i] || h.Sent != 10 {
			t.Errorf("hop %d loss %.1f%% snt %d, want %.1f%% 10", h.TTL, h.Loss(), h.Sent, want[i])
		}
	}
}

func TestSilentHopsEndTheRound(t *testing.T) {
	// Hop 2 answers; the destination never does. A round stops after MaxUnknown+1 silent TTLs, and
	// the view shows a single ??? row past the last answering hop.
	f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "", "", "", "", "", "", "", "", "", "198.18.9.9")
	f.drop = func(ttl, n int) bool { return ttl > 2 }
	target := netip.MustParseAddr("198.18.9.9")
	tr := New(f, target, Config{Count: 2, Interval: 20 * time.Millisecond, MaxUnknown: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("run took %v: it waited out the gracetime for probes that cannot be answered", d)
	}
	for ttl := 3; ttl <= 6; ttl++ {
		if got := f.probes(ttl); got != 2 {
			t.Errorf("ttl %d probed %d times, want 2", ttl, got)
		}
	}
	if got := f.probes(7); got != 0 {
		t.Errorf("ttl 7 probed %d times: the round should end after 4 silent TTLs", got)
	}
	s := tr.Snapshot()
	if len(s.Hops) != 3 || s.Hops[2].Known() || s.Hops[2].Loss() != 100 {
		t.Errorf("shown %d hops, last %+v", len(s.Hops), s.Hops[len(s.Hops)-1].Addrs)
	}
}

func TestContextEndsRunAndKeepsStatistics(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
	tr := New(f, f.addrs[1], Config{Interval: 10 * time.Millisecond}) // no count: runs until stopped
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := tr.Run(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Run = %v, want deadline exceeded", err)
	}
	if s := tr.Snapshot(); len(s.Hops) != 2 || s.Hops[1].Recv < 3 {
		t.Errorf("after interrupt: %d hops, %+v", len(s.Hops), s.Hops)
	}
}

func TestLateAnswersCountAndStrangersAreIgnored(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2")
	tr := New(f, f.addrs[0], Config{Count: 1})
	tr.out[7] = outstanding{ttl: 1, sent: time.Now()}
	tr.path.Sent(1, 7)
	tr.path.Sent(1, 8) // probe 7 superseded
	tr.answer(probe.Reply{Seq: 7, From: f.addrs[0], Kind: probe.EchoReply, At: time.Now()})
	tr.answer(probe.Reply{Seq: 7, From: f.addrs[0], Kind: probe.EchoReply, At: time.Now()})  // duplicate
	tr.answer(probe.Reply{Seq: 99, From: f.addrs[0], Kind: probe.EchoReply, At: time.Now()}) // not ours
	h := tr.path.Hop(1)
	if h.Recv != 1 || h.Drop() != 0 {
		t.Errorf("rcv %d drop %d, want 1 0", h.Recv, h.Drop())
	}
}

func TestUnreachableShownAndEndsRound(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.5.5")
	target := netip.MustParseAddr("198.18.9.9")
	// Router 2 has no route: it answers every TTL ≥ 2 with host unreachable.
	fr := &unreachFake{fakePath: f, at: 2}
	tr := New(fr, target, Config{Count: 3, Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	s := tr.Snapshot()
	if len(s.Hops) != 2 || s.Hops[1].Err != "no route to host" || s.Hops[1].Sent != 3 {
		t.Fatalf("hops %d, err %q", len(s.Hops), s.Hops[len(s.Hops)-1].Err)
	}
	if n := f.probes(4); n > 1 {
		t.Errorf("ttl 4 probed %d times; rounds should end at the unreachable hop", n)
	}
}

type unreachFake struct {
	*fakePath
	at int
}

func (u *unreachFake) Send(seq uint16, ttl int) (time.Time, error) {
	now := time.Now()
	u.mu.Lock()
	u.sent[ttl]++
	u.mu.Unlock()
	r := probe.Reply{Seq: seq, At: now.Add(u.rtt), From: u.addrs[min(ttl, u.at)-1], Kind: probe.TimeExceeded}
	if ttl >= u.at {
		r.Kind, r.Code = probe.Unreachable, 1
	}
	u.replies <- r
	return now, nil
}

func TestEventsForEverySendAndAnswer(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
	tr := New(f, f.addrs[1], Config{Count: 3, Interval: 10 * time.Millisecond})
	var sent, answered int
	seqs := map[uint16]int{}
	tr.OnEvent(func(e Event) {
		switch e.Kind {
		case EventSent:
			sent++
			seqs[e.Seq] = e.TTL
		case EventReply:
			answered++
			if seqs[e.Seq] != e.TTL || e.RTT != time.Millisecond || !e.From.IsValid() {
				t.Errorf("reply event %+v does not match its probe (ttl %d)", e, seqs[e.Seq])
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if sent != 6 || answered != 6 {
		t.Errorf("%d sent and %d answered events, want 6 and 6", sent, answered)
	}
}

// runLive starts an endless run and returns a stop function that waits for it to end.
func runLive(t *testing.T, tr *Tracer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run = %v, want canceled", err)
		}
	}
}

// waitFor polls cond (the scheduler runs on its own clock) for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

func TestSetIntervalTakesEffectWhileRunning(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
	tr := New(f, f.addrs[1], Config{Interval: 2 * time.Second})
	stop := runLive(t, tr)
	defer stop()
	waitFor(t, "the first probe went out", func() bool { return f.probes(1) == 1 })
	if err := tr.SetInterval(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// At 2 s a round, 10 rounds take 20 s; the new interval applies from the next probe (at most
	// one old tick, 0.2 s, later), so they take well under a second.
	start := time.Now()
	waitFor(t, "ten rounds", func() bool { return tr.Rounds() >= 10 })
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("10 rounds took %v after the interval became 10ms", d)
	}
	for _, bad := range []time.Duration{0, -time.Second} {
		if err := tr.SetInterval(bad); err == nil {
			t.Errorf("SetInterval(%v) accepted", bad)
		}
	}
}

func TestSetTTLRangeKeepsHopsInRange(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2", "198.18.3.2")
	tr := New(f, f.addrs[3], Config{Interval: 20 * time.Millisecond})
	stop := runLive(t, tr)
	waitFor(t, "two rounds", func() bool { return tr.Rounds() >= 2 })
	if err := tr.SetTTLRange(2, 3); err != nil {
		t.Fatal(err)
	}
	before := tr.Snapshot()
	sentTTL1, sentTTL4 := f.probes(1), f.probes(4)
	waitFor(t, "two more rounds", func() bool { return tr.Rounds() >= 4 })
	stop()

	if before.First != 2 || len(before.Hops) != 2 || before.Hops[0].Sent < 2 {
		t.Fatalf("right after the change: first %d, %d hops, hop 2 snt %d; want 2, 2 and kept statistics",
			before.First, len(before.Hops), before.Hops[0].Sent)
	}
	if f.probes(1) != sentTTL1 || f.probes(4) > sentTTL4+1 {
		t.Errorf("TTLs out of range still probed: ttl 1 %d→%d, ttl 4 %d→%d", sentTTL1, f.probes(1), sentTTL4, f.probes(4))
	}
	if first, max := tr.TTLRange(); first != 2 || max != 3 {
		t.Errorf("TTLRange = %d, %d", first, max)
	}
	// Widening again brings the destination back.
	if err := tr.SetTTLRange(1, 30); err != nil {
		t.Fatal(err)
	}
	stop = runLive(t, tr)
	waitFor(t, "the destination answers again", func() bool { return len(tr.Snapshot().Hops) == 4 })
	stop()
}

func TestSetTTLRangeRejectsBadRanges(t *testing.T) {
	tr := New(newFake(0, "198.18.0.2"), netip.MustParseAddr("198.18.0.2"), Config{})
	for _, tc := range []struct {
		name       string
		first, max int
	}{
		{"first zero", 0, 30},
		{"first above max", 10, 5},
		{"max above 255", 1, 256},
	} {
		if err := tr.SetTTLRange(tc.first, tc.max); err == nil {
			t.Errorf("%s: %d..%d accepted", tc.name, tc.first, tc.max)
		}
	}
	if first, max := tr.TTLRange(); first != 1 || max != 30 {
		t.Errorf("a rejected change altered the range to %d..%d", first, max)
	}
}

func TestSetCount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		count   int
		endless bool
	}{
		{"three rounds", 3, false},
		{"zero runs until stopped", 0, true},
		{"negative runs until stopped", -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
			tr := New(f, f.addrs[1], Config{Count: 10, Interval: 5 * time.Millisecond})
			tr.SetCount(tc.count)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := tr.Run(ctx)
			switch {
			case tc.endless && (err != context.DeadlineExceeded || tr.Rounds() <= 10):
				t.Errorf("Run = %v after %d rounds, want it to run past 10 until the deadline", err, tr.Rounds())
			case !tc.endless && (err != nil || tr.Rounds() != tc.count):
				t.Errorf("Run = %v after %d rounds, want nil after %d", err, tr.Rounds(), tc.count)
			}
		})
	}
}

func TestPauseStopsProbesAndResumeRestarts(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
	tr := New(f, f.addrs[1], Config{Interval: 20 * time.Millisecond})
	stop := runLive(t, tr)
	defer stop()
	time.Sleep(100 * time.Millisecond)
	tr.SetPaused(true)
	time.Sleep(50 * time.Millisecond) // a probe already due may still go out
	paused := f.probes(1)
	time.Sleep(200 * time.Millisecond)
	if got := f.probes(1); got != paused {
		t.Errorf("paused, yet ttl 1 got %d more probes", got-paused)
	}
	tr.SetPaused(false)
	time.Sleep(100 * time.Millisecond)
	if got := f.probes(1); got <= paused {
		t.Errorf("resumed, yet no probe went out (still %d)", got)
	}
}

func TestKernelSendTimeWhenTheProberHasOne(t *testing.T) {
	f := newFake(time.Millisecond, "198.18.0.2")
	tr := New(f, f.addrs[0], Config{Count: 1})
	user := time.Now()
	tr.out[7] = outstanding{ttl: 1, sent: user}
	tr.path.Sent(1, 7)
	tr.out[8] = outstanding{ttl: 1, sent: user}
	tr.path.Sent(1, 8)
	// Probe 7's stamp says it left 40 µs after Send's time: its RTT is 460 µs, not 500.
	tr.answer(probe.Reply{Seq: 7, From: f.addrs[0], Kind: probe.EchoReply, At: user.Add(500 * time.Microsecond), Sent: user.Add(40 * time.Microsecond)})
	// Probe 8 has no stamp: Send's time stands.
	tr.answer(probe.Reply{Seq: 8, From: f.addrs[0], Kind: probe.EchoReply, At: user.Add(500 * time.Microsecond)})
	h := tr.path.Hop(1)
	if h.Best != 460*time.Microsecond || h.Worst != 500*time.Microsecond {
		t.Errorf("best %v worst %v; want 460µs and 500µs", h.Best, h.Worst)
	}
}
