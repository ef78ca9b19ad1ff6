package analyze

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/stats"
)

// hop describes one TTL of a synthetic path: which address answers (alternating over addrs for a
// load-balanced hop, none for a silent one), how many probes went out and how many of them were
// lost, the RTTs of the answers (cycled), and an ICMP error text.
type hop struct {
	addrs []string
	sent  int
	lost  int
	rtts  []float64
	err   string
}

func h(addr string, sent, lost int, rtts ...float64) hop {
	return hop{addrs: []string{addr}, sent: sent, lost: lost, rtts: rtts}
}

func silent(sent int) hop { return hop{sent: sent, lost: sent} }

// path builds a snapshot the way the scheduler does, through stats.Path's exported methods. The
// lost probes are spread evenly over the run, so no hop ends with a probe still in flight.
func path(target string, hops ...hop) stats.Snapshot {
	p := stats.NewPath(netip.MustParseAddr(target), 1, 30)
	seq := uint16(0)
	for i, hp := range hops {
		ttl := i + 1
		answered := 0
		for k := range hp.sent {
			seq++
			p.Sent(ttl, seq)
			// Probe k is lost when the count of losses due by k+1 grows: Bresenham over the run.
			if hp.lost*(k+1)/hp.sent > hp.lost*k/hp.sent || len(hp.addrs) == 0 {
				continue
			}
			rtt := hp.rtts[answered%len(hp.rtts)]
			a := netip.MustParseAddr(hp.addrs[answered%len(hp.addrs)])
			p.Reply(ttl, seq, a, time.Duration(rtt*float64(time.Millisecond)), hp.err)
			answered++
		}
	}
	p.Finish()
	return p.Snapshot()
}

// same is n copies of a hop's RTT list, for building long, steady runs.
func rep(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

type want struct {
	kind    Kind
	hops    []int
	settled bool
}

func (w want) String() string { return fmt.Sprintf("%s %v settled=%v", w.kind, w.hops, w.settled) }

func got(a Analysis) []want {
	var out []want
	for _, f := range a.Findings {
		out = append(out, want{f.Kind, f.Hops, f.Settled})
	}
	return out
}

func sameFindings(a, b []want) bool {
	return slices.EqualFunc(a, b, func(x, y want) bool {
		return x.kind == y.kind && x.settled == y.settled && slices.Equal(x.hops, y.hops)
	})
}

const dest = "198.18.9.2"

func TestRules(t *testing.T) {
	steady := []float64{1.0, 1.1, 1.2}
	tests := []struct {
		name       string
		snap       stats.Snapshot
		want       []want
		conclusion string // a prefix of the conclusion
		reverse    bool
	}{
		{
			name: "clean path raises nothing",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...), h("198.18.1.2", 10, 0, 2, 2.1),
				h("198.18.2.2", 10, 0, 3, 3.2), h(dest, 10, 0, 4, 4.1)),
			conclusion: "No problem found on this path.",
		},
		{
			// Hop 2 loses 10 of 50; the 150 probes to hops 3-5 all came back: their 95 % upper
			// bound is 3.84/(150+3.84) = 2.5 %, well below 20 %.
			name: "loss that does not persist is rate limiting",
			snap: path(dest, h("198.18.0.2", 50, 0, steady...), h("198.18.1.2", 50, 10, steady...),
				h("198.18.2.2", 50, 0, steady...), h("198.18.3.2", 50, 0, steady...), h(dest, 50, 0, steady...)),
			want:       []want{{RateLimited, []int{2}, true}},
			conclusion: "No real problem on this path: the loss at hop 2 is ICMP rate limiting.",
		},
		{
			// The demo lab at -c 30: hop 2 throttles (17 of 30 lost), hops 3 and 4 lose nothing,
			// real loss from hop 5 on (6, 6 and 4 of 30). Two-proportion test of hops 3-4 (0 of
			// 60) against the end (4 of 30): pooled p = 4/90, se = sqrt(p(1-p)(1/60+1/30)) =
			// 0.0461, z = 0.1333/0.0461 = 2.89 > √2·1.96 = 2.77: the loss is not there yet at
			// hops 3-4, so it starts at hop 5, and hop 2's excess is rate limiting. Whether it
			// starts at 5 rather than 4 rests on hop 4 alone: 0 of 30 against 4 of 30, pooled
			// p = 4/60, se = sqrt(p(1-p)·2/30) = 0.0644, z = 2.07 < 2.77: named, not settled, and
			// while it is open hop 2 might be where the loss starts: its rate limiting is open too.
			name: "clean hops between a throttling hop and real loss end the lossy run",
			snap: path(dest, h("198.18.0.2", 30, 0, steady...), h("198.18.1.2", 30, 17, steady...),
				h("198.18.2.2", 30, 0, steady...), h("198.18.3.2", 30, 0, steady...), h("198.18.4.2", 30, 6, steady...),
				h("198.18.5.2", 30, 6, steady...), h(dest, 30, 4, steady...)),
			want:    []want{{LossStarts, []int{5, 6, 7}, false}, {RateLimited, []int{2}, false}},
			reverse: true,
		},
		{
			// Real loss from hop 3 at -c 10, where hop 4 happened to lose nothing (0.7^10 = 2.8 %)
			// and the end lost 5 of 10: z = 0.5/sqrt(0.25·0.75·0.2) = 2.58 < 2.77. The run that
			// reaches the end starts at hop 5 (hop 4 lost nothing), but that is not settled, and
			// neither is hop 3's loss as rate limiting: the real loss may start there.
			name: "one clean hop of few probes does not move the start",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...), h("198.18.1.2", 10, 0, steady...),
				h("198.18.2.2", 10, 4, steady...), h("198.18.3.2", 10, 0, steady...), h("198.18.4.2", 10, 4, steady...),
				h(dest, 10, 5, steady...)),
			want:    []want{{LossStarts, []int{5, 6}, false}, {RateLimited, []int{3}, false}},
			reverse: true,
		},
		{
			// 1 of 10 lost at hop 2, 0 of 30 after it: the upper bound 3.84/33.84 = 11.3 % still
			// allows hop 2's 10 %. The interval drops below 10 % once the pool exceeds
			// 3.84·0.9/0.1 = 34.6 probes: 3 hops × 12.
			name: "too few probes to tell rate limiting from real loss",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...), h("198.18.1.2", 10, 1, steady...),
				h("198.18.2.2", 10, 0, steady...), h("198.18.3.2", 10, 0, steady...), h(dest, 10, 0, steady...)),
			want:       []want{{RateLimited, []int{2}, false}},
			conclusion: "Not settled yet: Hop 2 (198.18.1.2) loses 10.0%",
			reverse:    true,
		},
		{
			name: "loss that persists to the destination starts at its first hop",
			snap: path(dest, h("198.18.0.2", 100, 0, steady...), h("198.18.1.2", 100, 0, steady...),
				h("198.18.2.2", 100, 10, steady...), h("198.18.3.2", 100, 10, steady...), h(dest, 100, 10, steady...)),
			want:       []want{{LossStarts, []int{3, 4, 5}, true}},
			conclusion: "Problem: Real loss starts at hop 3 (198.18.2.2)",
			reverse:    true,
		},
		{
			// Reference: the last hop, 10 of 100, 95 % interval 5.5-17.4 %; hop 4's 30 of 100
			// has a lower bound of 21.9 %: its excess is rate limiting.
			name: "varying loss after the start: the last hop is the reference",
			snap: path(dest, h("198.18.0.2", 100, 0, steady...), h("198.18.1.2", 100, 0, steady...),
				h("198.18.2.2", 100, 10, steady...), h("198.18.3.2", 100, 30, steady...),
				h("198.18.4.2", 100, 10, steady...), h(dest, 100, 10, steady...)),
			want: []want{{LossStarts, []int{3, 4, 5, 6}, true}, {RateLimited, []int{4}, true}},
			conclusion: "Problem: Real loss starts at hop 3 (198.18.2.2): every hop after it loses probes too; " +
				"the reference rate is 10.0% at hop 6 (10 of 100 lost, 95% CI 5.5-17.4%).",
			reverse: true,
		},
		{
			// Hop 4 lost none of 10 between hops losing 3 of 10. Loss that reaches the end shows
			// on every hop after its start, so the run that reaches the end starts at hop 5; but
			// 0 of 10 against 3 of 10 (z = 0.3/sqrt(0.15·0.85·0.2) = 1.88 < 2.77) may be luck:
			// the start is open, and so is hop 3's loss as mere rate limiting.
			name: "a hop that lost nothing inside the run leaves the start open",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...), h("198.18.1.2", 10, 0, steady...),
				h("198.18.2.2", 10, 3, steady...), h("198.18.3.2", 10, 0, steady...),
				h("198.18.4.2", 10, 3, steady...), h(dest, 10, 3, steady...)),
			want:       []want{{LossStarts, []int{5, 6}, false}, {RateLimited, []int{3}, false}},
			conclusion: "Not settled yet: Real loss starts at hop 5 (198.18.4.2)",
			reverse:    true,
		},
		{
			name: "a start hop losing under half what reaches the end may only rate-limit",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...), h("198.18.1.2", 10, 1, steady...),
				h("198.18.2.2", 10, 3, steady...), h(dest, 10, 3, steady...)),
			want:       []want{{LossStarts, []int{2, 3, 4}, false}},
			conclusion: "Not settled yet: Real loss starts at hop 2 (198.18.1.2)",
			reverse:    true,
		},
		{
			name: "loss only at the destination: it throttles",
			snap: path(dest, h("198.18.0.2", 50, 0, steady...), h("198.18.1.2", 50, 0, steady...),
				h("198.18.2.2", 50, 0, steady...), h(dest, 50, 15, steady...)),
			want:       []want{{DestThrottles, []int{4}, true}},
			conclusion: "Problem: Only the destination's end of the path loses probes",
			reverse:    true,
		},
		{
			name: "latency that rises and stays",
			snap: path(dest, h("198.18.0.2", 10, 0, 1, 1.2), h("198.18.1.2", 10, 0, 2, 2.2),
				h("198.18.2.2", 10, 0, 50, 51), h("198.18.3.2", 10, 0, 51, 52), h(dest, 10, 0, 52, 53)),
			want:       []want{{LatencyStarts, []int{3}, true}},
			conclusion: "Problem: Latency rises at hop 3 (198.18.2.2) from 2.1 ms to 50.5 ms",
			reverse:    true,
		},
		{
			// Two answers at 10 and 110 ms: the rise over hop 2 is 57.9 ms but its standard
			// error is sqrt(70.71²/2 + 0.1414²/2) = 50.0 ms, z = 1.158; at that z the count must
			// grow by (1.96/1.158)² = 2.865 times: 6 answers.
			name: "a lasting rise seen in too few answers is not settled",
			snap: path(dest, h("198.18.0.2", 2, 0, 1, 1.2), h("198.18.1.2", 2, 0, 2, 2.2),
				h("198.18.2.2", 2, 0, 10, 110), h("198.18.3.2", 2, 0, 60, 61), h(dest, 2, 0, 61, 62)),
			want:       []want{{LatencyStarts, []int{3}, false}},
			conclusion: "Not settled yet: Latency rises at hop 3 (198.18.2.2) from 2.1 ms to 60.0 ms on average and stays up to the end of the path: a latency problem starting there; run about 6 probes per hop",
			reverse:    true,
		},
		{
			name: "latency up at one hop and back after it: deprioritised ICMP",
			snap: path(dest, h("198.18.0.2", 10, 0, 1, 1.2), h("198.18.1.2", 10, 0, 2, 2.2),
				h("198.18.2.2", 10, 0, 40, 41), h("198.18.3.2", 10, 0, 3, 3.2), h(dest, 10, 0, 4, 4.2)),
			want:       []want{{Deprioritised, []int{3}, true}},
			conclusion: "No real problem on this path: the latency up at hop 3 is deprioritised ICMP.",
		},
		{
			// Nine answers at 1 ms and one at 30: the other nine average 1 ms with no spread.
			name: "a high Wrst with a normal Avg is one spike",
			snap: path(dest, h("198.18.0.2", 10, 0, 1), h("198.18.1.2", 10, 0, append(rep(1, 9), 30)...),
				h(dest, 10, 0, 1.5)),
			want:       []want{{Spike, []int{2}, true}},
			conclusion: "No real problem on this path: the high Wrst at hop 2 is one brief spike.",
		},
		{
			// 5 and 45 ms alternating: Avg 25, StDev sqrt(10·400/9) = 21.1, above half the Avg.
			name:       "StDev high for the Avg",
			snap:       path(dest, h("198.18.0.2", 10, 0, 1), h("198.18.1.2", 10, 0, 2), h(dest, 10, 0, 5, 45)),
			want:       []want{{Unsteady, []int{3}, true}},
			conclusion: "No real problem on this path: the Avg at hop 3 varies too much to rely on.",
		},
		{
			name: "destination silent while its network answers",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...), h("198.18.1.2", 10, 0, steady...),
				h("198.18.9.1", 10, 0, steady...), silent(10)),
			want:       []want{{DestSilent, []int{4}, true}},
			conclusion: "Problem: 198.18.9.2 does not answer although its network does",
			reverse:    true,
		},
		{
			name: "no answer after hop 3: the path is interrupted",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...), h("198.18.1.2", 10, 0, steady...),
				h("198.18.2.2", 10, 0, steady...), silent(10)),
			want:       []want{{Interrupted, []int{3}, true}},
			conclusion: "Problem: No answer after hop 3 (198.18.2.2)",
			reverse:    true,
		},
		{
			// Three probes are not enough silence: the answer rate's upper bound is 3.84/6.84.
			name:       "silence after too few probes is not settled",
			snap:       path(dest, h("198.18.0.2", 3, 0, steady...), h("198.18.1.2", 3, 0, steady...), silent(3)),
			want:       []want{{Interrupted, []int{2}, false}},
			conclusion: "Not settled yet: No answer after hop 2",
			reverse:    true,
		},
		{
			name:       "nothing answers at all",
			snap:       path(dest, silent(10)),
			want:       []want{{Interrupted, []int{1}, true}},
			conclusion: "Problem: No hop answered",
		},
		{
			name: "a repeating sequence of addresses is a routing loop",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...), h("198.18.1.2", 10, 0, steady...),
				h("198.18.2.2", 10, 0, steady...), h("198.18.3.2", 10, 0, steady...),
				h("198.18.2.2", 10, 0, steady...), h("198.18.3.2", 10, 0, steady...),
				h("198.18.2.2", 10, 0, steady...), h("198.18.3.2", 10, 0, steady...), silent(10)),
			want:       []want{{Loop, []int{3, 4}, true}},
			conclusion: "Problem: Routing loop from hop 3: 198.18.2.2, 198.18.3.2 repeat every 2 hops",
		},
		{
			name: "destination unreachable names the router and the code",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...),
				hop{addrs: []string{"198.18.1.2"}, sent: 10, rtts: steady, err: "no route to host"}),
			want:       []want{{Unreachable, []int{2}, true}},
			conclusion: `Problem: Hop 2 (198.18.1.2) answers "no route to host" for 198.18.9.2: it has no route`,
		},
		{
			// Routers rate-limit their unreachable answers (Linux: 1 a second after a burst of
			// 5): the lost ones are not loss on the path.
			name: "an unreachable router that limits its answers shows no loss",
			snap: path(dest, h("198.18.0.2", 30, 0, steady...), h("198.18.1.2", 30, 0, steady...),
				hop{addrs: []string{"198.18.2.2"}, sent: 30, lost: 25, rtts: []float64{40}, err: "network unreachable"}),
			want:       []want{{Unreachable, []int{3}, true}},
			conclusion: `Problem: Hop 3 (198.18.2.2) answers "network unreachable" for 198.18.9.2: it has no route to the destination's network.`,
		},
		{
			// The router at hop 3 answers only once, to a probe with TTL 5.
			name: "an unreachable router that left earlier TTLs unanswered sits at the first of them",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...), h("198.18.1.2", 10, 0, steady...), silent(10), silent(10),
				hop{addrs: []string{"198.18.2.2"}, sent: 10, lost: 9, rtts: steady, err: "network unreachable"}),
			want: []want{{Unreachable, []int{3, 4, 5}, true}},
			conclusion: `Problem: 198.18.2.2 answers "network unreachable" for 198.18.9.2 at hop 5, and hops 3-4 got no answer: ` +
				"it limits those answers, so it most likely sits at hop 3; it has no route to the destination's network.",
		},
		{
			name: "several addresses at one hop: a load-balanced segment",
			snap: path(dest, h("198.18.0.2", 10, 0, steady...),
				hop{addrs: []string{"198.18.1.2", "198.18.101.2"}, sent: 10, rtts: steady},
				h(dest, 10, 0, steady...)),
			want:       []want{{LoadBalanced, []int{2}, true}},
			conclusion: "No real problem on this path: hop 2 are load-balanced.",
		},
		{
			name:       "a hop that never answers while later ones do",
			snap:       path(dest, h("198.18.0.2", 10, 0, steady...), silent(10), h(dest, 10, 0, steady...)),
			want:       []want{{RateLimited, []int{2}, true}},
			conclusion: "No real problem on this path: the loss at hop 2 is ICMP rate limiting.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Analyze(Input{Snapshot: tt.snap})
			if g := got(a); !sameFindings(g, tt.want) {
				t.Errorf("findings:\n got %v\nwant %v", g, tt.want)
				for _, f := range a.Findings {
					t.Logf("  %s: %s", f.Kind, f.Summary)
				}
			}
			if !strings.HasPrefix(a.Conclusion, tt.conclusion) {
				t.Errorf("conclusion:\n got %q\nwant prefix %q", a.Conclusion, tt.conclusion)
			}
			if (a.Reverse != "") != tt.reverse {
				t.Errorf("reverse command %q, want one: %v", a.Reverse, tt.reverse)
			}
			for _, f := range a.Findings {
				if f.Settled != (f.Confidence >= 0.95) {
					t.Errorf("%s: settled %v with confidence %v", f.Kind, f.Settled, f.Confidence)
				}
				if f.Summary == "" || f.Action == "" {
					t.Errorf("%s: empty summary or action: %+v", f.Kind, f)
				}
				if len(f.Evidence) != len(f.Hops) {
					t.Errorf("%s: %d hops but evidence for %d", f.Kind, len(f.Hops), len(f.Evidence))
				}
			}
		})
	}
}

// The guide's sample path, rebuilt from its text: 33 probes per hop (hop 9's 30.3 % is 10 of
// 33), loss at hops 2, 6, 7, 8 and 9 and none at 3, 4, 5, 10, 11 and 15, hops 12-14 silent (the
// guide names neither loss nor its absence there), hop 4 with one 25.3 ms answer among 2.0-2.2 ms
// ones, averages from 1.8 to 17.6 ms with a step up at hop 6 and a bump at hop 9.
func guideSample() stats.Snapshot {
	const n = 33
	four := append(slices.Repeat([]float64{2.0, 2.1, 2.2}, 11)[:32], 25.3)
	return path("198.18.15.2",
		h("198.18.1.1", n, 0, 1.7, 1.8, 1.9),
		h("198.18.2.1", n, 1, 2.3, 2.4, 2.5),
		h("198.18.3.1", n, 0, 2.5, 2.6, 2.7),
		h("198.18.4.1", n, 0, four...),
		h("198.18.5.1", n, 0, 3.0, 3.1, 3.2),
		h("198.18.6.1", n, 2, 9.8, 10.0, 10.2),
		h("198.18.7.1", n, 3, 10.4, 10.5, 10.6),
		h("198.18.8.1", n, 2, 10.8, 11.0, 11.2),
		h("198.18.9.1", n, 10, 17.4, 17.6, 17.8),
		h("198.18.10.1", n, 0, 11.4, 11.5, 11.6),
		h("198.18.11.1", n, 0, 11.9, 12.0, 12.1),
		silent(n), silent(n), silent(n),
		h("198.18.15.2", n, 0, 12.3, 12.4, 12.5),
	)
}

func TestGuideSample(t *testing.T) {
	s := guideSample()
	// The reconstruction must say what the guide says of its sample before the analysis is
	// checked against the guide's reading.
	for i, wantLoss := range []float64{0, 100.0 / 33, 0, 0, 0, 200.0 / 33, 300.0 / 33, 200.0 / 33, 1000.0 / 33, 0, 0, 100, 100, 100, 0} {
		if got := s.Hops[i].Loss(); math.Abs(got-wantLoss) > 1e-9 {
			t.Fatalf("hop %d loss %v, want %v", i+1, got, wantLoss)
		}
	}
	if got := fmt.Sprintf("%.1f", s.Hops[8].Loss()); got != "30.3" {
		t.Fatalf("hop 9 loss %s, want 30.3", got)
	}
	if lo, hi := s.Hops[0].Avg(), s.Hops[8].Avg(); fmt.Sprintf("%.1f %.1f", lo, hi) != "1.8 17.6" {
		t.Fatalf("averages from %.2f to %.2f, want 1.8 to 17.6", lo, hi)
	}

	a := Analyze(Input{Snapshot: s})
	wantF := []want{
		{RateLimited, []int{2}, true}, {RateLimited, []int{6}, true}, {RateLimited, []int{7}, true},
		{RateLimited, []int{8}, true}, {RateLimited, []int{9}, true}, {RateLimited, []int{12}, true},
		{RateLimited, []int{13}, true}, {RateLimited, []int{14}, true},
		{Deprioritised, []int{9}, true}, {Spike, []int{4}, true},
	}
	if g := got(a); !sameFindings(g, wantF) {
		t.Errorf("findings:\n got %v\nwant %v", g, wantF)
		for _, f := range a.Findings {
			t.Logf("  %s: %s", f.Kind, f.Summary)
		}
	}
	const conclusion = "No real problem on this path: the loss at hops 2, 6-9, 12-14 is ICMP rate limiting; " +
		"the latency up at hop 9 is deprioritised ICMP; the high Wrst at hop 4 is one brief spike."
	if a.Conclusion != conclusion {
		t.Errorf("conclusion:\n got %q\nwant %q", a.Conclusion, conclusion)
	}
	if a.Reverse != "" {
		t.Errorf("reverse command %q on a path with no problem", a.Reverse)
	}
	// Hop 6: 2 of 33 lost (6.1 %); the later hops that lost less (10, 11, 15) lost 0 of 99,
	// upper bound 3.8415/102.8415 = 3.74 %.
	f := a.Findings[1]
	if !strings.Contains(f.Summary, "6.1% (2 of 33 lost, 95% CI 1.7-19.6%)") || !strings.Contains(f.Summary, "lost 0 of 99") {
		t.Errorf("hop 6 evidence: %s", f.Summary)
	}
	if !strings.Contains(a.Findings[9].Summary, "one probe took 25.3 ms while the other 32 averaged 2.1 ms") {
		t.Errorf("hop 4 spike: %s", a.Findings[9].Summary)
	}
}
