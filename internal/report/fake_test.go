package report

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	sched "github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
)

// fakeHop is one TTL of a scripted path: who answers the n-th probe (zero Addr: nobody), and
// after how long.
type fakeHop func(n int) (netip.Addr, time.Duration)

// fakeProber answers the scheduler's probes from a script, with RTTs exact to the nanosecond
// (the send time it reports is the one the answer is stamped against), so a run through the
// real scheduler and accumulators gives the same numbers every time.
type fakeProber struct {
	hops    []fakeHop // hops[ttl-1]; TTLs beyond answer like the last one
	mu      sync.Mutex
	sent    map[int]int
	replies chan probe.Reply
}

func (f *fakeProber) Replies() <-chan probe.Reply { return f.replies }

func (f *fakeProber) Send(seq uint16, ttl int) (time.Time, error) {
	now := time.Now()
	f.mu.Lock()
	n := f.sent[ttl]
	f.sent[ttl]++
	f.mu.Unlock()
	last := ttl >= len(f.hops)
	from, rtt := f.hops[min(ttl, len(f.hops))-1](n)
	if !from.IsValid() {
		return now, nil
	}
	kind := probe.TimeExceeded
	if last {
		kind = probe.EchoReply
	}
	f.replies <- probe.Reply{Seq: seq, From: from, At: now.Add(rtt), Kind: kind}
	return now, nil
}

// always answers from addr after ms milliseconds, varying by a tenth every third probe.
func always(addr string, ms float64) fakeHop {
	a := netip.MustParseAddr(addr)
	return func(n int) (netip.Addr, time.Duration) {
		return a, time.Duration(ms * float64(1+n%3) * float64(time.Millisecond) / 1.1)
	}
}

// everyOther answers only even-numbered probes.
func everyOther(h fakeHop) fakeHop {
	return func(n int) (netip.Addr, time.Duration) {
		if n%2 == 1 {
			return netip.Addr{}, 0
		}
		return h(n)
	}
}

func silent(int) (netip.Addr, time.Duration) { return netip.Addr{}, 0 }

// alternate answers from each address in turn, like a hop behind an ECMP balancer.
func alternate(ms float64, addrs ...string) fakeHop {
	return func(n int) (netip.Addr, time.Duration) {
		return netip.MustParseAddr(addrs[n%len(addrs)]), time.Duration(ms * float64(time.Millisecond))
	}
}

// fakeRun runs the real scheduler over a scripted path for rounds rounds and returns the final
// snapshot; onEvent, if set, sees every probe event.
func fakeRun(t *testing.T, target string, rounds int, onEvent func(sched.Event), hops ...fakeHop) stats.Snapshot {
	t.Helper()
	f := &fakeProber{hops: hops, sent: map[int]int{}, replies: make(chan probe.Reply, 1024)}
	tr := sched.New(f, netip.MustParseAddr(target), sched.Config{Count: rounds, Interval: 60 * time.Millisecond, MaxUnknown: 2})
	if onEvent != nil {
		tr.OnEvent(onEvent)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return tr.Snapshot()
}

// The scripted paths the format goldens are made from.
func fakeLab(t *testing.T, onEvent func(sched.Event)) stats.Snapshot {
	return fakeRun(t, "198.18.3.2", 4, onEvent,
		always("198.18.0.2", 0.25),
		everyOther(always("198.18.1.2", 0.5)),
		always("198.18.2.2", 1.25),
		always("198.18.3.2", 2))
}

func fakeDeadNode(t *testing.T) stats.Snapshot {
	return fakeRun(t, "198.18.5.2", 3, nil,
		always("198.18.0.2", 0.25), always("198.18.1.2", 0.5), always("198.18.2.2", 0.75),
		silent, silent, silent)
}

func fakeECMP(t *testing.T) stats.Snapshot {
	return fakeRun(t, "198.18.3.2", 4, nil,
		always("198.18.0.2", 0.25), alternate(0.5, "198.18.1.2", "198.18.101.2"), always("198.18.3.2", 1))
}

func fakeIPv6(t *testing.T) stats.Snapshot {
	return fakeRun(t, "2001:db8:2::2", 2, nil,
		always("2001:db8::2", 0.25), always("2001:db8:2::2", 0.5))
}
