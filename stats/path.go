package stats

import (
	"net/netip"
	"slices"
	"time"
)

// Path is the set of hops between the local host and one target, indexed by TTL.
type Path struct {
	Target netip.Addr
	First  int // first TTL probed (mtr -f)
	Max    int // largest TTL probed (mtr -m)
	hops   []Hop

	// changes counts answers from an address new to a hop that had answered before: the path
	// moved (or an ECMP branch showed itself for the first time, which happens once per branch).
	changes int
}

// NewPath returns an empty path to target for TTLs first..max.
func NewPath(target netip.Addr, first, max int) *Path {
	p := &Path{Target: target, First: first, Max: max, hops: make([]Hop, max)}
	for i := range p.hops {
		p.hops[i].TTL = i + 1
	}
	return p
}

// Hop returns the live hop for ttl (1-based), or nil when ttl is outside 1..Max.
func (p *Path) Hop(ttl int) *Hop {
	if ttl < 1 || ttl > len(p.hops) {
		return nil
	}
	return &p.hops[ttl-1]
}

// Sent records that probe seq went out with this ttl.
func (p *Path) Sent(ttl int, seq uint16) {
	if h := p.Hop(ttl); h != nil {
		h.sent(seq)
	}
}

// SendFailed records that probe seq to ttl could not be sent, and why: a lost probe.
func (p *Path) SendFailed(ttl int, seq uint16, reason string) {
	if h := p.Hop(ttl); h != nil {
		h.failed(seq, reason)
	}
}

// Reply records an answer from addr to probe seq sent with ttl, rtt after it left. errText is the
// ICMP error shown for the hop ("no route to host"), or "" for an echo reply or time exceeded.
func (p *Path) Reply(ttl int, seq uint16, addr netip.Addr, rtt time.Duration, errText string) {
	if h := p.Hop(ttl); h != nil {
		if h.Known() && !h.answeredFrom(addr) {
			p.changes++
		}
		h.reply(seq, addr, rtt, errText)
	}
}

// MPLS records the MPLS label stack carried by an answer from addr at ttl (call after Reply).
func (p *Path) MPLS(ttl int, addr netip.Addr, labels []Label) {
	if h := p.Hop(ttl); h != nil {
		h.setMPLS(addr, labels)
	}
}

// Finish counts every probe still in flight as lost; called when a run ends.
func (p *Path) Finish() {
	for i := range p.hops {
		p.hops[i].finish()
	}
}

// Reset forgets all statistics (mtr's `r` key).
func (p *Path) Reset() {
	for i := range p.hops {
		p.hops[i] = Hop{TTL: i + 1}
	}
	p.changes = 0
}

// DestTTL returns the lowest TTL whose latest responder is the target, or 0.
func (p *Path) DestTTL() int {
	for i := range p.hops {
		if p.hops[i].Known() && p.hops[i].Addr() == p.Target {
			return i + 1
		}
	}
	return 0
}

// End returns the last TTL a view shows, as mtr decides it: the first hop reached by the target or
// answering with an ICMP error; otherwise one row past the last hop that has an address (so
// trailing silence shows as a single ??? row), never beyond Max.
func (p *Path) End() int {
	last := 0
	for i := range p.hops {
		h := &p.hops[i]
		if !h.Known() {
			continue
		}
		if h.Addr() == p.Target || h.Err != "" {
			return i + 1
		}
		last = i + 1
	}
	return min(last+1, p.Max)
}

// Snapshot is an independent copy of a path's hops from First to End, for views.
type Snapshot struct {
	Target netip.Addr
	First  int
	Hops   []Hop // Hops[i].TTL == First+i

	// PathChanges counts answers that came from an address new to a hop that had already
	// answered from another one: a route change, or the first sight of each further ECMP branch.
	PathChanges int
}

// Snapshot copies the hops a view shows.
func (p *Path) Snapshot() Snapshot {
	end := p.End()
	s := Snapshot{Target: p.Target, First: p.First, PathChanges: p.changes}
	if end < p.First {
		return s
	}
	s.Hops = make([]Hop, 0, end-p.First+1)
	for ttl := p.First; ttl <= end; ttl++ {
		h := p.hops[ttl-1]
		h.Addrs = slices.Clone(h.Addrs)
		s.Hops = append(s.Hops, h)
	}
	return s
}
