package server

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
)

// fixed is a source whose statistics do not change: a tracer stopped at one moment.
type fixed struct{ path *stats.Path }

func (f fixed) Snapshot() stats.Snapshot { return f.path.Snapshot() }

var (
	hop1   = netip.MustParseAddr("198.18.0.1")
	hop2a  = netip.MustParseAddr("198.18.1.2")
	hop2b  = netip.MustParseAddr("198.18.9.2")
	dest   = netip.MustParseAddr("198.18.2.2")
	rtt1   = time.Millisecond
	rtt2   = 2 * time.Millisecond
	rttDst = 3 * time.Millisecond
)

// loadBalanced is ten rounds over three hops, hop 2 answering from two addresses in turn (a
// load-balanced hop, and one path change), then an eleventh round's first probe in flight.
func loadBalanced() (*stats.Path, []trace.Event) {
	p := stats.NewPath(dest, 1, 30)
	var evs []trace.Event
	seq := uint16(0)
	reply := func(ttl int, from netip.Addr, rtt time.Duration) {
		seq++
		p.Sent(ttl, seq)
		p.Reply(ttl, seq, from, rtt, "")
		evs = append(evs, trace.Event{Kind: trace.EventSent, TTL: ttl, Seq: seq},
			trace.Event{Kind: trace.EventReply, TTL: ttl, Seq: seq, From: from, RTT: rtt})
	}
	for r := range 10 {
		reply(1, hop1, rtt1)
		if r%2 == 0 {
			reply(2, hop2a, rtt2)
		} else {
			reply(2, hop2b, rtt2)
		}
		reply(3, dest, rttDst)
	}
	seq++
	p.Sent(1, seq)
	return p, evs
}

// TestExporterText is the /metrics text of a hand-built path, checked by hand: hop 1 has sent 11
// and answered 10, and its loss ratio leaves out the eleventh probe, still in flight; hop 2's
// two addresses are listed, newest first being 198.18.9.2 (round 10 answered from it), with one
// path change and a load-balanced finding at TTL 2 (confidence 1: read off the path's shape);
// the destination answers at TTL 3 without loss. The histograms hold ten answers each, in the
// buckets of 1 ms, 2.5 ms and 5 ms (sums of ten 0.001, 0.002 and 0.003 in floating point).
func TestExporterText(t *testing.T) {
	p, evs := loadBalanced()
	w := newWatch("lab.example", dest, probe.ICMPProbes, fixed{p}, nil)
	for _, ev := range evs {
		w.observe(ev)
	}
	c := &collector{lossWindow: 100, watches: []*watch{w}}
	want, err := os.ReadFile("testdata/load-balanced.prom")
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(string(want))); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c, "mtrgo_hop_address_info"); n != 4 {
		t.Errorf("%d address series, want 4 (one each for hops 1 and 3, two for hop 2)", n)
	}
}

// TestAddressesPerHopAreCapped: a hop answering from ever new addresses (a path that keeps
// changing, or balancing over many routers) adds at most maxAddrsPerHop series: those that
// answered most, so the series stay the same from one scrape to the next.
func TestAddressesPerHopAreCapped(t *testing.T) {
	p := stats.NewPath(dest, 1, 30)
	seq := uint16(0)
	answer := func(last byte, times int) {
		for range times {
			seq++
			p.Sent(1, seq)
			p.Reply(1, seq, netip.AddrFrom4([4]byte{198, 18, 0, last}), time.Millisecond, "")
		}
	}
	// Four steady routers, then sixteen seen once each, newest last.
	for _, last := range []byte{1, 2, 3, 4} {
		answer(last, 3)
	}
	for last := byte(5); last <= 20; last++ {
		answer(last, 1)
	}
	c := &collector{lossWindow: 100, watches: []*watch{newWatch("t", dest, probe.ICMPProbes, fixed{p}, nil)}}
	got, err := testutil.CollectAndFormat(c, expfmt.TypeTextPlain, "mtrgo_hop_address_info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4"} {
		if !strings.Contains(string(got), `address="`+want+`"`) {
			t.Errorf("steady address %s missing:\n%s", want, got)
		}
	}
	if n := strings.Count(string(got), "mtrgo_hop_address_info{"); n != maxAddrsPerHop {
		t.Errorf("%d address series, want %d:\n%s", n, maxAddrsPerHop, got)
	}
	if n := testutil.CollectAndCount(c, "mtrgo_path_changes_total"); n != 1 {
		t.Errorf("%d path change series, want 1", n)
	}
}

func TestRecentLoss(t *testing.T) {
	// Each string is a hop's probes, oldest first: a answered, l lost (no answer, a newer
	// probe went out), f a send the kernel refused, p the newest probe still in flight.
	tests := []struct {
		name     string
		probes   string
		window   int
		ratio    float64
		settled  int
		lateLast bool // the last lost probe is answered late
	}{
		{"no probe", "", 100, 0, 0, false},
		{"only one in flight", "p", 100, 0, 0, false},
		{"in flight is not lost yet", "aalp", 100, 1.0 / 3, 3, false},
		{"window keeps the newest", "llllaaaa", 4, 0, 4, false},
		{"window reaching back into the loss", "llllaaaa", 6, 2.0 / 6, 6, false},
		{"refused send is lost", "aaf", 100, 1.0 / 3, 3, false},
		{"late answer is not lost", "alaa", 100, 0, 4, true},
		{"all lost", "llll", 2, 1, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := stats.NewPath(dest, 1, 30)
			lastLost := uint16(0)
			for i, c := range tc.probes {
				seq := uint16(i + 1)
				switch c {
				case 'a':
					p.Sent(1, seq)
					p.Reply(1, seq, hop1, time.Millisecond, "")
				case 'l', 'p':
					p.Sent(1, seq)
					if c == 'l' {
						lastLost = seq
					}
				case 'f':
					p.SendFailed(1, seq, "network is unreachable")
				}
			}
			if tc.lateLast {
				p.Reply(1, lastLost, hop1, 2*time.Second, "")
			}
			h := p.Hop(1)
			ratio, settled := recentLoss(h, tc.window)
			if ratio != tc.ratio || settled != tc.settled {
				t.Errorf("recentLoss = %v over %d, want %v over %d", ratio, settled, tc.ratio, tc.settled)
			}
		})
	}
}

func TestRTTBucketsAreInclusive(t *testing.T) {
	w := newWatch("t", dest, probe.ICMPProbes, fixed{stats.NewPath(dest, 1, 30)}, nil)
	for _, d := range []time.Duration{500 * time.Microsecond, 501 * time.Microsecond, 11 * time.Second} {
		w.observe(trace.Event{Kind: trace.EventReply, TTL: 1, RTT: d})
	}
	w.observe(trace.Event{Kind: trace.EventSent, TTL: 1})
	h := w.histograms()[1]
	if h.n != 3 || h.counts[0] != 1 || h.counts[1] != 1 || h.counts[len(rttBuckets)] != 1 {
		t.Errorf("histogram %+v: want one answer at le=0.0005, one at le=0.001, one above 10 s", h)
	}
}

// TestStalledScrapeDoesNotBlockProbing: a scraper that stops reading half-way through /metrics
// leaves the probing goroutine free to record answers: nothing the answers need is held while
// a metric is handed over.
func TestStalledScrapeDoesNotBlockProbing(t *testing.T) {
	p, evs := loadBalanced()
	w := newWatch("lab.example", dest, probe.ICMPProbes, fixed{p}, nil)
	for _, ev := range evs {
		w.observe(ev)
	}
	c := &collector{lossWindow: 100, watches: []*watch{w}}
	ch := make(chan prometheus.Metric) // nobody reads past the first metric: a stalled client
	go c.Collect(ch)
	<-ch
	done := make(chan struct{})
	go func() {
		w.observe(trace.Event{Kind: trace.EventReply, TTL: 1, RTT: time.Millisecond})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("recording an answer waited for a stalled scrape")
	}
	go func() {
		for range ch { // let Collect finish
		}
	}()
}

// BenchmarkScrape is the cost of one /metrics scrape of 1,000 targets of 10 hops each
// (snapshots, analysis and encoding included).
func BenchmarkScrape(b *testing.B) {
	c := &collector{lossWindow: 100}
	for i := range 1000 {
		p := stats.NewPath(dest, 1, 30)
		seq := uint16(0)
		for range 100 {
			for ttl := 1; ttl <= 10; ttl++ {
				seq++
				p.Sent(ttl, seq)
				from := netip.AddrFrom4([4]byte{198, 18, byte(ttl), 1})
				if ttl == 10 {
					from = dest
				}
				if seq%7 != 0 || ttl < 5 {
					p.Reply(ttl, seq, from, time.Duration(ttl)*time.Millisecond, "")
				}
			}
		}
		w := newWatch(fmt.Sprintf("target%d", i), dest, probe.ICMPProbes, fixed{p}, nil)
		for ttl := 1; ttl <= 10; ttl++ {
			w.observe(trace.Event{Kind: trace.EventReply, TTL: ttl, RTT: time.Millisecond})
		}
		c.watches = append(c.watches, w)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	b.ResetTimer()
	for b.Loop() {
		if _, err := testutil.GatherAndCount(reg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWindowHandComputed: answers of 1, 2, 3 and 4 ms, then a lost probe, then one in flight.
func TestWindowHandComputed(t *testing.T) {
	p := stats.NewPath(dest, 1, 30)
	for i, ms := range []int{1, 2, 3, 4} {
		p.Sent(1, uint16(i))
		p.Reply(1, uint16(i), hop1, time.Duration(ms)*time.Millisecond, "")
	}
	p.Sent(1, 10) // lost: superseded by the next
	p.Sent(1, 11) // in flight
	h := p.Hop(1)
	w := window(h, 100)
	if w.Sent != 5 || w.Recv != 4 || w.Best != time.Millisecond || w.Worst != 4*time.Millisecond ||
		w.Last != 4*time.Millisecond || w.Avg() != 2.5 || math.Abs(w.StDev()-math.Sqrt(5.0/3)) > 1e-12 || w.Loss() != 20 {
		t.Errorf("window of 100: Sent %d Recv %d Best %v Wrst %v Last %v Avg %v StDev %v Loss %v; want 5 4 1ms 4ms 4ms 2.5 1.291 20",
			w.Sent, w.Recv, w.Best, w.Worst, w.Last, w.Avg(), w.StDev(), w.Loss())
	}
	w = window(h, 2) // the lost probe and the 4 ms answer
	if w.Sent != 2 || w.Recv != 1 || w.Avg() != 4 || w.StDev() != 0 {
		t.Errorf("window of 2: Sent %d Recv %d Avg %v StDev %v; want 2 1 4 0", w.Sent, w.Recv, w.Avg(), w.StDev())
	}
}

// TestAnalysisFollowsTheWindow: real loss from hop 2 that ended 100 rounds ago is no finding
// any more, though the whole run still carries it.
func TestAnalysisFollowsTheWindow(t *testing.T) {
	p := stats.NewPath(dest, 1, 30)
	seq := uint16(0)
	for r := range 200 {
		for ttl, from := range []netip.Addr{hop1, hop2a, dest} {
			seq++
			p.Sent(ttl+1, seq)
			if r >= 100 || ttl == 0 || r%2 == 0 { // rounds 0-99: half lost from hop 2 on
				p.Reply(ttl+1, seq, from, time.Duration(ttl+1)*time.Millisecond, "")
			}
		}
	}
	snap := p.Snapshot()
	if a := analyze.Analyze(analyze.Input{Snapshot: snap}); len(a.Findings) == 0 {
		t.Fatal("the whole run shows no finding: the test path is wrong")
	}
	c := &collector{lossWindow: 100, watches: []*watch{newWatch("t", dest, probe.ICMPProbes, fixed{p}, nil)}}
	if n := testutil.CollectAndCount(c, "mtrgo_analysis_finding"); n != 0 {
		got, _ := testutil.CollectAndFormat(c, expfmt.TypeTextPlain, "mtrgo_analysis_finding")
		t.Errorf("%d findings over a clean window:\n%s", n, got)
	}
	if v := testutil.CollectAndCount(c, "mtrgo_loss_ratio"); v != 3 {
		t.Errorf("%d loss series, want 3", v)
	}
}

// TestDroppedAnswersAreExported: what the shared sockets lost inside the process is on /metrics,
// by reason, so loss of mtr-go's own making can be told from the path's; a /probe's registry,
// which has no such counts, shows none.
func TestDroppedAnswersAreExported(t *testing.T) {
	p, _ := loadBalanced()
	w := newWatch("lab.example", dest, probe.ICMPProbes, fixed{p}, nil)
	c := &collector{lossWindow: 100, watches: []*watch{w}, dropped: func() probe.MuxStats {
		return probe.MuxStats{Demuxed: 100, Foreign: 7, QueueFull: 3, KernelDrops: 5}
	}}
	want := `# HELP mtrgo_answers_dropped_total ` + droppedHelp + `
# TYPE mtrgo_answers_dropped_total counter
mtrgo_answers_dropped_total{reason="queue"} 3
mtrgo_answers_dropped_total{reason="receive_buffer"} 5
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "mtrgo_answers_dropped_total"); err != nil {
		t.Error(err)
	}
	c.dropped = nil
	if n := testutil.CollectAndCount(c, "mtrgo_answers_dropped_total"); n != 0 {
		t.Errorf("%d dropped-answer series without a Mux's counts", n)
	}
}
