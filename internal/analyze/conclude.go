package analyze

import (
	"strings"
)

// reverseCount is the probe count the reverse-path command asks for: enough for the loss rules to
// settle rates of a few percent.
const reverseCount = "100"

// conclude writes the one-line conclusion and, when this direction alone cannot settle the
// matter, the reverse-path command. A settled problem comes first; unsettled findings come next
// (nothing is concluded that the data does not support); findings that only explain away what
// looks wrong make the path "no real problem".
func (x *analyzer) conclude() (conclusion, reverse string) {
	if len(x.findings) == 0 {
		return "No problem found on this path.", ""
	}
	var problem, open *Finding
	most := 0
	for i := range x.findings {
		f := &x.findings[i]
		switch {
		case f.Settled && f.Kind.Problem():
			if problem == nil {
				problem = f
			}
		case !f.Settled:
			if open == nil || (f.Kind.Problem() && !open.Kind.Problem()) {
				open = f
			}
			most = max(most, f.MoreProbes)
		}
	}
	switch {
	case problem != nil:
		conclusion = "Problem: " + problem.Summary
		switch problem.Kind {
		case LossStarts, LatencyStarts, Interrupted, DestThrottles, DestSilent:
			// Nothing answering at all is this host's own problem; the far end cannot help.
			if x.lastResp >= 0 {
				reverse = x.reverse()
			}
		}
	case open != nil:
		conclusion = "Not settled yet: " + strings.TrimSuffix(open.Summary, ".")
		if most > 0 {
			conclusion += "; " + lower(x.moreText(most))
		} else {
			conclusion += "."
		}
		if open.Kind.Problem() || open.Kind == RateLimited {
			reverse = x.reverse()
		}
	default:
		conclusion = "No real problem on this path: " + x.explained() + "."
	}
	return conclusion, reverse
}

// explained lists what the benign findings account for: "the loss at hops 2, 6-9 is ICMP rate
// limiting; hop 4's Wrst is one brief spike".
func (x *analyzer) explained() string {
	byKind := map[Kind][]int{}
	for _, f := range x.findings {
		byKind[f.Kind] = append(byKind[f.Kind], f.Hops...)
	}
	var parts []string
	plural := func(ttls []int) string {
		if len(ttls) > 1 {
			return "hops " + HopList(ttls)
		}
		return "hop " + HopList(ttls)
	}
	if t := byKind[RateLimited]; len(t) > 0 {
		parts = append(parts, "the loss at "+plural(t)+" is ICMP rate limiting")
	}
	if t := byKind[Deprioritised]; len(t) > 0 {
		parts = append(parts, "the latency up at "+plural(t)+" is deprioritised ICMP")
	}
	if t := byKind[Spike]; len(t) > 0 {
		parts = append(parts, "the high Wrst at "+plural(t)+" is one brief spike")
	}
	if t := byKind[Unsteady]; len(t) > 0 {
		parts = append(parts, "the Avg at "+plural(t)+" varies too much to rely on")
	}
	if t := byKind[LoadBalanced]; len(t) > 0 {
		parts = append(parts, plural(t)+" are load-balanced")
	}
	return strings.Join(parts, "; ")
}

func (x *analyzer) reverse() string {
	// Behind NAT the far end would trace to the router's public address, not this host's private
	// one: a private address is no better than none.
	if x.in.Local.IsValid() && !Private(x.in.Local) {
		return "mtr -r -c " + reverseCount + " " + x.in.Local.String()
	}
	return "mtr -r -c " + reverseCount + " <this host's public address>"
}

func lower(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
