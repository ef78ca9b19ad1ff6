package trace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mtr-go/mtr-go/probe"
)

// The scheduler's tests run inside synctest bubbles with an injected clock built on time.Now and
// time.Timer: in a bubble time is virtual and moves on only when every goroutine of the test is
// blocked, so a 1.5 s answer, the 5 s gracetime or a whole simulated day take no real time, and
// elapsed times can be asserted exactly. (The real clock's timerfd alarms live outside the
// bubble's reach, which is why the clock is injected at all.)

// testClock is the clock injected in tests.
type testClock struct{}

func (testClock) Now() time.Time { return time.Now() }

func (testClock) NewTimer() Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return stdTimer{t}
}

type stdTimer struct{ t *time.Timer }

func (s stdTimer) C() <-chan time.Time   { return s.t.C }
func (s stdTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s stdTimer) Stop()                 { s.t.Stop() }
func (s stdTimer) Close()                { s.t.Stop() }

// fakePath answers probes like a chain of routers: hop i (1-based) is addrs[i-1]; the last
// address is the destination, which answers every TTL at or beyond its own with an echo reply.
// Answers arrive after their RTT on the bubble's clock.
type fakePath struct {
	addrs []netip.Addr
	rtt   time.Duration
	// rttOf, if set, gives the RTT of the n-th probe (0-based) to ttl instead of rtt.
	rttOf func(ttl, n int) time.Duration
	// drop(ttl, n) says whether the n-th probe to ttl goes unanswered.
	drop func(ttl, n int) bool
	// from, if set, picks who answers the n-th probe to a router's ttl (changing responders).
	from func(ttl, n int) netip.Addr
	// fail, if set, is the error the kernel gives for this send (nil: it goes out).
	fail func(ttl, n int) error
	// seqs, if > 0, is the prober's sequence space (probe.Sequencer).
	seqs   int
	shrunk bool // seqs shrank while running: numbers above it may still be in flight

	mu      sync.Mutex
	sent    map[int]int    // probes per TTL
	live    map[uint16]int // sequence -> TTL of probes whose answer may still come
	reused  []string       // sequences sent again while a probe holding them could be answered
	replies chan probe.Reply
}

func newFake(rtt time.Duration, addrs ...string) *fakePath {
	f := &fakePath{rtt: rtt, sent: map[int]int{}, live: map[uint16]int{}, replies: make(chan probe.Reply, 1<<16)}
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

func (f *fakePath) Sequences() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seqs
}

func (f *fakePath) Send(seq uint16, ttl int) (time.Time, error) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.sent[ttl]
	f.sent[ttl]++
	if f.fail != nil {
		if err := f.fail(ttl, n); err != nil {
			return now, fmt.Errorf("send probe seq %d ttl %d: %w", seq, ttl, err)
		}
	}
	if f.seqs > 0 && int(seq) >= f.seqs && !f.shrunk {
		f.reused = append(f.reused, fmt.Sprintf("seq %d outside 0..%d", seq, f.seqs-1))
	}
	if old, ok := f.live[seq]; ok {
		f.reused = append(f.reused, fmt.Sprintf("seq %d (ttl %d) reused for ttl %d", seq, old, ttl))
	}
	if f.drop != nil && f.drop(ttl, n) {
		return now, nil
	}
	r := probe.Reply{Seq: seq, Kind: probe.TimeExceeded}
	switch {
	case ttl >= len(f.addrs):
		r.From, r.Kind = f.addrs[len(f.addrs)-1], probe.EchoReply
	case f.addrs[ttl-1].IsValid():
		r.From = f.addrs[ttl-1]
		if f.from != nil {
			r.From = f.from(ttl, n)
		}
	default: // a silent hop
		return now, nil
	}
	rtt := f.rtt
	if f.rttOf != nil {
		rtt = f.rttOf(ttl, n)
	}
	f.live[seq] = ttl
	time.AfterFunc(rtt, func() {
		f.mu.Lock()
		delete(f.live, seq)
		f.mu.Unlock()
		r.At = time.Now()
		f.replies <- r
	})
	return now, nil
}

func (f *fakePath) probes(ttl int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent[ttl]
}

func (f *fakePath) target() netip.Addr { return f.addrs[len(f.addrs)-1] }

// newTracer makes a tracer on the test clock.
func newTracer(p Prober, target netip.Addr, cfg Config) *Tracer {
	cfg.Clock = testClock{}
	return New(p, target, cfg)
}

// run runs a counted trace to the end inside the caller's bubble and returns how long it took.
func run(t *testing.T, f *fakePath, cfg Config) (*Tracer, time.Duration) {
	t.Helper()
	tr := newTracer(f, f.target(), cfg)
	start := time.Now()
	if err := tr.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return tr, time.Since(start)
}

func TestCleanPathEveryHopEveryRoundAndNoWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(4*time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2", "198.18.3.2", "198.18.4.2", "198.18.5.2")
		tr, took := run(t, f, Config{Count: 3, Interval: 200 * time.Millisecond})
		s := tr.Snapshot()
		if len(s.Hops) != 6 {
			t.Fatalf("hops shown = %d, want 6", len(s.Hops))
		}
		for i, h := range s.Hops {
			if h.Addr() != f.addrs[i] || h.Sent != 3 || h.Recv != 3 || h.Loss() != 0 {
				t.Errorf("hop %d: %v snt %d rcv %d loss %.1f; want %v 3 3 0", h.TTL, h.Addr(), h.Sent, h.Recv, h.Loss(), f.addrs[i])
			}
			if h.Avg() != 4 {
				t.Errorf("hop %d avg %.3f ms, want 4", h.TTL, h.Avg())
			}
		}
		if n := f.probes(7); n != 0 {
			t.Errorf("%d probes sent past the destination", n)
		}
		// Three rounds of 0.2 s (the first paced for 10 hops) and no wait for answers that are in.
		if took > 600*time.Millisecond {
			t.Errorf("-c 3 -i 0.2 on a clean path took %v, want at most 0.6 s", took)
		}
	})
}

func TestSlowRouterCountsAndEndsTheWaitWhenItsAnswersAreIn(t *testing.T) {
	// Router 2's control plane answers after 1.5 s; forwarding is fast. mtr waits its gracetime
	// and shows 0 %; so must we, without waiting any longer than the last slow answer.
	synctest.Test(t, func(t *testing.T) {
		f := newFake(4*time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2", "198.18.3.2", "198.18.4.2", "198.18.5.2")
		f.rttOf = func(ttl, n int) time.Duration {
			if ttl == 2 {
				return 1500 * time.Millisecond
			}
			return 4 * time.Millisecond
		}
		tr, took := run(t, f, Config{Count: 3, Interval: 200 * time.Millisecond})
		s := tr.Snapshot()
		if len(s.Hops) != 6 {
			t.Fatalf("hops shown = %d, want 6", len(s.Hops))
		}
		for _, h := range s.Hops {
			if h.Loss() != 0 || h.Recv != 3 {
				t.Errorf("hop %d: loss %.1f%% rcv %d, want 0%% 3", h.TTL, h.Loss(), h.Recv)
			}
		}
		if h := s.Hops[1]; h.Avg() != 1500 {
			t.Errorf("hop 2 avg %.1f ms, want 1500", h.Avg())
		}
		// The last probe to hop 2 left at most 0.6 s in; its answer 1.5 s later ends the run.
		if took > 2100*time.Millisecond {
			t.Errorf("took %v: the run should end once the slow answers are in", took)
		}
	})
}

func TestGracetimeCapsTheWait(t *testing.T) {
	// With -G 1 the 1.5 s answers are not waited for, as with mtr: hop 2 shows its loss.
	synctest.Test(t, func(t *testing.T) {
		f := newFake(4*time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2")
		f.rttOf = func(ttl, n int) time.Duration {
			if ttl == 2 {
				return 1500 * time.Millisecond
			}
			return 4 * time.Millisecond
		}
		tr, took := run(t, f, Config{Count: 3, Interval: 200 * time.Millisecond, Grace: time.Second})
		if h := tr.Snapshot().Hops[1]; h.Recv == 3 {
			t.Errorf("hop 2 got every answer despite -G 1: rcv %d", h.Recv)
		}
		if took > 1700*time.Millisecond {
			t.Errorf("took %v, want the last round plus at most the 1 s gracetime", took)
		}
	})
}

func TestFreshPathWhoseFirstAnswersAreLate(t *testing.T) {
	// A fresh IPv6 path: neighbour discovery holds every first answer for 2 s, so no hop has
	// answered when the last round of -c 3 -i 0.1 is sent. The report must still list every hop.
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "2001:db8::2", "2001:db8:1::2", "2001:db8:2::2", "2001:db8:3::2", "2001:db8:4::2", "2001:db8:5::2")
		start := time.Now()
		f.rttOf = func(ttl, n int) time.Duration {
			if d := 2*time.Second - time.Since(start); d > 0 {
				return d
			}
			return time.Millisecond
		}
		tr, took := run(t, f, Config{Count: 3, Interval: 100 * time.Millisecond})
		s := tr.Snapshot()
		if len(s.Hops) != 6 || s.Hops[5].Addr() != f.target() {
			t.Fatalf("hops shown = %d (last %v), want all 6 up to the destination", len(s.Hops), s.Hops[len(s.Hops)-1].Addr())
		}
		for _, h := range s.Hops {
			if h.Loss() != 0 {
				t.Errorf("hop %d: loss %.1f%%, want 0", h.TTL, h.Loss())
			}
		}
		if took > 2500*time.Millisecond {
			t.Errorf("took %v: the run should end once the late answers are in", took)
		}
	})
}

func TestSilentHopsEndTheRoundAndKeepTheReportWaiting(t *testing.T) {
	// Hop 2 answers; nothing after it does. A round stops after MaxUnknown+1 silent TTLs, the view
	// shows a single ??? row past the last answering hop, and since those hops never answered, an
	// answer from them could still come: the report waits out the gracetime, as mtr does.
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "", "", "", "", "", "", "", "", "", "198.18.9.9")
		f.drop = func(ttl, n int) bool { return ttl > 2 }
		tr, took := run(t, f, Config{Count: 2, Interval: 20 * time.Millisecond, MaxUnknown: 3, Grace: 5 * time.Second})
		if took < 5*time.Second || took > 5100*time.Millisecond {
			t.Errorf("run took %v, want the last round plus the 5 s gracetime", took)
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
	})
}

func TestAHopThatAnsweredBeforeIsGivenUpSoon(t *testing.T) {
	// Hop 2 throttles: it answers in 2 ms but drops its last answer. It has shown what its answers
	// take, so the run gives the lost one up after twice that (plus slack), not after -G.
	synctest.Test(t, func(t *testing.T) {
		f := newFake(2*time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2")
		f.drop = func(ttl, n int) bool { return ttl == 2 && n == 2 }
		tr, took := run(t, f, Config{Count: 3, Interval: 100 * time.Millisecond})
		if h := tr.Snapshot().Hops[1]; h.Recv != 2 || h.Drop() != 1 {
			t.Errorf("hop 2 rcv %d drop %d, want 2 1", h.Recv, h.Drop())
		}
		if took > 400*time.Millisecond {
			t.Errorf("took %v, want the rounds plus about 50 ms", took)
		}
	})
}

func TestLossOnlyWhereProbesGoUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2")
		f.drop = func(ttl, n int) bool { return ttl == 2 && n%2 == 1 } // hop 2 answers every other probe
		tr, _ := run(t, f, Config{Count: 10, Interval: 10 * time.Millisecond})
		want := []float64{0, 50, 0}
		for i, h := range tr.Snapshot().Hops {
			if h.Loss() != want[i] || h.Sent != 10 {
				t.Errorf("hop %d loss %.1f%% snt %d, want %.1f%% 10", h.TTL, h.Loss(), h.Sent, want[i])
			}
		}
	})
}

func TestFailedSendsAreLostProbesAndTheRunGoesOn(t *testing.T) {
	// Between 1 s and 2 s into the run the kernel refuses every send (the route is gone, a local
	// firewall, no buffers, an IPv6 source still tentative): rounds 4 and 5 of 8, by the pacing
	// (round 1 at 50 ms a TTL, then 3 TTLs in 0.5 s: rounds start at 0.15, 0.65, 1.15, 1.65 s).
	// The run neither ends nor stalls; the refused probes count as lost, the hop says why while it
	// lasts, and later rounds answer.
	for _, errno := range []syscall.Errno{syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.ENOBUFS, syscall.EPERM, syscall.EADDRNOTAVAIL} {
		t.Run(errno.Error(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2")
				start := time.Now()
				f.fail = func(ttl, n int) error {
					if d := time.Since(start); d >= time.Second && d < 2*time.Second {
						return errno
					}
					return nil
				}
				tr := newTracer(f, f.target(), Config{Count: 8, Interval: 500 * time.Millisecond})
				done := make(chan error, 1)
				go func() { done <- tr.Run(context.Background()) }()
				time.Sleep(1500 * time.Millisecond)
				synctest.Wait()
				mid := tr.Snapshot()
				if len(mid.Hops) == 0 || mid.Hops[0].SendErr != errno.Error() {
					t.Errorf("while the route is gone hop 1 shows %q, want %q", mid.Hops[0].SendErr, errno.Error())
				}
				if err := <-done; err != nil {
					t.Fatalf("Run = %v, want it to ride out the failed sends", err)
				}
				s := tr.Snapshot()
				if len(s.Hops) != 3 {
					t.Fatalf("hops shown = %d, want 3", len(s.Hops))
				}
				for _, h := range s.Hops {
					if h.Sent != 8 || h.Recv != 6 || h.Loss() != 25 || h.SendErr != "" {
						t.Errorf("hop %d: snt %d rcv %d loss %.0f%% err %q; want 8 6 25%% and no error once sends go out again",
							h.TTL, h.Sent, h.Recv, h.Loss(), h.SendErr)
					}
				}
			})
		})
	}
}

func TestClosedProberEndsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
		f.fail = func(ttl, n int) error {
			if n >= 2 {
				return net.ErrClosed
			}
			return nil
		}
		tr := newTracer(f, f.target(), Config{Count: 10, Interval: 10 * time.Millisecond})
		if err := tr.Run(context.Background()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Run = %v, want the closed prober's error", err)
		}
	})
}

func TestSequenceNumbersStillAwaitingAnswersAreNeverReused(t *testing.T) {
	// A prober with 64 sequence numbers (as a port-carried sequence might have) and answers that
	// take 300 ms: at the floor interval, many rounds wrap the space while answers are due.
	synctest.Test(t, func(t *testing.T) {
		f := newFake(300*time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2", "198.18.3.2")
		f.seqs = 64
		cfg := Config{Count: 200, Timeout: time.Second}
		cfg.Interval = MinInterval(1, 30, cfg.Timeout, f.seqs)
		tr, _ := run(t, f, cfg)
		if len(f.reused) > 0 {
			t.Fatalf("%d sequence numbers reused while answers were due, e.g. %s", len(f.reused), f.reused[0])
		}
		for _, h := range tr.Snapshot().Hops {
			if h.Recv != 200 || h.Avg() != 300 {
				t.Errorf("hop %d: rcv %d avg %.1f, want 200 answers of 300 ms on the right TTL", h.TTL, h.Recv, h.Avg())
			}
		}
	})
}

func TestASwitchToASmallerSequenceSpaceTakesEffectAtOnce(t *testing.T) {
	// The live view switches to a protocol that tells apart only 64 probes while probes numbered
	// anywhere in 16 bits still await answers: new numbers come from the new space at once, and
	// none is reused while its probe may be answered.
	synctest.Test(t, func(t *testing.T) {
		f := newFake(300*time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2")
		f.seqs = 1 << 16
		tr := newTracer(f, f.target(), Config{Interval: time.Second, Timeout: time.Second})
		stop := runLive(t, tr)
		time.Sleep(2 * time.Second)
		f.mu.Lock()
		f.seqs, f.shrunk = 64, true
		f.mu.Unlock()
		synctest.Wait()
		time.Sleep(100 * time.Second)
		snap := tr.Snapshot() // before stopping, which counts the probes in flight as lost
		stop()
		if len(f.reused) > 0 {
			t.Fatalf("%d sequence numbers reused, e.g. %s", len(f.reused), f.reused[0])
		}
		if tr.seq >= 64 {
			t.Errorf("last sequence %d, want one from the new space 0..63", tr.seq)
		}
		for _, h := range snap.Hops {
			if h.Loss() != 0 {
				t.Errorf("hop %d: loss %.1f%% after the switch, want none", h.TTL, h.Loss())
			}
		}
	})
}

func TestAFullSequenceSpaceGivesUpItsOldestProbe(t *testing.T) {
	// The space shrank to 64 while probes numbered 64 and up are still out, and every number
	// below 64 is held too: the next probe must take the number of the oldest probe inside the
	// space at once (that probe is then lost), not loop over numbers that cannot be freed.
	f := newFake(time.Millisecond, "198.18.0.2")
	f.seqs = 1 << 16
	tr := New(f, f.target(), Config{Clock: testClock{}})
	base := time.Unix(1e9, 0)
	for seq := range 200 {
		tr.out[uint16(seq)] = outstanding{ttl: 1, sent: base.Add(time.Duration(200-seq) * time.Millisecond)}
	}
	f.seqs = 64
	got := make(chan uint16, 1)
	go func() {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		got <- tr.nextSeq()
	}()
	select {
	case seq := <-got:
		// Probe n left at base + (200-n) ms, so of 0..63 probe 63 is the oldest.
		if seq != 63 {
			t.Errorf("took sequence %d, want 63, the oldest inside the space", seq)
		}
		if o := tr.out[63]; o.sent.Equal(base.Add(137 * time.Millisecond)) {
			t.Error("the given-up probe is still outstanding")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nextSeq did not return: it loops over a full space")
	}
}

func TestTimeoutBoundsTheFinalWait(t *testing.T) {
	// A silent hop would keep the report waiting for the 5 s gracetime, but with -Z 0.5 no answer
	// older than 0.5 s counts: the run ends 0.5 s after the last probe to it.
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "", "198.18.2.2")
		tr, took := run(t, f, Config{Count: 2, Interval: 100 * time.Millisecond, Timeout: 500 * time.Millisecond})
		if took > 800*time.Millisecond {
			t.Errorf("took %v with -Z 0.5, want the rounds plus at most 0.5 s", took)
		}
		if h := tr.Snapshot().Hops[1]; h.Loss() != 100 || h.Sent != 2 {
			t.Errorf("silent hop: loss %.0f%% snt %d", h.Loss(), h.Sent)
		}
	})
}

func TestPermanentSendErrorsEndTheRun(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EINVAL, syscall.EMSGSIZE, syscall.EACCES} {
		t.Run(errno.Error(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
				f.fail = func(ttl, n int) error { return errno }
				tr := newTracer(f, f.target(), Config{Count: 3, Interval: 100 * time.Millisecond})
				if err := tr.Run(context.Background()); !errors.Is(err, errno) {
					t.Errorf("Run = %v, want the run to end with %v: every probe would fail", err, errno)
				}
			})
		})
	}
}

func TestIntervalFloor(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, last int
		timeout     time.Duration
		seqs        int
		want        time.Duration
	}{
		// 30 TTLs, 10 s: at most 65533 probes in flight → 300 s / 65533 = 4,577,846.6 ns, rounded up.
		{"defaults", 1, 30, 10 * time.Second, 0, 4577847},
		{"16-bit space", 1, 30, 10 * time.Second, 1 << 16, 4577847},
		{"a smaller space", 1, 30, 10 * time.Second, 1003, 300 * time.Millisecond}, // 300 s / 1000
		{"fewer TTLs", 5, 7, time.Second, 0, 45779},                                // 3 s / 65533
		{"one TTL", 1, 1, 10 * time.Second, 0, 152595},                             // 10 s / 65533
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MinInterval(tc.first, tc.last, tc.timeout, tc.seqs); got != tc.want {
				t.Errorf("MinInterval = %v (%d ns), want %v", got, int64(got), tc.want)
			}
		})
	}
	f := newFake(time.Millisecond, "198.18.0.2")
	tr := newTracer(f, f.target(), Config{Count: 1, Interval: time.Nanosecond})
	if err := tr.Run(context.Background()); err == nil {
		t.Error("Run at -i 1ns accepted: sequence numbers would be reused within the 10 s timeout")
	}
	if n := f.probes(1); n != 0 {
		t.Errorf("%d probes sent by a run that should have been refused", n)
	}
	tr = newTracer(f, f.target(), Config{Interval: time.Second})
	if err := tr.SetInterval(time.Millisecond); err == nil {
		t.Error("SetInterval(1ms) accepted with a 10 s timeout over 30 TTLs")
	}
	if err := tr.SetInterval(5 * time.Millisecond); err != nil {
		t.Errorf("SetInterval(5ms) = %v, want it accepted (floor 4.58 ms)", err)
	}
}

func TestContextEndsRunAndKeepsStatistics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
		tr := newTracer(f, f.target(), Config{Interval: 10 * time.Millisecond}) // no count: runs until stopped
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := tr.Run(ctx); err != context.DeadlineExceeded {
			t.Fatalf("Run = %v, want deadline exceeded", err)
		}
		if s := tr.Snapshot(); len(s.Hops) != 2 || s.Hops[1].Recv < 8 {
			t.Errorf("after interrupt: %d hops, %+v", len(s.Hops), s.Hops)
		}
	})
}

func TestLateAnswersCountAndStrangersAreIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2")
		tr := newTracer(f, f.target(), Config{Count: 1})
		tr.out[7] = outstanding{ttl: 1, sent: time.Now()}
		tr.path.Sent(1, 7)
		tr.path.Sent(1, 8) // probe 7 superseded
		time.Sleep(time.Second)
		tr.answer(probe.Reply{Seq: 7, From: f.addrs[0], Kind: probe.EchoReply, At: time.Now()})
		tr.answer(probe.Reply{Seq: 7, From: f.addrs[0], Kind: probe.EchoReply, At: time.Now()})  // duplicate
		tr.answer(probe.Reply{Seq: 99, From: f.addrs[0], Kind: probe.EchoReply, At: time.Now()}) // not ours
		h := tr.path.Hop(1)
		if h.Recv != 1 || h.Drop() != 0 || h.Avg() != 1000 {
			t.Errorf("rcv %d drop %d avg %.1f, want 1 0 1000", h.Recv, h.Drop(), h.Avg())
		}
		// Past the timeout (-Z) an answer no longer counts, even if its probe was not expired yet.
		tr.out[9] = outstanding{ttl: 1, sent: time.Now()}
		tr.path.Sent(1, 9)
		time.Sleep(11 * time.Second)
		tr.answer(probe.Reply{Seq: 9, From: f.addrs[0], Kind: probe.EchoReply, At: time.Now()})
		if h.Recv != 1 {
			t.Errorf("an answer after the 10 s timeout was counted")
		}
	})
}

func TestResetDropsAnswersToOlderProbesAndKeepsTheirNumbers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2")
		tr := newTracer(f, f.target(), Config{Count: 1})
		tr.seq = 6
		tr.out[7] = outstanding{ttl: 1, sent: time.Now()}
		tr.path.Sent(1, 7)
		tr.Reset()
		if seq := tr.nextSeq(); seq == 7 {
			t.Error("sequence 7 reused right after a reset while its answer may still come")
		}
		tr.answer(probe.Reply{Seq: 7, From: f.addrs[0], Kind: probe.EchoReply, At: time.Now()})
		if h := tr.path.Hop(1); h.Recv != 0 || h.Sent != 0 {
			t.Errorf("after reset: snt %d rcv %d, want an answer to an older probe dropped", h.Sent, h.Recv)
		}
	})
}

func TestUnreachableShownAndEndsRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.5.5")
		target := netip.MustParseAddr("198.18.9.9")
		// Router 2 has no route: it answers every TTL ≥ 2 with host unreachable.
		fr := &unreachFake{fakePath: f, at: 2}
		tr := newTracer(fr, target, Config{Count: 3, Interval: 10 * time.Millisecond})
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		s := tr.Snapshot()
		if len(s.Hops) != 2 || s.Hops[1].Err != "no route to host" || s.Hops[1].Sent != 3 {
			t.Fatalf("hops %d, err %q", len(s.Hops), s.Hops[len(s.Hops)-1].Err)
		}
		if n := f.probes(4); n > 1 {
			t.Errorf("ttl 4 probed %d times; rounds should end at the unreachable hop", n)
		}
	})
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
	r := probe.Reply{Seq: seq, From: u.addrs[min(ttl, u.at)-1], Kind: probe.TimeExceeded}
	if ttl >= u.at {
		r.Kind, r.Code = probe.Unreachable, 1
	}
	time.AfterFunc(u.rtt, func() {
		r.At = time.Now()
		u.replies <- r
	})
	return now, nil
}

func TestEventsForEverySendAndAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
		tr := newTracer(f, f.target(), Config{Count: 3, Interval: 100 * time.Millisecond})
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
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if sent != 6 || answered != 6 {
			t.Errorf("%d sent and %d answered events, want 6 and 6", sent, answered)
		}
	})
}

// runLive starts an endless run in the bubble and returns a stop function that waits for it.
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

func TestSetIntervalTakesEffectWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
		tr := newTracer(f, f.target(), Config{Interval: 2 * time.Second})
		stop := runLive(t, tr)
		defer stop()
		synctest.Wait()
		if f.probes(1) != 1 {
			t.Fatalf("%d probes to ttl 1 at the start, want 1", f.probes(1))
		}
		if err := tr.SetInterval(10 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		// At 2 s a round, 10 rounds take 20 s; the new interval applies from the next probe (one
		// old tick, 0.2 s, later), so ten rounds are done within 0.2 s + 10 × 10 ms.
		time.Sleep(310 * time.Millisecond)
		if n := tr.Rounds(); n < 10 {
			t.Errorf("%d rounds done 0.31 s after the interval became 10ms, want 10", n)
		}
		for _, bad := range []time.Duration{0, -time.Second} {
			if err := tr.SetInterval(bad); err == nil {
				t.Errorf("SetInterval(%v) accepted", bad)
			}
		}
	})
}

func TestSetTTLRangeKeepsHopsInRange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2", "198.18.3.2")
		tr := newTracer(f, f.target(), Config{Interval: 20 * time.Millisecond})
		stop := runLive(t, tr)
		time.Sleep(45 * time.Millisecond)
		if tr.Rounds() < 2 {
			t.Fatalf("%d rounds after 45 ms, want 2", tr.Rounds())
		}
		if err := tr.SetTTLRange(2, 3); err != nil {
			t.Fatal(err)
		}
		before := tr.Snapshot()
		sentTTL1, sentTTL4 := f.probes(1), f.probes(4)
		time.Sleep(50 * time.Millisecond)
		stop()

		if before.First != 2 || len(before.Hops) != 2 || before.Hops[0].Sent < 2 {
			t.Fatalf("right after the change: first %d, %d hops, hop 2 snt %d; want 2, 2 and kept statistics",
				before.First, len(before.Hops), before.Hops[0].Sent)
		}
		if f.probes(1) != sentTTL1 || f.probes(4) > sentTTL4+1 {
			t.Errorf("TTLs out of range still probed: ttl 1 %d→%d, ttl 4 %d→%d", sentTTL1, f.probes(1), sentTTL4, f.probes(4))
		}
		if tr.Rounds() < 4 {
			t.Errorf("%d rounds, want the run to go on in the new range", tr.Rounds())
		}
		if first, max := tr.TTLRange(); first != 2 || max != 3 {
			t.Errorf("TTLRange = %d, %d", first, max)
		}
		// Widening again brings the destination back.
		if err := tr.SetTTLRange(1, 30); err != nil {
			t.Fatal(err)
		}
		stop = runLive(t, tr)
		time.Sleep(100 * time.Millisecond)
		if n := len(tr.Snapshot().Hops); n != 4 {
			t.Errorf("%d hops after widening, want the destination back at 4", n)
		}
		stop()
	})
}

func TestSetTTLRangeRejectsBadRanges(t *testing.T) {
	tr := New(newFake(0, "198.18.0.2"), netip.MustParseAddr("198.18.0.2"), Config{Clock: testClock{}})
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
			synctest.Test(t, func(t *testing.T) {
				f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
				tr := newTracer(f, f.target(), Config{Count: 10, Interval: 5 * time.Millisecond})
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
		})
	}
}

func TestPauseStopsProbesAndResumeRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond, "198.18.0.2", "198.18.1.2")
		tr := newTracer(f, f.target(), Config{Interval: 20 * time.Millisecond})
		stop := runLive(t, tr)
		defer stop()
		time.Sleep(100 * time.Millisecond)
		tr.SetPaused(true)
		time.Sleep(15 * time.Millisecond) // a probe already due may still go out
		paused := f.probes(1)
		time.Sleep(time.Hour)
		if got := f.probes(1); got != paused {
			t.Errorf("paused, yet ttl 1 got %d more probes in an hour", got-paused)
		}
		tr.SetPaused(false)
		synctest.Wait()
		if got := f.probes(1); got != paused+1 {
			t.Errorf("resumed, want a probe at once: %d → %d", paused, got)
		}
	})
}

func TestADayLongRunStaysBounded(t *testing.T) {
	// A simulated day at -i 1 over a 6-hop path: hop 3 is a load-balanced hop answered by a new
	// address every probe (so the addresses seen grow without end), hop 4 throttles, the route
	// flaps for a minute every hour, and answers are sometimes late. Everything the run keeps —
	// outstanding probes, addresses already reported, per-hop state — must stay bounded: the heap
	// after 24 h is no larger than after 1 h, and no goroutine is left behind.
	if testing.Short() {
		t.Skip("86,400 rounds: not in -short")
	}
	synctest.Test(t, func(t *testing.T) {
		f := newFake(3*time.Millisecond, "198.18.0.2", "198.18.1.2", "198.18.2.2", "198.18.3.2", "198.18.4.2", "198.18.5.2")
		f.from = func(ttl, n int) netip.Addr {
			if ttl == 3 {
				return netip.AddrFrom4([4]byte{198, 18 | byte(n>>16&1), byte(n >> 8), byte(n)})
			}
			return f.addrs[ttl-1]
		}
		f.drop = func(ttl, n int) bool { return ttl == 4 && n%3 == 0 }
		f.rttOf = func(ttl, n int) time.Duration {
			if n%97 == 0 {
				return 3 * time.Second // late, but within -Z
			}
			return time.Duration(ttl) * time.Millisecond
		}
		start := time.Now()
		f.fail = func(ttl, n int) error {
			if time.Since(start)%time.Hour < time.Minute {
				return syscall.ENETUNREACH
			}
			return nil
		}
		tr := newTracer(f, f.target(), Config{Interval: time.Second})
		var newAddrs int
		tr.OnNewAddress(func(netip.Addr) { newAddrs++ })
		stop := runLive(t, tr)
		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		time.Sleep(time.Hour)
		after1h := heap()
		time.Sleep(23 * time.Hour)
		after24h := heap()
		tr.mu.Lock()
		outstandingNow, seen := len(tr.out), len(tr.seen)
		tr.mu.Unlock()
		stop()

		s := tr.Snapshot()
		if got := s.Hops[0].Sent; got < 86000 {
			t.Fatalf("hop 1 sent %d probes in 24 h, want about 86,400", got)
		}
		if after24h > after1h+512<<10 {
			t.Errorf("heap grew from %d KiB after 1 h to %d KiB after 24 h", after1h>>10, after24h>>10)
		}
		if outstandingNow > 6*10+10 {
			t.Errorf("%d probes outstanding: more than 10 s of probes", outstandingNow)
		}
		if seen > maxSeen {
			t.Errorf("%d addresses remembered, bound is %d", seen, maxSeen)
		}
		if newAddrs < 80000 {
			t.Errorf("%d new addresses reported; hop 3 had a new one every round", newAddrs)
		}
		if h := s.Hops[3]; h.Loss() < 33 || h.Loss() > 37 {
			t.Errorf("hop 4 loss %.1f%%, want its third dropped plus the flapping minutes (about 34.9 %%)", h.Loss())
		}
		if h := s.Hops[5]; h.Recv == 0 || h.SendErr != "" {
			t.Errorf("destination rcv %d err %q", h.Recv, h.SendErr)
		}
	})
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
