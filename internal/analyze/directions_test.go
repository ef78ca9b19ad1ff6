package analyze

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/stats"
)

// The hand-built tables below are those of the network labs (internal/netlab): router k
// answers the client from 198.18.(k-1).2 and the destination from 198.18.k.1, the destination
// is 198.18.5.2 behind 5 routers, the client 198.18.0.1, and the return-only router rx of an
// asymmetric lab answers the destination from 198.19.2.2. Counts are those of real mtr -c 100
// runs in those labs.

const (
	client   = "198.18.0.1"
	labDest  = "198.18.5.2"
	rx       = "198.19.2.2"
	natAddr  = "198.18.1.1"
	lossRate = 30
)

func fwdIn(hops ...hop) Input {
	return Input{Snapshot: path(labDest, hops...), Local: netip.MustParseAddr(client)}
}

func revIn(target string, hops ...hop) Input {
	return Input{Snapshot: path(target, hops...), Local: netip.MustParseAddr(labDest)}
}

// asymForward is the forward table of the asymmetric lab whose rx drops 30 %: the answers of
// hop 3 on come back through rx.
func asymForward(n int) Input {
	s := []float64{0.1}
	return fwdIn(h("198.18.0.2", n, 0, s...), h("198.18.1.2", n, 0, s...), h("198.18.2.2", n, 34*n/100, s...),
		h("198.18.3.2", n, 33*n/100, s...), h("198.18.4.2", n, 33*n/100, s...), h(labDest, n, 24*n/100, s...))
}

// asymReverse is the same lab traced from the destination: routers 5, 4, 3, then rx, which
// drops, router 1 and the client.
func asymReverse(n int) Input {
	s := []float64{0.1}
	return revIn(client, h("198.18.5.1", n, 0, s...), h("198.18.4.1", n, 0, s...), h("198.18.3.1", n, 0, s...),
		h(rx, n, 39*n/100, s...), h("198.18.1.1", n, 24*n/100, s...), h(client, n, 32*n/100, s...))
}

func TestDirections(t *testing.T) {
	s := []float64{0.1}
	// The symmetric lab with real loss at router 3 (Spec.LossFrom 3): it drops what it receives
	// from router 2, so the forward loss starts at hop 3 and the reverse loss at router 2, whose
	// answers to the destination cross router 3.
	symFwd := fwdIn(h("198.18.0.2", 100, 0, s...), h("198.18.1.2", 100, 0, s...), h("198.18.2.2", 100, 30, s...),
		h("198.18.3.2", 100, 28, s...), h("198.18.4.2", 100, 31, s...), h(labDest, 100, 29, s...))
	symRev := revIn(client, h("198.18.5.1", 100, 0, s...), h("198.18.4.1", 100, 0, s...), h("198.18.3.1", 100, 0, s...),
		h("198.18.2.1", 100, 30, s...), h("198.18.1.1", 100, 29, s...), h(client, 100, 31, s...))
	cleanFwd := fwdIn(h("198.18.0.2", 100, 0, s...), h("198.18.1.2", 100, 0, s...), h("198.18.2.2", 100, 0, s...),
		h("198.18.3.2", 100, 0, s...), h("198.18.4.2", 100, 0, s...), h(labDest, 100, 0, s...))
	cleanRev := revIn(client, h("198.18.5.1", 100, 0, s...), h("198.18.4.1", 100, 0, s...), h("198.18.3.1", 100, 0, s...),
		h("198.18.2.1", 100, 0, s...), h("198.18.1.1", 100, 0, s...), h(client, 100, 0, s...))
	tests := []struct {
		name       string
		fwd, rev   Input
		kind       JointKind
		dir        Direction
		router     string
		fwdHops    []int
		revHops    []int
		settled    bool
		conclusion []string // substrings of the conclusion
	}{
		{
			// The case: forward mtr alone blames hop 3, where the paths part; the reverse
			// table's loss starts at rx, which no forward hop shows, after router 3 (198.18.3.1)
			// forwarded to it without loss.
			name: "loss at a return-only router", fwd: asymForward(100), rev: asymReverse(100),
			kind: ReturnFault, dir: Return, router: rx, fwdHops: []int{3, 4, 5, 6}, revHops: []int{4, 5, 6}, settled: true,
			conclusion: []string{"on the return path, at 198.19.2.2 (reverse hop 4)", "forward hops 3-6 lose too"},
		},
		{
			name: "the same at -c 10 is not settled", fwd: asymForward(10), rev: asymReverse(10),
			kind: ReturnFault, dir: Return, router: rx, fwdHops: []int{3, 4, 5, 6}, revHops: []int{4, 5, 6},
			conclusion: []string{"Not settled yet: likely the loss is on the return path, at 198.19.2.2"},
		},
		{
			// Behind a NAT at router 1 the far end traces to router 1's destination-side address.
			name: "loss at a return-only router, behind a NAT", fwd: asymForward(100),
			rev: revIn(natAddr, h("198.18.5.1", 100, 0, s...), h("198.18.4.1", 100, 0, s...), h("198.18.3.1", 100, 0, s...),
				h(rx, 100, 31, s...), h(natAddr, 100, 30, s...)),
			kind: ReturnFault, dir: Return, router: rx, fwdHops: []int{3, 4, 5, 6}, revHops: []int{4, 5}, settled: true,
			conclusion: []string{"at 198.19.2.2 (reverse hop 4)"},
		},
		{
			// 198.18.2.1, where the reverse loss starts, is the other end of hop 3's link.
			name: "symmetric path: both directions point at one link", fwd: symFwd, rev: symRev,
			kind: LinkFault, router: "198.18.2.2", fwdHops: []int{3, 4, 5, 6}, revHops: []int{4, 5, 6}, settled: true,
			conclusion: []string{"link between hop 3 (198.18.2.2) and 198.18.2.1 (reverse hop 4)"},
		},
		{
			// Router 2 (198.18.1.2) is on the forward path only, and drops what it forwards:
			// router 1's answers to the far end (198.18.1.1, the other end of hop 2's link) go
			// back through it; the far end's return does not.
			name: "loss at a forward-only router",
			fwd: Input{Snapshot: path("198.18.3.2", h("198.18.0.2", 100, 0, s...), h("198.18.1.2", 100, 30, s...),
				h("198.19.7.2", 100, 30, s...), h("198.18.3.2", 100, 30, s...)), Local: netip.MustParseAddr(client)},
			rev: revIn(client, h("198.18.3.1", 100, 0, s...), h("198.19.6.1", 100, 0, s...),
				h("198.18.1.1", 100, 30, s...), h(client, 100, 30, s...)),
			kind: OutboundFault, dir: Outbound, router: "198.18.1.2", fwdHops: []int{2, 3, 4}, revHops: []int{3, 4}, settled: true,
			conclusion: []string{"on the forward path, at hop 2 (198.18.1.2)", "reverse hops 3-4 lose too"},
		},
		{
			name: "only the forward direction loses", fwd: symFwd, rev: cleanRev,
			kind: OutboundOnly, dir: Outbound, router: "198.18.2.2", fwdHops: []int{3, 4, 5, 6}, settled: true,
			conclusion: []string{"on the way out, from hop 3 (198.18.2.2) on", "loses nothing (0 of 100 at its end)"},
		},
		{
			name: "only the reverse direction loses", fwd: cleanFwd, rev: symRev,
			kind: ReturnOnly, dir: Return, router: "198.18.2.1", revHops: []int{4, 5, 6}, settled: true,
			conclusion: []string{"Only the reverse trace loses, from 198.18.2.1 (reverse hop 4)"},
		},
		{
			// 5 probes at the reverse's end cannot show it is below the forward's 29 %.
			name: "a short clean reverse does not settle forward-only loss", fwd: symFwd,
			rev:  revIn(client, h("198.18.5.1", 5, 0, s...), h(client, 5, 0, s...)),
			kind: OutboundOnly, dir: Outbound, router: "198.18.2.2", fwdHops: []int{3, 4, 5, 6},
			conclusion: []string{"Not settled yet"},
		},
		{
			name: "a reverse trace nothing answered", fwd: symFwd,
			rev:  revIn(client, silent(10), silent(10)),
			kind: Unanswered, settled: true,
			conclusion: []string{"The reverse trace got no answers, so it cannot place the loss"},
		},
		{
			name: "both clean", fwd: cleanFwd, rev: cleanRev, kind: BothClean, settled: true,
			conclusion: []string{"No problem found in either direction."},
		},
		{
			name: "rate limiting only", fwd: fwdIn(h("198.18.0.2", 100, 0, s...), h("198.18.1.2", 100, 40, s...), h(labDest, 100, 0, s...)),
			rev: cleanRev, kind: NoJointLoss, settled: true,
			conclusion: []string{"Neither direction has loss that reaches its end"},
		},
		{
			// The reverse loss starts at router 5 (198.18.5.1, forward hop 5), far from hop 2.
			name: "two places", fwd: fwdIn(h("198.18.0.2", 100, 0, s...), h("198.18.1.2", 100, 30, s...), h("198.18.2.2", 100, 30, s...),
				h("198.18.3.2", 100, 30, s...), h("198.18.4.2", 100, 30, s...), h(labDest, 100, 30, s...)),
			rev: revIn(client, h("198.18.5.1", 100, 30, s...), h("198.18.4.1", 100, 30, s...), h("198.18.3.1", 100, 30, s...),
				h("198.18.2.1", 100, 30, s...), h("198.18.1.1", 100, 30, s...), h(client, 100, 30, s...)),
			kind: Apart, fwdHops: []int{2, 3, 4, 5, 6}, revHops: []int{1, 2, 3, 4, 5, 6}, settled: true,
			conclusion: []string{"not one fault", "forward from hop 2 (198.18.1.2), reverse from 198.18.5.1"},
		},
		{
			name: "starts neither table shows",
			fwd: fwdIn(h("198.18.0.2", 100, 0, s...), h("198.18.1.2", 100, 0, s...), h("198.19.9.2", 100, 30, s...),
				h("198.19.10.2", 100, 30, s...), h(labDest, 100, 30, s...)),
			rev:  revIn(client, h("198.18.5.1", 100, 0, s...), h(rx, 100, 30, s...), h("198.18.1.1", 100, 30, s...), h(client, 100, 30, s...)),
			kind: Unmatched, fwdHops: []int{3, 4, 5}, revHops: []int{2, 3, 4}, settled: true,
			conclusion: []string{"forward from hop 3 (198.19.9.2), reverse from 198.19.2.2 (reverse hop 2)"},
		},
		{
			name: "no reverse trace", fwd: asymForward(100), rev: Input{}, kind: NoReverse, settled: true,
			conclusion: []string{"No reverse trace to compare with; the forward direction alone: Problem: Real loss starts at hop 3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := Directions(tt.fwd, tt.rev)
			t.Log("\n" + strings.Join(j.Lines(), "\n"))
			var router netip.Addr
			if tt.router != "" {
				router = netip.MustParseAddr(tt.router)
			}
			if j.Kind != tt.kind || j.Direction != tt.dir || j.Router != router || j.Settled != tt.settled ||
				!slices.Equal(j.ForwardHops, tt.fwdHops) || !slices.Equal(j.ReverseHops, tt.revHops) {
				t.Errorf("got %s %s at %v, forward %v reverse %v, settled %v\nwant %s %s at %v, forward %v reverse %v, settled %v\n%s",
					j.Kind, j.Direction, j.Router, j.ForwardHops, j.ReverseHops, j.Settled,
					tt.kind, tt.dir, router, tt.fwdHops, tt.revHops, tt.settled, strings.Join(j.Lines(), "\n"))
			}
			for _, c := range tt.conclusion {
				if !strings.Contains(j.Conclusion, c) {
					t.Errorf("conclusion %q lacks %q", j.Conclusion, c)
				}
			}
			checkJoint(t, j, tt.fwd, tt.rev)
		})
	}
}

// TestDirectionsLines is the view of the case as printed.
func TestDirectionsLines(t *testing.T) {
	j := Directions(asymForward(100), asymReverse(100))
	want := []string{
		"Both directions: The loss is on the return path, at 198.19.2.2 (reverse hop 4), a router the forward path does not use; forward hops 3-6 lose too only because their answers come back through it.",
		"Why: Forward loss is round-trip loss: the forward table alone would blame hop 3 (198.18.2.2), where the return path parts from the forward one, but the reverse table's loss starts at 198.19.2.2, which no forward hop shows. (Round trips cannot tell 198.19.2.2 dropping on the way back from hop 3 (198.18.2.2) dropping what it receives from it; the reverse table points at the former.)",
		"Do: Contact whoever runs 198.19.2.2 about loss towards 198.18.0.1, with both tables.",
		"Contact: the carrier that runs 198.19.2.2 (whois 198.19.2.2 names it)",
	}
	if got := j.Lines(); !slices.Equal(got, want) {
		t.Errorf("Lines() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each direction's own analysis is there for the views, without the advice to trace the
	// other direction: that has been done.
	if lossRun(j.Forward, false) == nil || lossRun(j.Reverse, false) == nil || j.Forward.Reverse != "" || j.Reverse.Reverse != "" {
		t.Errorf("forward %q / %q, reverse %q / %q", j.Forward.Conclusion, j.Forward.Reverse, j.Reverse.Conclusion, j.Reverse.Reverse)
	}
	for _, a := range []Analysis{j.Forward, j.Reverse} {
		for _, f := range a.Findings {
			if strings.Contains(f.Action, "reverse path test") || !strings.HasSuffix(f.Action, ".") {
				t.Errorf("with both directions traced, %v advises %q", f.Kind, f.Action)
			}
		}
	}
	alone := Analyze(asymForward(100))
	if f := lossRun(alone, false); f == nil || !strings.HasSuffix(f.Action, "with this report, and run the reverse path test.") {
		t.Errorf("the forward direction alone does not ask for the reverse path test: %+v", f)
	}
}

// checkJoint holds a reading to its contract: a conclusion, lines without line breaks, a router
// from the table that shows it, hops that are the tables' own.
func checkJoint(t *testing.T, j Joint, fwd, rev Input) {
	t.Helper()
	if j.Conclusion == "" || j.Kind.String() == "unknown" {
		t.Fatalf("empty reading %+v", j)
	}
	for _, l := range j.Lines() {
		if l == "" || strings.ContainsAny(l, "\n\r") {
			t.Fatalf("bad line %q", l)
		}
	}
	if (j.Kind == NoReverse) != (len(rev.Snapshot.Hops) == 0) {
		t.Fatalf("%s with %d reverse hops", j.Kind, len(rev.Snapshot.Hops))
	}
	in := fwd
	if j.Direction == Return {
		in = rev
	}
	if j.Router.IsValid() && !slices.ContainsFunc(in.Snapshot.Hops, func(h stats.Hop) bool { return hasAddr(&h, j.Router) }) {
		t.Fatalf("%s at %v, which the %s table does not show", j.Kind, j.Router, j.Direction)
	}
	for _, c := range []struct {
		ttls []int
		in   Input
	}{{j.ForwardHops, fwd}, {j.ReverseHops, rev}} {
		for _, ttl := range c.ttls {
			if hopAt(c.in, ttl) == nil {
				t.Fatalf("hop %d not in its table (%v)", ttl, c.ttls)
			}
		}
	}
}

// labAddr is the address of one end of lab link i (the right end is the router or destination
// further from the client), in either family.
func labAddr(i int, right, v6 bool) string {
	end := 1
	if right {
		end = 2
	}
	if v6 {
		return fmt.Sprintf("2001:db8:%x::%d", i, end)
	}
	return fmt.Sprintf("198.18.%d.%d", i, end)
}

// model builds the two tables of a lab of n routers in which one router drops a share p of
// what it receives from one side, with n·p lost of every hop's count exactly. returnVia > 0
// adds the asymmetric lab's return-only router from router returnVia on, and the fault is its;
// otherwise router at drops what it receives from the client's side.
func model(n, at, returnVia, count int, p float64, v6 bool) (fwd, rev Input, fault string) {
	lost := int(p * float64(count))
	s := []float64{0.1}
	var fh, rh []hop
	for k := 1; k <= n+1; k++ {
		l := 0
		if (returnVia > 0 && k >= returnVia) || (returnVia == 0 && k >= at) {
			l = lost
		}
		fh = append(fh, h(labAddr(k-1, true, v6), count, l, s...))
	}
	rxAddr := "198.19.2.2"
	if v6 {
		rxAddr = "2001:db8:1002::2"
	}
	// From the destination: router k answers from the left end of link k. In the symmetric
	// lab, routers before at (and the client) answer through router at's lossy side.
	for k := n; k >= 0; k-- {
		if returnVia > 0 && k < returnVia && k > 1 {
			continue
		}
		l := 0
		if returnVia == 0 && k < at {
			l = lost
		}
		if returnVia > 0 && k == 1 {
			rh = append(rh, h(rxAddr, count, lost, s...))
		}
		if returnVia > 0 && k < returnVia {
			l = lost
		}
		rh = append(rh, h(labAddr(k, false, v6), count, l, s...))
	}
	destA, clientA := labAddr(n, true, v6), labAddr(0, false, v6)
	fwd = Input{Snapshot: path(destA, fh...), Local: netip.MustParseAddr(clientA)}
	rev = Input{Snapshot: path(clientA, rh...), Local: netip.MustParseAddr(destA)}
	if returnVia > 0 {
		return fwd, rev, rxAddr
	}
	return fwd, rev, labAddr(at-1, true, v6)
}

// TestDirectionsModel runs the readings over random labs of both shapes, as the lab builds them,
// with enough probes to settle: a return-only router's loss is always put at it, on the return
// path, and a chain router's on its link, from either end.
func TestDirectionsModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 400 {
		n := 2 + r.IntN(10)
		count := 200 + r.IntN(800)
		p := 0.1 + 0.4*r.Float64()
		v6 := r.IntN(2) == 0
		if r.IntN(2) == 0 {
			k := 2 + r.IntN(n-1)
			fwd, rev, fault := model(n, 0, k, count, p, v6)
			j := Directions(fwd, rev)
			if j.Kind != ReturnFault || j.Router != netip.MustParseAddr(fault) || !j.Settled || j.ForwardHops[0] != k {
				t.Fatalf("%d routers, return via %d, %d probes at %.2f: %s at %v from forward hop %v, settled %v\n%s",
					n, k, count, p, j.Kind, j.Router, j.ForwardHops, j.Settled, strings.Join(j.Lines(), "\n"))
			}
			checkJoint(t, j, fwd, rev)
			continue
		}
		at := 1 + r.IntN(n)
		fwd, rev, fault := model(n, at, 0, count, p, v6)
		j := Directions(fwd, rev)
		if j.Kind != LinkFault || j.Router != netip.MustParseAddr(fault) || !j.Settled || j.ForwardHops[0] != at {
			t.Fatalf("%d routers, loss at router %d, %d probes at %.2f: %s at %v from forward hop %v, settled %v\n%s",
				n, at, count, p, j.Kind, j.Router, j.ForwardHops, j.Settled, strings.Join(j.Lines(), "\n"))
		}
		checkJoint(t, j, fwd, rev)
		// The far end reading the same two tables the other way round sees the same link.
		if back := Directions(rev, fwd); back.Kind != LinkFault {
			t.Fatalf("swapped: %s\n%s", back.Kind, strings.Join(back.Lines(), "\n"))
		}
	}
}

// TestForwardPos places reverse hops on the forward path: by the same address first, then by
// the other end of a point-to-point link (the router before the forward hop that answers from
// it), this host by its address.
func TestForwardPos(t *testing.T) {
	s := []float64{0.1}
	fwd := Input{Snapshot: path(labDest, h("198.18.0.2", 10, 0, s...), h("198.19.20.2", 10, 0, s...),
		h("198.18.2.2", 10, 0, s...), h("198.19.20.1", 10, 0, s...), h(labDest, 10, 0, s...)),
		Local: netip.MustParseAddr(client)}
	tests := []struct {
		addr string
		want int
	}{
		{"198.18.5.1", 4},  // the other end of the destination's link: hop 4's router
		{"198.18.2.1", 2},  // the other end of hop 3's link
		{"198.19.20.1", 4}, // hop 4 itself, though hop 2 answers from the other end of its link
		{"198.18.0.1", 0},  // this host
		{"198.18.0.5", -1}, // another /30
		{"198.19.2.2", -1}, // a router the forward path does not show
		{"2001:db8::2", -1},
	}
	for _, tt := range tests {
		rev := Input{Snapshot: path(client, h(tt.addr, 10, 0, s...))}
		r := &reader{fwd: fwd, rev: rev}
		if got := r.forwardPos(1); got != tt.want {
			t.Errorf("forwardPos(%s) = %d, want %d", tt.addr, got, tt.want)
		}
	}
}
