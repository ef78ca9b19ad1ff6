package savedreport

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/stats"
)

// Analysis is the analysis of a saved report, with what the report could not tell it.
type Analysis struct {
	analyze.Analysis
	// Limits are sentences on what the report's format lacks and which findings that affects.
	Limits []string
}

// standIn is the address a hop known only by name stands in with: 240.0.0.0/4 is reserved, so no
// real hop has one, and the names are put back in every sentence. Each name gets its own /24, as
// the analysis takes hops sharing the destination's /24 for the destination's network.
func standIn(n int) netip.Addr { return netip.AddrFrom4([4]byte{240, byte(n >> 8), byte(n), 1}) }

var standInRE = regexp.MustCompile(`\b24[0-9]\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)

// Analyze reads the report's numbers with the same rules as a live run.
func (r *Report) Analyze() Analysis {
	snap, names, as, limits := r.snapshot()
	// What the format cannot support is left out before the conclusion is drawn, so the
	// conclusion never rests on a finding the notes say cannot be made.
	a := analyze.Analyze(analyze.Input{Snapshot: snap, AS: as, NoSpread: !r.HasStDev, NoLatency: !r.judgesLatency()})
	if len(names) > 0 {
		put := func(s string) string {
			return standInRE.ReplaceAllStringFunc(s, func(m string) string {
				if n, ok := names[netip.MustParseAddr(m)]; ok {
					return n
				}
				return m
			})
		}
		for i := range a.Findings {
			f := &a.Findings[i]
			f.Summary, f.Action, f.Contact = put(f.Summary), put(f.Action), put(f.Contact)
		}
		a.Conclusion, a.Reverse = put(a.Conclusion), put(a.Reverse)
	}
	return Analysis{Analysis: a, Limits: limits}
}

// snapshot turns the rows into hops. Hops known only by name get stand-in addresses (names maps
// them back); limits lists what the format could not say.
func (r *Report) snapshot() (stats.Snapshot, map[netip.Addr]string, map[netip.Addr]analyze.ASInfo, []string) {
	as := map[netip.Addr]analyze.ASInfo{}
	names := map[netip.Addr]string{}
	byName := map[string]netip.Addr{}
	addr := func(h string) netip.Addr {
		if a, err := netip.ParseAddr(h); err == nil {
			return a
		}
		if a, ok := byName[h]; ok {
			return a
		}
		a := standIn(len(names))
		byName[h], names[a] = a, h
		return a
	}
	first := r.Rows[0].TTL
	snap := stats.Snapshot{First: first}
	inexact := 0
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for _, row := range r.Rows {
		// Rows may skip hops (mtr-go's -F or a hand-cut paste): a gap is a hop nobody saw.
		for ttl := first + len(snap.Hops); ttl < row.TTL; ttl++ {
			snap.Hops = append(snap.Hops, stats.Hop{TTL: ttl})
		}
		s := stats.Summary{TTL: row.TTL, Sent: row.Sent, Recv: row.Recv, Last: ms(row.Last),
			Best: ms(row.Best), Wrst: ms(row.Wrst), Avg: row.Avg, StDev: row.StDev}
		if !r.HasStDev {
			// The widest StDev that answers between Best and Wrst allow: a rise judged against
			// it is called only when no spread the report hides could explain it.
			s.StDev = (row.Wrst - row.Best) / 2 * math.Sqrt(float64(row.Recv)/math.Max(float64(row.Recv-1), 1))
		}
		// A StDev printed as 0.0 may be anything below half a step: the analysis must not
		// read it as exactly zero, which would settle any latency rise at once.
		s.StDev = math.Max(s.StDev, r.Resolution/2)
		if row.Recv > 0 {
			for _, h := range row.Hosts {
				s.Addrs = append(s.Addrs, stats.Addr{IP: addr(h), Count: 1})
				if row.ASN != 0 && len(s.Addrs) == 1 {
					// mtr -z: the AS of the row's address; the hop's other addresses may be
					// other routers, in other ASes.
					as[addr(h)] = analyze.ASInfo{ASN: row.ASN}
				}
			}
		}
		if !row.RecvExact {
			inexact++
		}
		snap.Hops = append(snap.Hops, stats.FromSummary(s))
	}
	// The destination: as the report names it, or else the last hop when it answered and is not
	// a router seen before it (mtr's report ends at the destination once it answers; a loop or a
	// router's unreachable answer ends it at an address already on the path).
	last := &snap.Hops[len(snap.Hops)-1]
	repeated := last.Known() && seenBefore(snap.Hops, len(snap.Hops)-1)
	if a, err := netip.ParseAddr(r.Target); err == nil {
		snap.Target = a
	} else if a, ok := byName[r.Target]; ok && r.Target != "" {
		snap.Target = a
	} else if last.Known() && !repeated {
		snap.Target = last.Addr()
	} else {
		// Unknown: it stands in as a name the sentences can carry.
		snap.Target = standIn(len(names))
		names[snap.Target] = "<destination>"
	}
	// The report carries no ICMP error codes, but one pattern has only one reading: the path
	// ends at a router that answered the TTL before too, short of the destination. A router
	// answers a probe whose TTL outlives it only when it cannot forward it: destination
	// unreachable.
	inferred := false
	if repeated && last.Addr() != snap.Target && prevAnswer(snap.Hops) == last.Addr() {
		last.Err = "unreachable (the report has no code)"
		inferred = true
	}
	var limits []string
	if r.Format == MtrRaw {
		// Its counts and moments are exact, but what kind of answer each was is not in it.
		limits = append(limits, fmt.Sprintf("This %s holds every probe and answer but no ICMP error codes, so a router answering \"unreachable\" shows as the end of the answers, not by its code.", r.Format))
	} else {
		limits = append(limits, fmt.Sprintf("This %s holds per-hop summaries only: no per-probe history and no ICMP error codes, so a router answering \"unreachable\" shows as the end of the answers, not by its code.", r.Format))
	}
	if r.Format == MtrSplit {
		limits = append(limits, "A split stream lists only hops that answered, and not the destination: answers that stop short of it are not seen, and the last hop listed is taken for it.")
	}
	if inexact > 0 {
		limits = append(limits, fmt.Sprintf("%d hops give only Loss%% and Snt, rounded so that more than one loss count fits; the nearest count is used.", inexact))
	}
	switch {
	case !r.HasLatency:
		limits = append(limits, "No Avg column: latency is not judged.")
	case !r.judgesLatency():
		limits = append(limits, "No StDev and no Best and Wrst columns: how much latency varies is unknown, so latency is not judged.")
	case !r.HasStDev:
		limits = append(limits, fmt.Sprintf("No StDev column: latency spikes and unsteady hops are not judged, and a latency rise is called only if the Best-Wrst range allows no spread that explains it (latency in steps of %g ms).", r.Resolution))
	}
	if inferred {
		limits = append(limits, fmt.Sprintf("Hop %d's router also answered hop %d and the path ends there: read as a destination-unreachable answer, whose code the report does not hold.", last.TTL, last.TTL-1))
	}
	if len(byName) > 0 {
		limits = append(limits, "Some hops are named without their addresses (a report made without -n or -b): whether they are private, and so the regions, is judged from their position only.")
	}
	return snap, names, as, limits
}

// Describe is one line on what was read, e.g. "mtr JSON, 6 hops, to 198.18.5.2".
func (r *Report) Describe() string {
	s := fmt.Sprintf("%s, %d hops", r.Format, len(r.Rows))
	if r.Target != "" {
		s += ", to " + r.Target
	}
	return strings.TrimSpace(s)
}

// seenBefore reports whether hop i's address answered an earlier hop.
func seenBefore(hops []stats.Hop, i int) bool {
	a := hops[i].Addr()
	for _, h := range hops[:i] {
		for _, x := range h.Addrs {
			if x.IP == a {
				return true
			}
		}
	}
	return false
}

// prevAnswer is the address of the last answering hop before the last one.
func prevAnswer(hops []stats.Hop) netip.Addr {
	for i := len(hops) - 2; i >= 0; i-- {
		if hops[i].Known() {
			return hops[i].Addr()
		}
	}
	return netip.Addr{}
}

// judgesLatency: an Avg alone says nothing about a rise without some measure of spread.
func (r *Report) judgesLatency() bool { return r.HasLatency && (r.HasStDev || r.HasRange) }
