package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Both directions of a path, read together.
//
// A traceroute's loss is round-trip loss: a probe to hop k is lost on its way out or its answer
// on its way back, and the answer takes the return path from hop k to this host, which is often
// not the forward path reversed. So a fault on the return path shows in the forward table at
// every hop whose answers cross it, starting where the return path parts from the forward one,
// and the forward table alone blames a router that forwards everything. The reverse trace, run
// from the far end towards this host, probes the return path itself: its loss starts at the
// router that drops. Directions puts the two tables side by side and says which reading they
// support.
//
// Routers are matched across the tables by address. A router usually answers from the
// interface that faces whoever probed it, so the same router shows different addresses in the
// two tables; the address a router shows the far end is the near end of the link whose far end
// the next forward hop answers from. Two addresses in one /30 (IPv4) or /126 (IPv6), the sizes
// of point-to-point links, are taken as the two ends of one link: a reverse hop whose address
// shares a link with forward hop j's is the router before hop j (forward hop j-1, or this host
// for j = 1). A router seen in one direction at no address that is, or shares a link with, an
// address of the other's is one that direction alone uses.
//
// Where the paths part, a router may answer from an interface the other direction does not
// cross, and there round trips cannot tell a router dropping what it forwards one way from its
// neighbour dropping what it receives from it: the reading names the router that the table of
// the direction at fault shows first, and its Why says what else the numbers allow.

// Direction is which way along the path a fault lies.
type Direction int

// The directions.
const (
	DirectionUnknown Direction = iota // no fault, or its direction cannot be told
	Outbound                          // from this host towards the destination
	Return                            // from the destination back towards this host
)

// String names the direction as reports print it.
func (d Direction) String() string {
	switch d {
	case Outbound:
		return "outbound"
	case Return:
		return "return"
	}
	return "unknown"
}

// JointKind is what the two directions, read together, say about the path's loss.
type JointKind int

// The joint readings.
const (
	NoReverse     JointKind = iota + 1 // no reverse trace: the forward analysis alone
	BothClean                          // no problem found in either direction
	NoJointLoss                        // neither direction has loss that reaches its end; each direction's findings stand
	ReturnFault                        // loss at a router only the return path uses; the forward loss is its answers crossing it
	OutboundFault                      // loss at a router only the forward path uses; the reverse loss is its answers crossing it
	LinkFault                          // both directions put the loss on one link both use; which way it drops cannot be told
	OutboundOnly                       // only the forward trace loses: the probes are lost going out
	ReturnOnly                         // only the reverse trace loses
	Apart                              // both lose, at places that are not one fault
	Unmatched                          // both lose, each from a router the other table does not show
	Unanswered                         // one direction loses and the other got no answers to compare with
)

var jointNames = map[JointKind]string{
	NoReverse: "no-reverse", BothClean: "both-clean", NoJointLoss: "no-joint-loss",
	ReturnFault: "return-path-fault", OutboundFault: "forward-path-fault", LinkFault: "link-fault",
	OutboundOnly: "forward-only-loss", ReturnOnly: "reverse-only-loss", Apart: "apart", Unmatched: "unmatched", Unanswered: "unanswered",
}

// String is the kind's stable machine name, for JSON and XML.
func (k JointKind) String() string {
	if s, ok := jointNames[k]; ok {
		return s
	}
	return "unknown"
}

// Joint is the analysis of both directions of a path.
type Joint struct {
	// Forward and Reverse are each direction's own analysis. With a reverse trace their Reverse
	// commands are cleared: the other direction has been traced.
	Forward, Reverse Analysis
	Kind             JointKind
	Direction        Direction
	// Router is the address the fault is put at, as the table that shows it names it (the
	// reverse table for ReturnFault and ReturnOnly); zero when none is.
	Router netip.Addr
	// ForwardHops and ReverseHops are the TTLs in each table whose loss the reading accounts
	// for.
	ForwardHops, ReverseHops []int
	// Settled is true when the findings the reading rests on are settled at the 95 % level.
	Settled    bool
	Conclusion string // one line
	Why        string // the reasoning behind it, or ""
	Action     string // what to do, or ""
	Contact    string // whom to tell, or ""
}

// Lines is the joint conclusion as views print it, one line each, after each direction's own
// findings.
func (j Joint) Lines() []string {
	out := []string{"Both directions: " + j.Conclusion}
	if j.Why != "" {
		out = append(out, "Why: "+j.Why)
	}
	if j.Action != "" {
		out = append(out, "Do: "+j.Action)
	}
	if j.Contact != "" {
		out = append(out, "Contact: "+j.Contact)
	}
	return out
}

// Directions analyses the forward trace (this host to the destination) and the reverse trace
// (the far end back to this host, or to the NAT in front of it) and reads them together. A
// reverse Input without hops (the reverse trace failed or never started) gives the forward
// analysis alone, with a note.
func Directions(forward, reverse Input) Joint {
	if len(reverse.Snapshot.Hops) > 0 {
		forward.BothWays, reverse.BothWays = true, true
	}
	j := Joint{Forward: Analyze(forward)}
	if len(reverse.Snapshot.Hops) == 0 {
		j.Kind = NoReverse
		j.Settled = true
		j.Conclusion = "No reverse trace to compare with; the forward direction alone: " + j.Forward.Conclusion
		return j
	}
	j.Reverse = Analyze(reverse)
	j.Forward.Reverse, j.Reverse.Reverse = "", ""
	r := &reader{fwd: forward, rev: reverse, j: &j}
	r.read()
	if !j.Settled {
		j.Conclusion = "Not settled yet: likely " + lower(j.Conclusion)
	}
	return j
}

type reader struct {
	fwd, rev Input
	j        *Joint
}

// lossRun is the finding of loss that reaches the end of a direction's path, or nil. Loss at
// the destination alone (DestThrottles) counts only with dest: a fault on the link in front of
// one end shows as that in the table that ends there, while on its own it is the end limiting
// its answers, which the direction's own analysis says.
func lossRun(a Analysis, dest bool) *Finding {
	for i := range a.Findings {
		if k := a.Findings[i].Kind; k == LossStarts || (dest && k == DestThrottles) {
			return &a.Findings[i]
		}
	}
	return nil
}

func (r *reader) read() {
	j := r.j
	fl, rl := lossRun(j.Forward, false), lossRun(j.Reverse, false)
	fd, rd := lossRun(j.Forward, true), lossRun(j.Reverse, true)
	switch {
	case fd != nil && rd != nil && (fl != nil || rl != nil):
		r.both(fd, rd)
	case fl != nil:
		r.one(fl, j.Reverse, r.rev, Outbound)
	case rl != nil:
		r.one(rl, j.Forward, r.fwd, Return)
	case j.Forward.Clean() && j.Reverse.Clean():
		j.Kind, j.Settled = BothClean, true
		j.Conclusion = "No problem found in either direction."
	default:
		j.Kind, j.Settled = NoJointLoss, true
		j.Conclusion = "Neither direction has loss that reaches its end; each direction's own conclusion stands."
		j.Why = "Forward: " + j.Forward.Conclusion + " Reverse: " + j.Reverse.Conclusion
	}
}

// both reads loss that reaches the end in both directions: fl starts at forward hop s, rl at
// reverse hop q.
func (r *reader) both(fl, rl *Finding) {
	j := r.j
	s, q := fl.Hops[0], rl.Hops[0]
	j.ForwardHops, j.ReverseHops = fl.Hops, rl.Hops
	j.Settled = fl.Settled && rl.Settled
	rPos := r.forwardPos(q) // where the reverse start sits on the forward path
	// Whether the forward start shows in the reverse table; the destination is where the
	// reverse trace starts from.
	fOnRev := r.reverseHopAt(s) != 0 || slices.Contains(hopAt(r.fwd, s), r.fwd.Snapshot.Target)
	F, R := r.fwdName(s), r.revName(q)
	switch {
	case rPos < 0 && fOnRev:
		j.Kind, j.Direction, j.Router = ReturnFault, Return, fl0(rl)
		j.Conclusion = fmt.Sprintf("The loss is on the return path, at %s (reverse hop %d), a router the forward path does not use; forward hops %s lose too only because their answers come back through it.",
			R, q, HopList(fl.Hops))
		j.Why = fmt.Sprintf("Forward loss is round-trip loss: the forward table alone would blame %s, where the return path parts from the forward one, but the reverse table's loss starts at %s, which no forward hop shows. (Round trips cannot tell %s dropping on the way back from %s dropping what it receives from it; the reverse table points at the former.)",
			F, R, R, F)
		j.Action = fmt.Sprintf("Contact whoever runs %s about loss towards %s, with both tables.", j.Router, r.rev.Snapshot.Target)
		j.Contact = farEnd(rl.Contact)
	case rPos >= 0 && !fOnRev:
		j.Kind, j.Direction, j.Router = OutboundFault, Outbound, fl0(fl)
		j.Conclusion = fmt.Sprintf("The loss is on the forward path, at %s, a router the return path does not use; reverse hops %s lose too only because their answers go back through it.",
			F, HopList(rl.Hops))
		j.Why = fmt.Sprintf("The reverse table alone would blame %s (reverse hop %d); the forward table shows the loss starting at %s, which the return path does not cross.", R, q, F)
		j.Action = fmt.Sprintf("Contact whoever runs %s about loss towards %s, with both tables.", j.Router, r.fwd.Snapshot.Target)
		j.Contact = fl.Contact
	case rPos >= 0 && (rPos == s-1 || rPos == s):
		// R is the router before F (or F itself): the reverse table names the link's near end
		// as the far end sees it, which is the address to give whoever runs the link.
		j.Kind, j.Router = LinkFault, fl0(fl)
		j.Conclusion = fmt.Sprintf("The loss is on the link between %s and %s (reverse hop %d): the forward loss starts at the one and the reverse loss at the other.",
			F, R, q)
		j.Why = "Both directions cross that link, each table from its own end; round trips cannot tell which way it drops."
		j.Action = fmt.Sprintf("Contact whoever runs %s about loss on its link towards %s, with both tables.", j.Router, R)
		j.Contact = fl.Contact
	case rPos >= 0:
		j.Kind = Apart
		at := fmt.Sprintf("forward hop %d", rPos)
		if rPos == 0 {
			at = "this host"
		}
		j.Conclusion = fmt.Sprintf("Both directions lose, but at places that are not one fault: forward from %s, reverse from %s (reverse hop %d, %s); there may be two faults, or the path changed between the traces.",
			F, R, q, at)
		j.Why = "Forward: " + j.Forward.Conclusion + " Reverse: " + j.Reverse.Conclusion
	default:
		j.Kind = Unmatched
		j.Conclusion = fmt.Sprintf("Both directions lose, each from a router the other table does not show: forward from %s, reverse from %s (reverse hop %d); the fault is at one of them, on the forward or on the return path.",
			F, R, q)
		j.Why = "Neither router shares an address or a point-to-point link with a hop of the other table, so the tables cannot say which of them both directions cross."
	}
}

// one reads loss that reaches the end of one direction's path (lf, in the direction dir) while
// the other direction, other, has none.
func (r *reader) one(lf *Finding, other Analysis, otherIn Input, dir Direction) {
	j := r.j
	end := lastAnswering(other)
	if end.Sent == 0 {
		// Nothing in the other direction answered: it says nothing about this loss.
		name := "reverse"
		if dir == Return {
			name = "forward"
		}
		j.Kind, j.Settled = Unanswered, true
		j.Conclusion = fmt.Sprintf("The %s trace got no answers, so it cannot place the loss; each direction's own conclusion stands.", name)
		j.Why = "Forward: " + j.Forward.Conclusion + " Reverse: " + j.Reverse.Conclusion
		return
	}
	j.Direction, j.Router = dir, fl0(lf)
	ref := lf.Evidence[len(lf.Evidence)-1]
	// The other direction's silence is evidence only once its end hop's loss is clearly below
	// the rate that reaches this direction's end.
	j.Settled = lf.Settled && coverage(belowZ(float64(end.Lost), float64(end.Sent), ref.Loss/100)) >= 0.95
	clean := "loses nothing"
	if end.Lost > 0 {
		clean = "loses only " + pct(end.Loss) + "%"
	}
	if dir == Outbound {
		j.Kind, j.ForwardHops = OutboundOnly, lf.Hops
		s := lf.Hops[0]
		j.Conclusion = fmt.Sprintf("The loss is on the way out, from %s on; the reverse trace %s (%d of %d at its end), so the answers come back fine and the probes are lost going towards %s.",
			r.fwdName(s), clean, end.Lost, end.Sent, r.fwd.Snapshot.Target)
		j.Action = fmt.Sprintf("Contact whoever runs %s about loss towards %s, with both tables.", j.Router, r.fwd.Snapshot.Target)
		j.Contact = lf.Contact
	} else {
		j.Kind, j.ReverseHops = ReturnOnly, lf.Hops
		q := lf.Hops[0]
		j.Conclusion = fmt.Sprintf("Only the reverse trace loses, from %s (reverse hop %d) on; the forward trace %s (%d of %d at its end), though its answers come back towards %s too.",
			r.revName(q), q, clean, end.Lost, end.Sent, otherIn.Snapshot.Target)
		j.Why = "The reverse trace's probes take a way the forward trace's answers do not (another address, protocol or flow): see the reverse findings."
		j.Action = fmt.Sprintf("Contact whoever runs %s about loss towards %s, with both tables.", j.Router, r.rev.Snapshot.Target)
		j.Contact = farEnd(lf.Contact)
	}
}

func fl0(f *Finding) netip.Addr { return f.Evidence[0].Addr }

// lastAnswering is the evidence of the last hop of a that answered, or zero.
func lastAnswering(a Analysis) HopStats {
	for i := len(a.Regions) - 1; i >= 0; i-- {
		if a.Regions[i].Addr.IsValid() {
			return a.Regions[i]
		}
	}
	return HopStats{}
}

// farEnd rewords the reverse analysis's contact, which speaks from the far end's side: its
// "your network" is the far end's.
func farEnd(contact string) string {
	return strings.Replace(contact, "your ", "the far end's ", 1)
}

// forwardPos is where on the forward path the router at reverse hop q sits: forward TTL j, 0
// for this host, or -1 when the forward table does not show it.
func (r *reader) forwardPos(q int) int {
	h := hopAt(r.rev, q)
	if h == nil {
		return -1
	}
	// The same address is the surer match: it is looked for first.
	for _, link := range []bool{false, true} {
		for _, a := range h {
			if !link && a.IsValid() && a == r.fwd.Local {
				return 0
			}
			for i := range r.fwd.Snapshot.Hops {
				fh := &r.fwd.Snapshot.Hops[i]
				for _, fa := range fh.Addrs {
					switch {
					case !link && fa.IP == a:
						return fh.TTL
					case link && sameLink(fa.IP, a):
						return fh.TTL - 1
					}
				}
			}
		}
	}
	return -1
}

// reverseHopAt is the reverse TTL at which the router at forward hop s shows, or 0.
func (r *reader) reverseHopAt(s int) int {
	for _, h := range r.rev.Snapshot.Hops {
		if h.Known() && r.forwardPos(h.TTL) == s {
			return h.TTL
		}
	}
	return 0
}

// hopAt is the addresses answering TTL ttl of in's path, or nil.
func hopAt(in Input, ttl int) []netip.Addr {
	i := ttl - in.Snapshot.First
	if i < 0 || i >= len(in.Snapshot.Hops) {
		return nil
	}
	var out []netip.Addr
	for _, a := range in.Snapshot.Hops[i].Addrs {
		out = append(out, a.IP)
	}
	return out
}

// sameLink reports whether a and b are the two ends of one point-to-point link: different
// addresses in one /30 (IPv4) or /126 (IPv6), which holds /31 and /127 links too.
func sameLink(a, b netip.Addr) bool {
	a, b = a.Unmap(), b.Unmap()
	if a == b || a.Is4() != b.Is4() || !a.IsValid() {
		return false
	}
	bits := 126
	if a.Is4() {
		bits = 30
	}
	p, err := a.Prefix(bits)
	return err == nil && p.Contains(b)
}

func (r *reader) fwdName(ttl int) string { return hopName(r.fwd, "hop", ttl) }
func (r *reader) revName(ttl int) string { return hopName(r.rev, "reverse hop", ttl) }

// hopName names a table's hop as its sentences do: "hop 3 (198.18.2.2)" in the forward table;
// in the reverse table, whose hop numbers follow in brackets, the address alone.
func hopName(in Input, what string, ttl int) string {
	a := hopAt(in, ttl)
	switch {
	case len(a) == 0:
		return fmt.Sprintf("%s %d", what, ttl)
	case what == "reverse hop":
		return a[0].String()
	}
	return fmt.Sprintf("%s %d (%s)", what, ttl, a[0])
}
