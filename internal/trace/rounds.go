package trace

import "github.com/mtr-go/mtr-go/stats"

// rounds decides which TTL to probe next, the way mtr paces a round: TTLs first..destination, one
// per tick, a round ending once the destination (or an ICMP error) has answered at a TTL already
// probed in this round, once more than maxUnknown TTLs past the last answering one stayed silent,
// or at max. Unlike mtr it decides before sending rather than after, so when answers come back
// within a tick it does not overshoot the destination by one TTL.
type rounds struct {
	first, max, maxUnknown int

	next     int // next TTL of the current round; 0 = a round is about to start
	done     int // complete rounds
	numHosts int // TTLs probed in the last complete round: paces the ticks
}

func newRounds(first, max, maxUnknown int) *rounds {
	// mtr assumes 10 hops until it has seen a round.
	return &rounds{first: first, max: max, maxUnknown: maxUnknown, numHosts: 10}
}

// roundOver reports whether the current round has probed far enough, judging by what the path
// knows about the TTLs already probed in it.
func (r *rounds) roundOver(p *stats.Path) bool {
	if r.next == 0 {
		return false
	}
	if r.next > r.max {
		return true
	}
	silent := 0
	for ttl := r.first; ttl < r.next; ttl++ {
		h := p.Hop(ttl)
		if !h.Known() {
			silent++
			continue
		}
		if h.Addr() == p.Target || h.Err != "" {
			return true
		}
		silent = 0
	}
	return silent > r.maxUnknown
}

// endRound closes the current round.
func (r *rounds) endRound() {
	r.done++
	r.numHosts = max(1, r.next-r.first)
	r.next = 0
}

// take returns the TTL to probe now and advances; the caller has already ended a finished round.
func (r *rounds) take() int {
	if r.next == 0 {
		r.next = r.first
	}
	ttl := r.next
	r.next++
	return ttl
}

// reset starts over (statistics reset): a new round from the first TTL.
func (r *rounds) reset() {
	r.next = 0
	r.done = 0
}
