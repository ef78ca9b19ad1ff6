package netlab

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// timedProbe is probe with the time the answer took (socket set-up included, well under a
// millisecond).
func timedProbe(t *testing.T, l *Lab, target netip.Addr, ttl int) (netip.Addr, icmp.Type, time.Duration) {
	t.Helper()
	start := time.Now()
	from, typ, _ := probe(t, l, target, ttl)
	return from, typ, time.Since(start)
}

func TestSlowAnswer(t *testing.T) {
	t.Parallel()
	const delay = 1500 * time.Millisecond
	l := New(t, Spec{Routers: 5, SlowAnswer: map[int]time.Duration{2: delay}, Reject: 4})
	bothFamilies(t, l, func(t *testing.T, target netip.Addr, hops []netip.Addr) {
		exceeded, unreach := icmp.Type(ipv4.ICMPTypeTimeExceeded), icmp.Type(ipv4.ICMPTypeDestinationUnreachable)
		if target.Is6() {
			exceeded, unreach = ipv6.ICMPTypeTimeExceeded, ipv6.ICMPTypeDestinationUnreachable
		}
		// Only router 2's own answers wait; what it forwards (router 3's answers, router 4's
		// unreachables) passes at once. The bound for "at once" is loose for a busy machine
		// and still far from the delay.
		const fast = 500 * time.Millisecond
		for _, c := range []struct {
			ttl  int
			from netip.Addr
			typ  icmp.Type
			slow bool
		}{
			{1, hops[0], exceeded, false},
			{2, hops[1], exceeded, true},
			{3, hops[2], exceeded, false},
			{64, hops[3], unreach, false},
		} {
			from, typ, rtt := timedProbe(t, l, target, c.ttl)
			t.Logf("TTL %d: %v from %v after %v", c.ttl, typ, from, rtt)
			if from != c.from || typ != c.typ {
				t.Errorf("TTL %d: %v from %v, want %v from %v", c.ttl, typ, from, c.typ, c.from)
			}
			switch {
			case c.slow && (rtt < delay || rtt > delay+fast):
				t.Errorf("TTL %d: answer after %v, want the slow router's %v", c.ttl, rtt, delay)
			case !c.slow && rtt > fast:
				t.Errorf("TTL %d: answer after %v, want under %v: forwarding is delayed", c.ttl, rtt, fast)
			}
		}
	})
}
