package netlab

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
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
	// Routers 2 and 4 are slow, and router 4 also rejects traffic for the destination.
	l := New(t, Spec{Routers: 5, SlowAnswer: map[int]time.Duration{2: delay, 4: delay}, Reject: 4})
	bothFamilies(t, l, func(t *testing.T, target netip.Addr, hops []netip.Addr) {
		exceeded, unreach := icmp.Type(ipv4.ICMPTypeTimeExceeded), icmp.Type(ipv4.ICMPTypeDestinationUnreachable)
		if target.Is6() {
			exceeded, unreach = ipv6.ICMPTypeTimeExceeded, ipv6.ICMPTypeDestinationUnreachable
		}
		// Only a slow router's own answers wait, its unreachables as well as its time
		// exceeded; what it forwards passes at once: router 3's answers through router 2 are
		// fast, router 4's are delayed once, not twice. The bound for "at once" is loose for a
		// busy machine and still far from the delay.
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
			{4, hops[3], exceeded, true},
			{64, hops[3], unreach, true},
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

// firstAnswers probes every hop of the path with ICMP echo requests, one round of TTLs
// 1..len(hops) every 50 ms, and returns how long after start each hop first answered (0: it
// never did within limit). Answers are told apart by their source: hop k answers from hops[k-1].
func firstAnswers(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr, start time.Time, limit time.Duration) []time.Duration {
	t.Helper()
	network, listen, proto := "ip4:icmp", "0.0.0.0", 1
	var echo icmp.Type = ipv4.ICMPTypeEcho
	if target.Is6() {
		network, listen, proto = "ip6:ipv6-icmp", "::", 58
		echo = ipv6.ICMPTypeEchoRequest
	}
	var c *icmp.PacketConn
	if err := l.Run(func() (err error) {
		c, err = icmp.ListenPacket(network, listen)
		return err
	}); err != nil {
		t.Fatalf("open ICMP socket in the client namespace: %v", err)
	}
	defer c.Close()
	first := make([]time.Duration, len(hops))
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, peer, err := c.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			at := time.Since(start)
			if m, err := icmp.ParseMessage(proto, buf[:n]); err != nil || m.Type == ipv6.ICMPTypeNeighborSolicitation ||
				m.Type == ipv6.ICMPTypeNeighborAdvertisement || m.Type == ipv6.ICMPTypeRouterAdvertisement {
				continue
			}
			a, _ := netip.AddrFromSlice(peer.(*net.IPAddr).IP)
			if k := slices.Index(hops, a.Unmap()); k >= 0 && first[k] == 0 {
				first[k] = at
			}
		}
	}()
	id := os.Getpid() & 0xffff
	for seq := 0; time.Since(start) < limit; seq++ {
		for ttl := 1; ttl <= len(hops); ttl++ {
			var err error
			if target.Is6() {
				err = c.IPv6PacketConn().SetHopLimit(ttl)
			} else {
				err = c.IPv4PacketConn().SetTTL(ttl)
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := (&icmp.Message{Type: echo, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("netlab")}}).Marshal(nil)
			if err != nil {
				t.Fatal(err)
			}
			// A failed send is one probe less; the loop sends more.
			_, _ = c.WriteTo(b, &net.IPAddr{IP: target.AsSlice()})
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.Close()
	<-done
	return first
}

func TestFreshIPv6(t *testing.T) {
	t.Parallel()
	l := New(t, Spec{Routers: 5, FreshIPv6: true})
	start := time.Now()
	// Both families at once, since IPv6's delay runs from the moment Build returns.
	var v4 []time.Duration
	var wg sync.WaitGroup
	wg.Go(func() { v4 = firstAnswers(t, l, l.Target4, l.Hops4, start, time.Second) })
	v6 := firstAnswers(t, l, l.Target6, l.Hops6, start, 5*time.Second)
	wg.Wait()
	t.Logf("first answers after Build, IPv4 %v, IPv6 %v", v4, v6)
	for k := range v4 {
		if v4[k] == 0 {
			t.Errorf("IPv4 hop %d did not answer within 1 s", k+1)
		}
	}
	for k, d := range v6 {
		// Below the DAD wait (a second's solicitation after up to a second's random delay,
		// minus what Build took) nothing answers; after it every hop does.
		if d < 300*time.Millisecond {
			t.Errorf("IPv6 hop %d answered after %v: its address was not tentative", k+1, d)
		}
		if d == 0 {
			t.Errorf("IPv6 hop %d did not answer within 5 s", k+1)
		}
	}
}

// sendErr sends one echo request to target from the client namespace and returns the send's
// error.
func sendErr(t *testing.T, l *Lab, target netip.Addr) error {
	t.Helper()
	network, listen := "ip4:icmp", "0.0.0.0"
	var echo icmp.Type = ipv4.ICMPTypeEcho
	if target.Is6() {
		network, listen = "ip6:ipv6-icmp", "::"
		echo = ipv6.ICMPTypeEchoRequest
	}
	var c *icmp.PacketConn
	if err := l.Run(func() (err error) {
		c, err = icmp.ListenPacket(network, listen)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := (&icmp.Message{Type: echo, Body: &icmp.Echo{ID: 1, Seq: 1, Data: []byte("netlab")}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WriteTo(b, &net.IPAddr{IP: target.AsSlice()})
	return err
}

func TestClientFaults(t *testing.T) {
	t.Parallel()
	l := New(t, Spec{Routers: 2})
	for _, c := range []struct {
		name    string
		on, off func() error
		want    syscall.Errno
	}{
		{"route cut", l.CutClientRoute, l.RestoreClientRoute, syscall.ENETUNREACH},
		{"firewall drop", l.BlockClientOutput, l.UnblockClientOutput, syscall.EPERM},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.on(); err != nil {
				t.Fatal(err)
			}
			for _, target := range []netip.Addr{l.Target4, l.Target6} {
				if err := sendErr(t, l, target); !errors.Is(err, c.want) {
					t.Errorf("send to %v: %v, want %v", target, err, c.want)
				}
			}
			if err := c.off(); err != nil {
				t.Fatal(err)
			}
			for _, target := range []netip.Addr{l.Target4, l.Target6} {
				if from, _, _ := probe(t, l, target, 64); from != target {
					t.Errorf("after the fault, echo to %v answered by %v", target, from)
				}
			}
		})
	}
	if err := l.RestoreClientRoute(); err != nil {
		t.Errorf("restoring a route that is there: %v", err)
	}
}
