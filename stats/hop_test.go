package stats

import (
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

var (
	r1  = netip.MustParseAddr("198.18.0.2")
	r1b = netip.MustParseAddr("198.18.100.2")
	dst = netip.MustParseAddr("198.18.5.2")
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// feed sends one probe per rtt and answers it; a negative rtt means no answer.
func feed(p *Path, ttl int, rtts ...float64) {
	for i, r := range rtts {
		seq := uint16(1000 + i)
		p.Sent(ttl, seq)
		if r >= 0 {
			p.Reply(ttl, seq, r1, ms(r), "")
		}
	}
}

func TestHopStatisticsHandComputed(t *testing.T) {
	// RTTs 10, 20, 30, 40 ms.
	// mean 25; sample variance ((15²+5²+5²+15²)/3) = 500/3; StDev 12.90994...
	// Gmean (10·20·30·40)^(1/4) = 240000^(1/4) = 22.1336...
	// Jitter sequence 0,10,10,10: Jttr 10, Javg 7.5, Jmax 10,
	// Jint: 0 → 0 → 10/16 = 0.625 → 0.625+(10-0.625)/16 = 1.2109375 → 1.2109375+(10-1.2109375)/16.
	p := NewPath(dst, 1, 30)
	feed(p, 1, 10, 20, 30, 40)
	h := p.Hop(1)
	jint := 1.2109375 + (10-1.2109375)/16
	checks := []struct {
		name      string
		got, want float64
	}{
		{"Snt", float64(h.Sent), 4},
		{"Rcv", float64(h.Recv), 4},
		{"Loss%", h.Loss(), 0},
		{"Drop", float64(h.Drop()), 0},
		{"Last", Ms(h.Last), 40},
		{"Best", Ms(h.Best), 10},
		{"Wrst", Ms(h.Worst), 40},
		{"Avg", h.Avg(), 25},
		{"StDev", h.StDev(), math.Sqrt(500.0 / 3)},
		{"Gmean", h.Gmean(), math.Pow(240000, 0.25)},
		{"Jttr", h.Jitter(), 10},
		{"Javg", h.JitterMean(), 7.5},
		{"Jmax", h.JitterMax(), 10},
		{"Jint", h.JitterInt(), jint},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLossCountsOnlySupersededProbes(t *testing.T) {
	tests := []struct {
		name      string
		rtts      []float64 // -1: unanswered
		finish    bool
		wantLoss  float64
		wantDrop  int
		inFlight  bool
		wantSent  int
		wantRecvd int
	}{
		{"newest unanswered is not lost yet", []float64{1, 1, -1}, false, 0, 0, true, 3, 2},
		{"superseded probe is lost", []float64{1, -1, 1}, false, 100.0 / 3, 1, false, 3, 2},
		{"finish counts the in-flight probe", []float64{1, 1, -1}, true, 100.0 / 3, 1, false, 3, 2},
		{"all lost", []float64{-1, -1, -1, -1}, true, 100, 4, false, 4, 0},
		{"nothing settled yet", []float64{-1}, false, 0, 0, true, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPath(dst, 1, 30)
			feed(p, 1, tc.rtts...)
			if tc.finish {
				p.Finish()
			}
			h := p.Hop(1)
			if !near(h.Loss(), tc.wantLoss) || h.Drop() != tc.wantDrop || h.InFlight != tc.inFlight ||
				h.Sent != tc.wantSent || h.Recv != tc.wantRecvd {
				t.Errorf("loss %v drop %d inflight %v snt %d rcv %d; want %v %d %v %d %d", h.Loss(), h.Drop(),
					h.InFlight, h.Sent, h.Recv, tc.wantLoss, tc.wantDrop, tc.inFlight, tc.wantSent, tc.wantRecvd)
			}
		})
	}
}

func TestLateAnswerIsCounted(t *testing.T) {
	p := NewPath(dst, 1, 30)
	p.Sent(1, 1)
	p.Sent(1, 2) // probe 1 superseded: lost for now
	if got := p.Hop(1).Drop(); got != 1 {
		t.Fatalf("drop before late answer = %d, want 1", got)
	}
	p.Reply(1, 1, r1, ms(5), "") // probe 1 answers late
	h := p.Hop(1)
	if h.Recv != 1 || h.Drop() != 0 || !h.InFlight {
		t.Errorf("after late answer: rcv %d drop %d inflight %v; want 1 0 true", h.Recv, h.Drop(), h.InFlight)
	}
	hist := h.History()
	if len(hist) != 2 || hist[0].Pending || hist[0].RTT != ms(5) || !hist[1].Pending {
		t.Errorf("history = %+v", hist)
	}
}

func TestAddressesLatestFirstWithCounts(t *testing.T) {
	p := NewPath(dst, 1, 30)
	p.Sent(1, 1)
	p.Reply(1, 1, r1, ms(1), "")
	p.Sent(1, 2)
	p.Reply(1, 2, r1b, ms(1), "")
	p.Sent(1, 3)
	p.Reply(1, 3, r1b, ms(1), "")
	h := p.Hop(1)
	want := []Addr{{IP: r1b, Count: 2}, {IP: r1, Count: 1}}
	if !reflect.DeepEqual(h.Addrs, want) {
		t.Errorf("addrs = %v, want %v", h.Addrs, want)
	}
	p.Sent(1, 4)
	p.Reply(1, 4, r1, ms(1), "")
	if h.Addr() != r1 || h.Addrs[0].Count != 2 {
		t.Errorf("latest = %v (%d), want %v (2)", h.Addr(), h.Addrs[0].Count, r1)
	}
}

func TestHistoryKeepsNewest(t *testing.T) {
	p := NewPath(dst, 1, 30)
	for i := range HistoryLen + 5 {
		p.Sent(1, uint16(i))
		p.Reply(1, uint16(i), r1, time.Duration(i), "")
	}
	hist := p.Hop(1).History()
	if len(hist) != HistoryLen || hist[0].Seq != 5 || hist[HistoryLen-1].Seq != HistoryLen+4 {
		t.Errorf("history len %d first %d last %d", len(hist), hist[0].Seq, hist[len(hist)-1].Seq)
	}
}

func TestEndOfPath(t *testing.T) {
	answer := func(p *Path, ttl int, a netip.Addr, errText string) {
		p.Sent(ttl, uint16(ttl))
		p.Reply(ttl, uint16(ttl), a, ms(1), errText)
	}
	hop := func(n int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(10 + n), 2}) }
	tests := []struct {
		name  string
		build func(p *Path)
		want  int
	}{
		{"nothing known: one ??? row", func(p *Path) {}, 1},
		{"destination at 4", func(p *Path) {
			for i := 1; i <= 3; i++ {
				answer(p, i, hop(i), "")
			}
			answer(p, 4, dst, "")
			answer(p, 5, dst, "") // overshoot must not be shown
		}, 4},
		{"silent after 3: one extra row", func(p *Path) {
			for i := 1; i <= 3; i++ {
				answer(p, i, hop(i), "")
			}
		}, 4},
		{"gap is shown", func(p *Path) {
			answer(p, 1, hop(1), "")
			answer(p, 3, hop(3), "")
		}, 4},
		{"unreachable ends the path", func(p *Path) {
			answer(p, 1, hop(1), "")
			answer(p, 2, hop(2), "no route to host")
			answer(p, 3, hop(3), "")
		}, 2},
		{"capped at max", func(p *Path) {
			for i := 1; i <= 10; i++ {
				answer(p, i, hop(i), "")
			}
		}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPath(dst, 1, 10)
			tc.build(p)
			if got := p.End(); got != tc.want {
				t.Errorf("End() = %d, want %d", got, tc.want)
			}
			s := p.Snapshot()
			if len(s.Hops) != tc.want || s.Hops[0].TTL != 1 {
				t.Errorf("snapshot has %d hops", len(s.Hops))
			}
		})
	}
}

func TestSnapshotIsIndependent(t *testing.T) {
	p := NewPath(dst, 2, 30)
	p.Sent(2, 1)
	p.Reply(2, 1, r1, ms(1), "")
	s := p.Snapshot()
	p.Sent(2, 2)
	p.Reply(2, 2, r1b, ms(1), "")
	if s.Hops[0].TTL != 2 || s.Hops[0].Sent != 1 || len(s.Hops[0].Addrs) != 1 || s.Hops[0].Addrs[0].IP != r1 {
		t.Errorf("snapshot changed with the path: %+v", s.Hops[0].Addrs)
	}
	p.Reset()
	if p.Hop(2).Sent != 0 || p.Hop(2).TTL != 2 {
		t.Errorf("reset left %+v", p.Hop(2))
	}
}

func BenchmarkReply(b *testing.B) {
	p := NewPath(dst, 1, 30)
	for i := 0; b.Loop(); i++ {
		seq := uint16(i)
		p.Sent(5, seq)
		p.Reply(5, seq, r1, ms(1.5), "")
	}
}

func TestRecentIsTheNewestFirst(t *testing.T) {
	p := NewPath(dst, 1, 30)
	h := p.Hop(1)
	if _, ok := h.Recent(0); ok {
		t.Fatal("an empty hop has a recent result")
	}
	for i := range HistoryLen + 3 {
		p.Sent(1, uint16(i))
	}
	p.Reply(1, uint16(HistoryLen+1), r1, ms(1), "")
	hist := h.History()
	for i := range 5 {
		got, ok := h.Recent(i)
		if want := hist[len(hist)-1-i]; !ok || got != want {
			t.Errorf("Recent(%d) = %+v, %v; want %+v", i, got, ok, want)
		}
	}
	if r, _ := h.Recent(1); r.Pending || r.Seq != HistoryLen+1 {
		t.Errorf("Recent(1) = %+v, want the answered probe %d", r, HistoryLen+1)
	}
	if _, ok := h.Recent(HistoryLen); ok {
		t.Error("Recent beyond the history")
	}
}

func TestFailedSendIsALostProbeWithItsReason(t *testing.T) {
	p := NewPath(dst, 1, 30)
	h := p.Hop(1)
	p.Sent(1, 1)
	p.Reply(1, 1, dst, time.Millisecond, "")
	p.Sent(1, 2) // in flight when the route goes
	p.SendFailed(1, 3, "network is unreachable")
	// Probe 2 is superseded (lost, as mtr counts it) and probe 3 never left (lost at once): 2 of 3.
	if h.Sent != 3 || h.Recv != 1 || h.Drop() != 2 || h.InFlight || !near(h.Loss(), 200.0/3) {
		t.Fatalf("snt %d rcv %d drop %d inflight %v loss %.2f; want 3 1 2 false 66.67", h.Sent, h.Recv, h.Drop(), h.InFlight, h.Loss())
	}
	if h.SendErr != "network is unreachable" || h.Note() != "cannot send: network is unreachable" {
		t.Errorf("SendErr %q Note %q", h.SendErr, h.Note())
	}
	if r, _ := h.Recent(0); r.Seq != 3 || !r.Pending {
		t.Errorf("newest history entry %+v, want probe 3 unanswered", r)
	}
	// The route is back: the next probe goes out and the reason goes away.
	p.Sent(1, 4)
	p.Reply(1, 4, dst, 2*time.Millisecond, "")
	if h.SendErr != "" || h.Note() != "" || h.Sent != 4 || h.Recv != 2 || h.Drop() != 2 {
		t.Errorf("after recovery: err %q snt %d rcv %d drop %d; want none 4 2 2", h.SendErr, h.Sent, h.Recv, h.Drop())
	}
}

func TestPathChangesCountNewResponders(t *testing.T) {
	r2 := netip.MustParseAddr("198.18.1.2")
	r2b := netip.MustParseAddr("198.18.101.2")
	p := NewPath(dst, 1, 30)
	seq := uint16(0)
	answer := func(ttl int, from netip.Addr) {
		seq++
		p.Sent(ttl, seq)
		p.Reply(ttl, seq, from, ms(1), "")
	}
	// Round 1 finds the path: first answers are no change.
	answer(1, r1)
	answer(2, r2)
	answer(3, dst)
	// Round 2 the same path.
	answer(1, r1)
	answer(2, r2)
	answer(3, dst)
	if got := p.Snapshot().PathChanges; got != 0 {
		t.Fatalf("steady path: %d changes, want 0", got)
	}
	// Hop 2 moves to another router (1), hop 1 flaps back and forth between two (1: only the
	// first sight of r1b is new).
	answer(1, r1b)
	answer(2, r2b)
	answer(1, r1)
	answer(1, r1b)
	answer(2, r2)
	if got := p.Snapshot().PathChanges; got != 2 {
		t.Fatalf("changes = %d, want 2", got)
	}
	p.Reset()
	if got := p.Snapshot().PathChanges; got != 0 {
		t.Fatalf("after reset: %d changes, want 0", got)
	}
}

// TestResultPacks: a hop's history is HistoryLen Results, held by every hop of every target
// (thousands at once): a field order that pads the struct to 24 bytes costs half as much again.
func TestResultPacks(t *testing.T) {
	if n := unsafe.Sizeof(Result{}); n != 16 {
		t.Errorf("Result takes %d bytes, want 16", n)
	}
}
