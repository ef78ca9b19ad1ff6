package analyze

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/stats"
)

// FuzzAnalyze feeds the analysis paths no scheduler would make (answers before sends, errors
// mid-path, addresses flapping, hops never probed) and holds it to its contract: no panic, a
// conclusion, and findings whose numbers are consistent.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{0, 0, 10, 1, 0, 20, 2, 1, 30, 3, 0, 40})
	f.Add([]byte{3, 1, 0, 1, 2, 5, 2, 3, 9, 2, 7, 1, 4, 4, 4})
	f.Fuzz(func(t *testing.T, ops []byte) {
		addrs := []netip.Addr{
			netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("198.18.1.2"),
			netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("198.18.9.2"),
		}
		first := 1
		if len(ops) > 0 {
			first = 1 + int(ops[0]%3)
		}
		p := stats.NewPath(addrs[3], first, 12)
		for i := 0; i+2 < len(ops); i += 3 {
			ttl := 1 + int(ops[i]%12)
			seq := uint16(i)
			rtt := time.Duration(ops[i+2]) * 997 * time.Microsecond
			switch a := ops[i+1]; a % 4 {
			case 0:
				p.Sent(ttl, seq)
				p.Reply(ttl, seq, addrs[a/4%4], rtt, "")
			case 1:
				p.Sent(ttl, seq)
			case 2:
				p.SendFailed(ttl, seq, "network is unreachable")
			case 3:
				p.Sent(ttl, seq)
				p.Reply(ttl, seq, addrs[a/4%4], rtt, "admin prohibited")
			}
		}
		p.Finish()
		a := Analyze(Input{Snapshot: p.Snapshot(), Local: addrs[2]})
		if a.Conclusion == "" {
			t.Fatal("no conclusion")
		}
		if len(a.Findings) == 0 && a.Conclusion != "No problem found on this path." {
			t.Fatalf("no findings but %q", a.Conclusion)
		}
		for _, f := range a.Findings {
			if len(f.Hops) == 0 || len(f.Evidence) != len(f.Hops) || f.Summary == "" || f.Action == "" {
				t.Fatalf("incomplete finding %+v", f)
			}
			if f.Confidence < 0 || f.Confidence > 1 || f.Settled != (f.Confidence >= 0.95) || f.MoreProbes < 0 {
				t.Fatalf("inconsistent finding %+v", f)
			}
		}
	})
}

// fuzzAddrs are the addresses FuzzDirections draws hops from: two ends of lab links (which
// the reading takes as one router's two sides), a return-only router, a private address, and an
// IPv6 pair.
var fuzzAddrs = []netip.Addr{
	netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2"),
	netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.2"),
	netip.MustParseAddr("198.19.2.2"), netip.MustParseAddr("10.0.0.1"),
	netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"),
}

// fuzzPath builds a snapshot towards target from ops, three bytes a probe (TTL, what happens and
// who answers, RTT), as FuzzAnalyze does.
func fuzzPath(target netip.Addr, ops []byte) stats.Snapshot {
	first := 1
	if len(ops) > 0 {
		first = 1 + int(ops[0]%3)
	}
	p := stats.NewPath(target, first, 12)
	for i := 0; i+2 < len(ops); i += 3 {
		ttl := 1 + int(ops[i]%12)
		seq := uint16(i)
		rtt := time.Duration(ops[i+2]) * 997 * time.Microsecond
		a := fuzzAddrs[int(ops[i+1]/4)%len(fuzzAddrs)]
		switch ops[i+1] % 4 {
		case 0:
			p.Sent(ttl, seq)
			p.Reply(ttl, seq, a, rtt, "")
		case 1:
			p.Sent(ttl, seq)
		case 2:
			p.SendFailed(ttl, seq, "network is unreachable")
		case 3:
			p.Sent(ttl, seq)
			p.Reply(ttl, seq, a, rtt, "admin prohibited")
		}
	}
	p.Finish()
	return p.Snapshot()
}

// FuzzDirections reads two arbitrary tables together, the reverse possibly empty (a failed
// reverse trace), and holds the reading to its contract (checkJoint): no panic, a conclusion,
// lines views can print, a router from the table of its direction, hops of the tables.
func FuzzDirections(f *testing.F) {
	f.Add([]byte{0, 4, 10, 1, 12, 20, 1, 13, 20, 2, 8, 30}, []byte{0, 16, 10, 0, 17, 10, 1, 0, 20, 1, 1, 20})
	f.Add([]byte{3, 1, 0, 1, 2, 5, 2, 3, 9}, []byte{})
	f.Fuzz(func(t *testing.T, fwdOps, revOps []byte) {
		local, far := fuzzAddrs[0], fuzzAddrs[3]
		fwd := Input{Snapshot: fuzzPath(far, fwdOps), Local: local}
		rev := Input{Snapshot: fuzzPath(local, revOps), Local: far}
		if len(revOps) == 0 {
			rev = Input{}
		}
		checkJoint(t, Directions(fwd, rev), fwd, rev)
	})
}
