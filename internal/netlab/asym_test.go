package netlab

import (
	"context"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/stats"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// wantTrace probes TTL 1..len(hops) from namespace ns towards target, one echo request each, and
// fails unless hop k answers from hops[k-1].
func wantTrace(t *testing.T, l *Lab, ns string, target netip.Addr, hops []netip.Addr) {
	t.Helper()
	for ttl := 1; ttl <= len(hops); ttl++ {
		if from, _, _ := probeFrom(t, l, ns, target, ttl); from != hops[ttl-1] {
			t.Errorf("from %s, TTL %d to %v: answer from %v, want %v (path %v)", ns, ttl, target, from, hops[ttl-1], hops)
		}
	}
}

// hopAnswers sends rounds of echo requests with TTL 1..len(hops) from namespace ns towards target,
// one round every 5 ms, and counts each hop's answers for a second after the last: hop k
// answers from hops[k-1]. The lab's own rate limits are off, so a hop that answers fewer than
// rounds lost the rest.
func hopAnswers(t *testing.T, l *Lab, ns string, target netip.Addr, hops []netip.Addr, rounds int) []int {
	t.Helper()
	network, listen, proto := "ip4:icmp", "0.0.0.0", 1
	var echo icmp.Type = ipv4.ICMPTypeEcho
	if target.Is6() {
		network, listen, proto = "ip6:ipv6-icmp", "::", 58
		echo = ipv6.ICMPTypeEchoRequest
	}
	var c *icmp.PacketConn
	if err := l.RunIn(ns, func() (err error) {
		c, err = icmp.ListenPacket(network, listen)
		return err
	}); err != nil {
		t.Fatalf("open ICMP socket in %s: %v", ns, err)
	}
	defer c.Close()
	got := make([]int, len(hops))
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, peer, err := c.ReadFrom(buf)
			if err != nil {
				return // the deadline
			}
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil {
				continue
			}
			switch m.Type {
			case ipv4.ICMPTypeEchoReply, ipv4.ICMPTypeTimeExceeded, ipv6.ICMPTypeEchoReply, ipv6.ICMPTypeTimeExceeded:
			default:
				continue // the other direction's requests, neighbour discovery
			}
			a, _ := netip.AddrFromSlice(peer.(*net.IPAddr).IP)
			if k := slices.Index(hops, a.Unmap()); k >= 0 {
				got[k]++
			}
		}
	}()
	id := os.Getpid() & 0xffff
	for seq := range rounds {
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
			b, err := (&icmp.Message{Type: echo, Body: &icmp.Echo{ID: id, Seq: seq*64 + ttl, Data: []byte("netlab")}}).Marshal(nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.WriteTo(b, &net.IPAddr{IP: target.AsSlice()}); err != nil {
				t.Fatalf("send echo to %v: %v", target, err)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	<-done
	return got
}

// wantLost fails unless hops from..to (1-based) each lost between lo and hi of rounds.
func wantLost(t *testing.T, what string, got []int, rounds, from, to, lo, hi int) {
	t.Helper()
	for k := from; k <= to; k++ {
		if lost := rounds - got[k-1]; lost < lo || lost > hi {
			t.Errorf("%s hop %d lost %d of %d, want %d..%d (answers per hop %v)", what, k, lost, rounds, lo, hi, got)
		}
	}
}

func TestAsymmetricReturn(t *testing.T) {
	t.Parallel()
	t.Run("paths", func(t *testing.T) {
		t.Parallel()
		l := New(t, Spec{Routers: 5, ReturnVia: 3})
		bothFamilies(t, l, func(t *testing.T, target netip.Addr, hops []netip.Addr) {
			// From the client the chain looks as ever; from the destination the return runs
			// through rx, which no trace from the client shows.
			wantTrace(t, l, l.Client, target, hops)
			public, reverse := l.Public4, l.Reverse4
			if target.Is6() {
				public, reverse = l.Public6, l.Reverse6
			}
			wantTrace(t, l, l.Dest(), public, reverse)
			rx := l.Return4
			if target.Is6() {
				rx = l.Return6
			}
			if slices.Contains(hops, rx) || !slices.Contains(reverse, rx) {
				t.Errorf("rx %v: forward %v, reverse %v", rx, hops, reverse)
			}
		})
	})
	t.Run("loss on the return path", func(t *testing.T) {
		t.Parallel()
		l := New(t, Spec{Routers: 5, ReturnVia: 3, ReturnLoss: 30})
		// 30 % of 100: a hop that crosses rx loses 30 ± 4.6, so 10..55 is more than 4
		// standard deviations either way; a hop that does not loses nothing (the lab's other
		// drops are none on 2 busy cores: TestFaults asks the same of mtr).
		const rounds = 100
		bothFamilies(t, l, func(t *testing.T, target netip.Addr, hops []netip.Addr) {
			// Forward: the answers of hops 3-6 (router 3 on, the destination's) come back
			// through rx; hops 1-2 answer along the chain.
			fwd := hopAnswers(t, l, l.Client, target, hops, rounds)
			wantLost(t, "forward", fwd, rounds, 1, 2, 0, 0)
			wantLost(t, "forward", fwd, rounds, 3, len(hops), 10, 55)
			// Reverse: routers 5, 4, 3 answer the destination directly; rx drops what it
			// forwards and the probes that expire at it: it, router 1 and the client lose.
			public, reverse := l.Public4, l.Reverse4
			if target.Is6() {
				public, reverse = l.Public6, l.Reverse6
			}
			rev := hopAnswers(t, l, l.Dest(), public, reverse, rounds)
			wantLost(t, "reverse", rev, rounds, 1, 3, 0, 0)
			wantLost(t, "reverse", rev, rounds, 4, len(reverse), 10, 55)
		})
	})
	t.Run("mtr on the lossy asymmetric path", func(t *testing.T) {
		t.Parallel()
		l := New(t, Spec{Routers: 5, ReturnVia: 3, ReturnLoss: 30})
		// Every call of the analysis is made at the 95 % level, and one wrong call among the
		// dozen it makes on two tables (a lossy hop that happened to lose clearly less than
		// the end, about 1 % of runs at these counts) moves where a direction's loss starts. So
		// the reading may take another pair of runs, up to 3: all three wrong is one in a
		// million; a real error is wrong every time.
		for attempt := 1; ; attempt++ {
			// Forward mtr blames hop 3, where the paths part, though router 3 forwards
			// everything: hop 3's answers are the first to come back through rx.
			hs := mtr(t, l, l.Target4, "-n", "-c", "100")
			wantPath(t, hs, strs(l.Hops4...))
			wantLoss(t, hs, 1, 0, 0)
			wantLoss(t, hs, 2, 0, 0)
			for k := 3; k <= len(hs); k++ {
				wantLoss(t, hs, k, 10, 55)
			}
			t.Logf("forward mtr: %+v", hs)
			// mtr run by hand on the far end towards the client shows where it is: rx, on the
			// return path, and everything after it.
			rs := mtrIn(t, l, l.Dest(), l.Public4, "-n", "-c", "100")
			wantPath(t, rs, strs(l.Reverse4...))
			for k := 1; k <= 3; k++ {
				wantLoss(t, rs, k, 0, 0)
			}
			for k := 4; k <= len(rs); k++ {
				wantLoss(t, rs, k, 10, 55)
			}
			t.Logf("reverse mtr: %+v", rs)
			if t.Failed() {
				return
			}
			// Read together, the two tables put the loss where it is: at rx, on the return
			// path.
			j := analyze.Directions(hubsInput(t, hs, l.Target4, l.Client4), hubsInput(t, rs, l.Public4, l.Target4))
			t.Logf("analysis of both directions:\n%s", strings.Join(j.Lines(), "\n"))
			if j.Kind == analyze.ReturnFault && j.Direction == analyze.Return && j.Router == l.Return4 && j.Settled {
				return
			}
			if attempt == 3 {
				t.Fatalf("both directions read as %s %s at %v (settled %v) in 3 runs, want the return-only router %v on the return path",
					j.Kind, j.Direction, j.Router, j.Settled, l.Return4)
			}
		}
	})
}

// TestLossFromBothEnds traces a symmetric path with real loss at router 3 (it drops what it
// receives from router 2) from both ends: the forward loss starts at hop 3, the reverse loss at
// router 2, whose answers to the destination cross router 3, and read together the two tables
// put it on the link between them. Retried as the asymmetric case's reading is.
func TestLossFromBothEnds(t *testing.T) {
	t.Parallel()
	l := New(t, Spec{Routers: 5, LossFrom: 3, LossPercent: 30})
	for attempt := 1; ; attempt++ {
		hs := mtr(t, l, l.Target4, "-n", "-c", "100")
		rs := mtrIn(t, l, l.Dest(), l.Public4, "-n", "-c", "100")
		wantPath(t, hs, strs(l.Hops4...))
		wantPath(t, rs, strs(l.Reverse4...))
		j := analyze.Directions(hubsInput(t, hs, l.Target4, l.Client4), hubsInput(t, rs, l.Public4, l.Target4))
		t.Logf("forward %+v\nreverse %+v\n%s", hs, rs, strings.Join(j.Lines(), "\n"))
		if j.Kind == analyze.LinkFault && j.Router == l.Hops4[2] && j.Settled && slices.Equal(j.ReverseHops, []int{4, 5, 6}) {
			return
		}
		if attempt == 3 {
			t.Fatalf("both directions read as %s at %v, reverse hops %v (settled %v) in 3 runs, want the link from %v to %v",
				j.Kind, j.Router, j.ReverseHops, j.Settled, l.Reverse4[3], l.Hops4[2])
		}
	}
}

// hubsInput is the analysis's input from mtr's --json hops, as a saved report's would be: mtr
// prints Loss% to 0.1 %, so under 1000 probes the lost count is exact.
func hubsInput(t *testing.T, hs []hub, target, local netip.Addr) analyze.Input {
	t.Helper()
	snap := stats.Snapshot{First: 1, Target: target}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for i, h := range hs {
		s := stats.Summary{TTL: i + 1, Sent: h.Snt, Recv: h.Snt - int(math.Round(h.Loss*float64(h.Snt)/100)),
			Avg: h.Avg, Best: ms(h.Best), Wrst: ms(h.Wrst), StDev: h.StDev}
		if a, err := netip.ParseAddr(h.Host); err == nil && s.Recv > 0 {
			s.Addrs = []stats.Addr{{IP: a, Count: s.Recv}}
		}
		snap.Hops = append(snap.Hops, stats.FromSummary(s))
	}
	return analyze.Input{Snapshot: snap, Local: local}
}

// udpSource sends one datagram from the client to target's port in the destination namespace
// and returns the source address the destination saw.
func udpSource(t *testing.T, l *Lab, target netip.Addr) netip.Addr {
	t.Helper()
	var ln net.PacketConn
	if err := l.RunIn(l.Dest(), func() (err error) {
		ln, err = net.ListenPacket("udp", net.JoinHostPort(target.String(), "0"))
		return err
	}); err != nil {
		t.Fatalf("listen in the destination: %v", err)
	}
	defer ln.Close()
	port := ln.LocalAddr().(*net.UDPAddr).Port
	var c net.Conn
	if err := l.Run(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(context.Background(), "udp", net.JoinHostPort(target.String(), strconv.Itoa(port)))
		return err
	}); err != nil {
		t.Fatalf("dial from the client: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("who am I")); err != nil {
		t.Fatal(err)
	}
	if err := ln.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_, from, err := ln.ReadFrom(buf)
	if err != nil {
		t.Fatalf("the destination got nothing: %v", err)
	}
	return from.(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// tcpSource connects from the client to a listener in the destination namespace and returns
// the remote address the destination's accept saw, as a responder's HTTP server sees its caller.
func tcpSource(t *testing.T, l *Lab, target netip.Addr) netip.Addr {
	t.Helper()
	var ln net.Listener
	if err := l.RunIn(l.Dest(), func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(target.String(), "0"))
		return err
	}); err != nil {
		t.Fatalf("listen in the destination: %v", err)
	}
	defer ln.Close()
	accepted := make(chan netip.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- netip.Addr{}
			return
		}
		c.Close()
		accepted <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	}()
	var c net.Conn
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Run(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
		return err
	}); err != nil {
		t.Fatalf("connect from the client: %v", err)
	}
	c.Close()
	return <-accepted
}

func TestNAT(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		spec Spec
	}{
		{"masquerade at router 1", Spec{Routers: 4, NAT: 1}},
		{"masquerade at router 2", Spec{Routers: 4, NAT: 2}},
		{"masquerade at router 1, return through rx", Spec{Routers: 5, NAT: 1, ReturnVia: 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := New(t, tt.spec)
			if l.Public4 == l.Client4 || l.Public6 == l.Client6 {
				t.Fatalf("public %v %v = client %v %v", l.Public4, l.Public6, l.Client4, l.Client6)
			}
			bothFamilies(t, l, func(t *testing.T, target netip.Addr, hops []netip.Addr) {
				public, reverse := l.Public4, l.Reverse4
				if target.Is6() {
					public, reverse = l.Public6, l.Reverse6
				}
				if got := udpSource(t, l, target); got != public {
					t.Errorf("the destination sees the client's UDP from %v, want the NAT's %v", got, public)
				}
				if got := tcpSource(t, l, target); got != public {
					t.Errorf("the destination accepts the client's TCP from %v, want the NAT's %v", got, public)
				}
				// The routers' answers to translated probes are translated back: a trace from
				// the client shows the chain as ever.
				wantTrace(t, l, l.Client, target, hops)
				// A trace back from the destination ends at the NAT.
				wantTrace(t, l, l.Dest(), public, reverse)
			})
		})
	}
}
