package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Thresholds of the latency rules, in milliseconds. Statistics decide whether a difference is
// real; these decide whether a real difference is worth a sentence.
const (
	// A hop's Avg must exceed the level before it by this much (and by half that level) to count
	// as a rise. Smaller steps are ordinary queueing and distance.
	minRise = 5.0
	// A rise that stays to the end of the path is a problem only from this size on (and at least
	// doubling the level): longer links legitimately add a few tens of milliseconds, as the
	// guide's sample path rising from 1.8 to 17.6 ms shows.
	minLastingRise = 30.0
	// A Wrst counts as a spike when it exceeds the Avg of the other answers by this much, by that
	// Avg, and by 5 of their standard deviations.
	minSpike = 10.0
	// StDev counts as high for the hop's Avg from half the Avg on, and from this much.
	minUnsteady = 5.0
	// spikeAnswers is the fewest answers for which one of them can be called out of line.
	spikeAnswers = 5
	// silentProbes is how many unanswered probes make a hop's silence settled: with 4 the 95 %
	// interval of its answer rate is below one half.
	silentProbes = 4
)

type analyzer struct {
	in       Input
	hops     []stats.Hop
	region   []Region
	ev       []HopStats
	findings []Finding
	lastResp int // index of the last hop that answered, -1 when none did
	reached  bool
	// busy marks hops that a latency finding already covers, so a hop is explained once.
	busy map[int]bool
}

// Analyze reads one path's statistics and says what is wrong with it, if anything.
func Analyze(in Input) Analysis {
	x := &analyzer{in: in, hops: in.Snapshot.Hops, lastResp: -1, busy: map[int]bool{}}
	x.region = regions(in)
	for i := range x.hops {
		h := &x.hops[i]
		x.ev = append(x.ev, x.stats(i))
		if h.Recv > 0 {
			x.lastResp = i
		}
		if hasAddr(h, in.Snapshot.Target) {
			x.reached = true
		}
	}
	loop := x.loop()
	ended := x.unreachable()
	if !loop && !ended {
		x.silence()
	}
	x.loadBalanced()
	x.loss()
	if !in.NoLatency {
		x.latency()
	}
	if in.NoSpread {
		x.findings = slices.DeleteFunc(x.findings, func(f Finding) bool { return f.Kind == Spike || f.Kind == Unsteady })
	}
	slices.SortStableFunc(x.findings, func(a, b Finding) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return a.Hops[0] - b.Hops[0]
	})
	a := Analysis{Findings: x.findings, Regions: x.ev}
	a.Conclusion, a.Reverse = x.conclude()
	return a
}

// answering lists the hops whose answers speak for the path: every hop that answered, except
// one answering destination unreachable. Routers limit those answers hard (Linux: a burst of 5,
// then 1 a second), and make them on a slow path, so their loss and latency say nothing about
// forwarding.
func (x *analyzer) answering() []int {
	var out []int
	for i := range x.hops {
		if x.hops[i].Recv > 0 && x.hops[i].Err == "" {
			out = append(out, i)
		}
	}
	return out
}

func hasAddr(h *stats.Hop, a netip.Addr) bool {
	for _, x := range h.Addrs {
		if x.IP == a {
			return true
		}
	}
	return false
}

func (x *analyzer) stats(i int) HopStats {
	h := &x.hops[i]
	lost := h.Drop()
	n := lost + h.Recv
	lo, hi := Wilson(float64(lost), float64(n), z95)
	s := HopStats{
		TTL: h.TTL, Addr: h.Addr(), Region: x.region[i], Sent: n, Lost: lost, Loss: h.Loss(),
		LossLo: 100 * lo, LossHi: 100 * hi,
	}
	if h.Recv > 0 {
		s.Avg, s.Best, s.Wrst, s.StDev = h.Avg(), stats.Ms(h.Best), stats.Ms(h.Worst), h.StDev()
	}
	return s
}

func (x *analyzer) add(f Finding) {
	if f.Settled && f.Confidence == 0 {
		f.Confidence = 1
	}
	for _, t := range f.Hops {
		if i := x.index(t); i >= 0 {
			f.Evidence = append(f.Evidence, x.ev[i])
		}
	}
	x.findings = append(x.findings, f)
}

func (x *analyzer) index(ttl int) int {
	i := ttl - x.in.Snapshot.First
	if i < 0 || i >= len(x.hops) {
		return -1
	}
	return i
}

func (x *analyzer) name(i int) string {
	h := &x.hops[i]
	if !h.Known() {
		return "hop " + strconv.Itoa(h.TTL)
	}
	return fmt.Sprintf("hop %d (%s)", h.TTL, h.Addr())
}

func (x *analyzer) target() string { return x.in.Snapshot.Target.String() }

// lossText is "6.1% (2 of 33 lost, 95% CI 1.7-19.6%)".
func lossText(s HopStats) string {
	return fmt.Sprintf("%s%% (%d of %d lost, 95%% CI %s-%s%%)", pct(s.Loss), s.Lost, s.Sent, pct(s.LossLo), pct(s.LossHi))
}

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func msText(v float64) string {
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}

// ---- the path's shape: loops, unreachable answers, silence, load balancing ----

// loop finds a sequence of addresses that repeats to the end of the answers, the signature of
// packets going round between routers until their TTL runs out.
func (x *analyzer) loop() bool {
	if x.reached {
		return false
	}
	for i := range x.hops {
		if !x.hops[i].Known() {
			continue
		}
		for j := i + 1; j < len(x.hops); j++ {
			if !x.hops[j].Known() || x.hops[j].Addr() != x.hops[i].Addr() {
				continue
			}
			k := j - i
			matches, ok := 0, true
			for m := i; m+k < len(x.hops); m++ {
				a, b := &x.hops[m], &x.hops[m+k]
				if !a.Known() || !b.Known() {
					continue
				}
				if a.Addr() != b.Addr() {
					ok = false
					break
				}
				matches++
			}
			// A router that does not decrement the TTL shows twice in a row; a loop of one
			// address needs a longer run before it is believed.
			need := 2
			if k == 1 {
				need = 3
			}
			if !ok || matches < need {
				continue
			}
			var ttls []int
			var addrs []string
			for m := i; m < i+k; m++ {
				ttls = append(ttls, x.hops[m].TTL)
				if x.hops[m].Known() {
					addrs = append(addrs, x.hops[m].Addr().String())
				}
			}
			x.add(Finding{
				Kind: Loop, Hops: ttls, Settled: true,
				Summary: fmt.Sprintf("Routing loop from hop %d: %s repeat every %d hops and the probes never reach %s.",
					x.hops[i].TTL, strings.Join(addrs, ", "), k, x.target()),
				Action:  "A route on one of these routers points back along the path; the carrier must fix it.",
				Contact: x.contact(i),
			})
			return true
		}
	}
	return false
}

// unreachMeaning says what a destination-unreachable text from probe.UnreachableText means.
var unreachMeaning = map[string]string{
	"network unreachable":            "it has no route to the destination's network",
	"no route to host":               "it has no route to the destination (or the destination does not answer its neighbour discovery)",
	"address unreachable":            "the destination's address does not answer on its last link (host down or wrong address)",
	"protocol unreachable":           "the destination does not speak the probe's protocol",
	"port unreachable":               "a firewall rejects the probes with port unreachable",
	"fragmentation needed":           "the packets are larger than a link's MTU: try a smaller -s",
	"source route failed":            "source routing failed",
	"destination network unknown":    "the destination network does not exist for it",
	"destination host unknown":       "the destination host does not exist for it",
	"source host isolated":           "this host is cut off from it",
	"network prohibited":             "a filter forbids traffic to the destination's network",
	"host prohibited":                "a filter forbids traffic to the destination",
	"admin prohibited":               "a firewall rule rejects the probes",
	"network unreachable for TOS":    "it has no route for this type of service (-Q)",
	"host unreachable for TOS":       "it cannot reach the destination with this type of service (-Q)",
	"host precedence violation":      "the probes' precedence is not allowed",
	"precedence cutoff":              "the probes' precedence is below the allowed minimum",
	"beyond scope of source address": "the source address's scope does not reach the destination",
	"source address failed policy":   "a policy rejects this source address",
	"reject route":                   "a reject route matches the destination",
	"headers too long":               "the probes' headers are too long",
}

// unreachable reports every hop that answered destination unreachable; it returns whether one did,
// since such an answer ends the path and explains the silence after it.
func (x *analyzer) unreachable() bool {
	found := false
	for i := range x.hops {
		h := &x.hops[i]
		if h.Err == "" {
			continue
		}
		found = true
		meaning, ok := unreachMeaning[h.Err]
		if !ok {
			meaning = "it cannot deliver the probes"
		}
		// A router without a route answers every probe that reaches it, whatever its TTL, but
		// limits those answers hard: the TTLs before its answer that got none are most likely
		// the same router, so it sits at the first of them.
		from := i
		for from > 0 && x.hops[from-1].Recv == 0 {
			from--
		}
		f := Finding{
			Kind: Unreachable, Hops: []int{h.TTL}, Settled: true,
			Summary: fmt.Sprintf("%s answers \"%s\" for %s: %s.", capital(x.name(i)), h.Err, x.target(), meaning),
			Action:  "Ask the router's operator to check its routes and filters for " + x.target() + ".",
			Contact: x.contact(i),
		}
		if from < i {
			f.Hops = nil
			for j := from; j <= i; j++ {
				f.Hops = append(f.Hops, x.hops[j].TTL)
			}
			f.Summary = fmt.Sprintf("%s answers \"%s\" for %s at hop %d, and hops %s got no answer: it limits those answers, so it most likely sits at hop %d; %s.",
				h.Addr(), h.Err, x.target(), h.TTL, HopList(f.Hops[:len(f.Hops)-1]), x.hops[from].TTL, meaning)
		}
		x.add(f)
	}
	return found
}

// silence handles a path whose answers stop before the destination.
func (x *analyzer) silence() {
	if x.reached {
		return
	}
	if x.lastResp < 0 {
		if len(x.hops) == 0 {
			return
		}
		n := x.ev[0].Sent
		f := Finding{
			Kind: Interrupted, Hops: []int{x.hops[0].TTL},
			Summary: fmt.Sprintf("No hop answered, not even hop %d: the probes do not leave this host's network.", x.hops[0].TTL),
			Action:  "Check this host's firewall, routes and link; try " + x.otherProtocols() + ".",
			Contact: "your network administrator (LAN)",
		}
		x.settleSilence(&f, n)
		x.add(f)
		return
	}
	if x.lastResp == len(x.hops)-1 {
		return // answers to the last TTL probed: the path is longer than -m, not interrupted
	}
	n := x.ev[x.lastResp+1].Sent
	last := x.lastResp
	var f Finding
	if x.region[last] == RegionDest {
		f = Finding{
			Kind: DestSilent, Hops: []int{x.hops[last+1].TTL},
			Summary: fmt.Sprintf("%s does not answer although its network does (last answer from %s): its firewall drops %s probes.",
				x.target(), x.name(last), x.in.Protocol),
			Action:  "Check the destination's security policy (firewall, iptables); try " + x.otherProtocols() + ".",
			Contact: "the destination's administrator",
		}
	} else {
		f = Finding{
			Kind: Interrupted, Hops: []int{x.hops[last].TTL},
			Summary: fmt.Sprintf("No answer after %s: the path is interrupted after hop %d (a node down, or a filter dropping %s probes; if it is the destination's last router, the destination itself may be dropping them).",
				x.name(last), x.hops[last].TTL, x.in.Protocol),
			Action:  x.orReverse("Run the reverse path test and try ", "Try ") + x.otherProtocols() + " to tell a filter from a dead node; then contact the carrier of hop " + strconv.Itoa(x.hops[last].TTL) + ".",
			Contact: x.contact(last),
		}
	}
	x.settleSilence(&f, n)
	x.add(f)
}

// settleSilence calls silence settled once n unanswered probes put the 95 % interval of the hop's
// answer rate below one half.
func (x *analyzer) settleSilence(f *Finding, n int) {
	f.Confidence = coverage(belowZ(0, float64(n), 0.5))
	f.Settled = f.Confidence >= 0.95
	if !f.Settled {
		f.MoreProbes = silentProbes
	}
}

// otherProtocols names the probes to try when the current ones are being dropped.
func (x *analyzer) otherProtocols() string {
	t := x.target()
	switch x.in.Protocol {
	case vocab.TCPProbes:
		return "`mtr -u -r " + t + "` (UDP) or plain ICMP `mtr -r " + t + "`"
	case vocab.UDPProbes:
		return "`mtr -T -P 443 -r " + t + "` (TCP) or plain ICMP `mtr -r " + t + "`"
	}
	return "`mtr -T -P 443 -r " + t + "` (TCP) or `mtr -u -r " + t + "` (UDP)"
}

// loadBalanced reports runs of hops that several addresses answer.
func (x *analyzer) loadBalanced() {
	for i := 0; i < len(x.hops); i++ {
		if len(x.hops[i].Addrs) < 2 {
			continue
		}
		j := i
		var ttls []int
		most := 0
		for ; j < len(x.hops) && len(x.hops[j].Addrs) >= 2; j++ {
			ttls = append(ttls, x.hops[j].TTL)
			most = max(most, len(x.hops[j].Addrs))
		}
		span := "Hop " + strconv.Itoa(ttls[0])
		if len(ttls) > 1 {
			span = fmt.Sprintf("Hops %d-%d", ttls[0], ttls[len(ttls)-1])
		}
		x.add(Finding{
			Kind: LoadBalanced, Hops: ttls, Settled: true,
			Summary: fmt.Sprintf("%s: a load-balanced segment, up to %d addresses answer one hop, so these rows mix several routers.", span, most),
			Action:  "Judge the segment by the hops before and after it; --paris with -u or -T keeps one flow, one route.",
		})
		i = j - 1
	}
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// HopList writes TTLs as people read them: "2, 6-9".
func HopList(ttls []int) string {
	var parts []string
	for i := 0; i < len(ttls); {
		j := i
		for j+1 < len(ttls) && ttls[j+1] == ttls[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", ttls[i], ttls[j]))
		} else {
			parts = append(parts, strconv.Itoa(ttls[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
