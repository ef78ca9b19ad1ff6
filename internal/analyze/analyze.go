// Package analyze reads a path's statistics the way the mtr usage guide teaches engineers to
// (../shared/reference/mtr-usage-guide.txt): loss that does not persist is ICMP rate limiting,
// loss that reaches the end is real and starts where the run of lossy hops starts, a latency rise
// that falls back is deprioritised ICMP, and so on. It turns a stats.Snapshot into findings with
// the numbers behind them, whom to contact and a one-line conclusion. It is pure: no I/O, no
// clocks, the same answer for the same snapshot.
//
// Every call that compares hops is made at the 95 % level with Wilson intervals (loss) or the
// standard error of the difference of means (latency); a pattern the data does not yet support
// is reported unsettled, with the per-hop probe count (mtr -c) that would settle it if the rates
// stayed as they are.
package analyze

import (
	"net/netip"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// ASInfo is what an AS lookup knows about an address (filled by a later AS-lookup feature).
type ASInfo struct {
	ASN  uint32
	Name string // the AS's name, e.g. "EXAMPLE-NET"; "" when not known
}

// Input is what an analysis reads.
type Input struct {
	Snapshot stats.Snapshot
	// AS maps addresses to their origin AS; nil or missing entries mean unknown. With it, the
	// destination's network is told from the carriers' by AS number, and contacts name the AS.
	AS map[netip.Addr]ASInfo
	// Local is this host's address, when known; it goes into the reverse-path command unless it
	// is private (behind NAT the far end must trace to the public address, which only the user
	// knows).
	Local netip.Addr
	// Protocol is the kind of probe the snapshot was taken with; advice names the other ones.
	Protocol vocab.Protocol
	// NoSpread: the numbers carry no StDev (a saved report that lacks it), so neither a lone
	// spike nor an unsteady Avg can be told. NoLatency: they cannot judge latency at all.
	NoSpread, NoLatency bool
	// BothWays: the other direction is traced too (--reverse), so advice does not send the user
	// to run the reverse path test.
	BothWays bool
}

// Kind is what a finding says about the path.
type Kind int

// The kinds of findings, in the order a conclusion prefers them: problems first, then findings
// that explain away what looks like a problem.
const (
	Loop          Kind = iota + 1 // a repeating sequence of addresses: a routing loop
	Unreachable                   // a router answers destination unreachable
	Interrupted                   // nothing answers after a hop
	DestSilent                    // the destination drops the probes while its network answers
	LossStarts                    // loss that reaches the end of the path, starting at a hop
	LatencyStarts                 // latency that rises at a hop and stays up to the end
	DestThrottles                 // loss only at the destination: it limits its answers
	RateLimited                   // loss at a hop that later hops do not have: ICMP rate limiting
	Deprioritised                 // latency up at a hop and back down after it
	Spike                         // one probe far slower than the rest, Avg normal
	Unsteady                      // StDev high for the hop's Avg: the Avg is not to be trusted
	LoadBalanced                  // several addresses answer the same hop
)

var kindNames = map[Kind]string{
	Loop: "routing-loop", Unreachable: "unreachable", Interrupted: "interrupted",
	DestSilent: "destination-silent", LossStarts: "loss-starts", LatencyStarts: "latency-starts",
	DestThrottles: "destination-throttles", RateLimited: "rate-limited",
	Deprioritised: "icmp-deprioritised", Spike: "latency-spike", Unsteady: "unsteady-latency",
	LoadBalanced: "load-balanced",
}

// String is the kind's stable machine name, as JSON and XML carry it ("rate-limited").
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "unknown"
}

// Problem reports whether the kind, once settled, is something to act on; the other kinds explain
// why what looks wrong is not.
func (k Kind) Problem() bool { return k >= Loop && k <= DestThrottles }

// Region is where on the path a hop is, as the guide's table divides it, which decides whom to
// contact.
type Region int

// The regions of a path.
const (
	RegionUnknown  Region = iota // the hop never answered
	RegionLocal                  // the client's own network and its local carrier (guide's region A)
	RegionBackbone               // the carriers in between (region B)
	RegionDest                   // the destination's network (region C)
)

// String names the region as reports print it.
func (r Region) String() string {
	switch r {
	case RegionLocal:
		return "local"
	case RegionBackbone:
		return "backbone"
	case RegionDest:
		return "destination"
	}
	return "unknown"
}

// HopStats is the evidence a finding quotes for one hop: its counts, its loss with the Wilson
// 95 % interval, and its latency in milliseconds.
type HopStats struct {
	TTL    int
	Addr   netip.Addr // latest responder; zero when the hop never answered
	Region Region
	Sent   int // probes whose fate is known (an in-flight newest probe is not counted)
	Lost   int
	Loss   float64 // percent
	LossLo float64 // Wilson 95 % interval, percent
	LossHi float64
	Avg    float64 // ms, over the answers
	Best   float64
	Wrst   float64
	StDev  float64
}

// Finding is one thing the analysis says about the path.
type Finding struct {
	Kind Kind
	Hops []int // the TTLs concerned, in order; the first is where it happens
	// Settled is true when the data supports the call at the 95 % level. An unsettled finding
	// names the likeliest reading and MoreProbes.
	Settled bool
	// Confidence is the two-sided level (0..1) at which the deciding comparison holds; 0.95 and
	// above is settled. Findings that are read off the path's shape (a loop, an unreachable
	// answer, several addresses) have 1.
	Confidence float64
	// MoreProbes is, for an unsettled finding, the per-hop probe count (mtr -c) that would settle
	// it at the rates seen so far; 0 when no count would.
	MoreProbes int
	Evidence   []HopStats
	Summary    string // one sentence, with the numbers
	Action     string // what to do
	Contact    string // whom to contact, or "" when nobody needs to be
}

// Analysis is the result for one path.
type Analysis struct {
	Findings   []Finding
	Regions    []HopStats // every hop of the snapshot, with its region
	Conclusion string     // one line
	// Reverse is the command to run from the far end when this direction cannot settle it, or "".
	Reverse string
}

// Clean reports whether the analysis found nothing at all to say.
func (a Analysis) Clean() bool { return len(a.Findings) == 0 }
