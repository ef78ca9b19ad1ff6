// Package stats keeps mtr's per-hop statistics (Loss%, Snt, Last, Avg, Best, Wrst, StDev, Gmean and
// the jitter fields) and the path model that decides which hops a view shows. It is pure: no I/O,
// no clocks of its own. The scheduler feeds it sends and answers; views read copies (Snapshot).
package stats

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

// HistoryLen is how many of the latest probes a hop remembers for the stripchart views (mtr: 200).
const HistoryLen = 200

// maxAddrs bounds the addresses remembered per hop, so a path that changes constantly cannot grow
// memory without end. mtr keeps 8; ECMP fans and loops rarely need more than a handful.
const maxAddrs = 32

// Addr is one address that answered a hop, with how many answers came from it.
type Addr struct {
	IP    netip.Addr
	Count int
	MPLS  []Label // label stack of its latest answer that carried one (mtr -e), outermost first
}

// Label is one MPLS label stack entry an MPLS router reported (RFC 4950).
type Label struct {
	Label uint32
	TC    uint8
	S     bool // bottom of stack
	TTL   uint8
}

// String is mtr's MPLS line for the label: "[MPLS: Lbl 24001 TC 0 S 1 TTL 1]" (mtr 0.95 prints
// the S bit with a stray "u", a format bug not copied here).
func (l Label) String() string {
	return fmt.Sprintf("[MPLS: Lbl %d TC %d S %d TTL %d]", l.Label, l.TC, l.SBit(), l.TTL)
}

// SBit is the bottom-of-stack flag as the wire carries it, 0 or 1.
func (l Label) SBit() int {
	if l.S {
		return 1
	}
	return 0
}

// Result is one probe in a hop's history. RTT comes first so the struct packs into 16 bytes,
// not 24: every hop of every target holds HistoryLen of them, a third of the memory of a run of
// a thousand targets.
type Result struct {
	RTT     time.Duration
	Seq     uint16
	Pending bool // sent and not (yet) answered; lost once a newer probe went out
}

// Hop holds the statistics of one TTL. Its zero value is an empty hop. A plain copy owns its
// counters and its history (a fixed-size array) but shares Addrs with the original, which new
// answers reorder and count in place (addAddr): a copy that must outlive the next answer clones
// Addrs, as Path.Snapshot does. The MPLS label slices inside Addrs may stay shared: they are
// replaced, never changed in place (setMPLS).
type Hop struct {
	TTL  int
	Sent int // Snt: probes sent to this TTL
	Recv int // Rcv: answers received (late ones included)

	// InFlight is set while the newest probe to this hop is unanswered. Like mtr, such a probe is
	// not yet counted as lost; it is once a newer probe to the same TTL goes out.
	InFlight bool
	lastSeq  uint16

	Last, Best, Worst time.Duration

	mean, m2 float64 // Welford, in milliseconds
	logSum   float64 // sum of ln(rtt ms), for the geometric mean

	prevRTT    time.Duration
	jitter     float64 // Jttr: |rtt - previous rtt| of the latest answer, ms
	jitterMean float64 // Javg
	jitterMax  float64 // Jmax
	jitterInt  float64 // Jint: RFC 3550 interarrival estimator J += (|D| - J)/16, ms

	// Addrs lists every address that answered this hop, the latest responder first.
	Addrs []Addr

	// Err is the text of the ICMP error (destination unreachable) of the latest answer, or "".
	Err string

	// SendErr says why the latest probe to this hop could not be sent (e.g. "network is
	// unreachable" while a route is gone), or "" when it went out. Such a probe counts as lost.
	SendErr string

	hist  [HistoryLen]Result
	hHead int // next slot to write
	hLen  int
}

// Addr returns the latest responder, or the zero Addr when the hop never answered.
func (h *Hop) Addr() netip.Addr {
	if len(h.Addrs) == 0 {
		return netip.Addr{}
	}
	return h.Addrs[0].IP
}

// Note is what a view shows beside the hop: the ICMP error of its latest answer, or why its
// latest probe could not be sent ("cannot send: network is unreachable"), or "".
func (h *Hop) Note() string {
	if h.SendErr != "" {
		return "cannot send: " + h.SendErr
	}
	return h.Err
}

// Known reports whether any address answered this hop.
func (h *Hop) Known() bool { return len(h.Addrs) > 0 }

// sent records a new probe with sequence seq.
func (h *Hop) sent(seq uint16) {
	h.Sent++
	h.SendErr = ""
	h.InFlight = true
	h.lastSeq = seq
	h.hist[h.hHead] = Result{Seq: seq, Pending: true}
	h.hHead = (h.hHead + 1) % HistoryLen
	if h.hLen < HistoryLen {
		h.hLen++
	}
}

// failed records probe seq that the kernel refused to send: counted as sent and lost at once (a
// probe still in flight before it is superseded, so lost too, as mtr counts it).
func (h *Hop) failed(seq uint16, reason string) {
	h.sent(seq)
	h.InFlight = false
	h.SendErr = reason
}

// reply records an answer to probe seq from addr after rtt. errText is "" for a normal answer.
func (h *Hop) reply(seq uint16, addr netip.Addr, rtt time.Duration, errText string) {
	if rtt < 0 {
		rtt = 0
	}
	if seq == h.lastSeq {
		h.InFlight = false
	}
	h.markHistory(seq, rtt)
	h.Recv++
	n := float64(h.Recv)
	ms := float64(rtt) / float64(time.Millisecond)

	h.Last = rtt
	if h.Recv == 1 || rtt < h.Best {
		h.Best = rtt
	}
	if rtt > h.Worst {
		h.Worst = rtt
	}
	d := ms - h.mean
	h.mean += d / n
	h.m2 += d * (ms - h.mean)
	// ln of a zero RTT is -Inf; a nanosecond floor keeps the geometric mean finite.
	h.logSum += math.Log(math.Max(ms, 1e-6))

	if h.Recv == 1 {
		h.jitter = 0
	} else {
		h.jitter = math.Abs(ms - float64(h.prevRTT)/float64(time.Millisecond))
	}
	h.prevRTT = rtt
	h.jitterMean += (h.jitter - h.jitterMean) / n
	h.jitterMax = math.Max(h.jitterMax, h.jitter)
	h.jitterInt += (h.jitter - h.jitterInt) / 16

	h.Err = errText
	h.addAddr(addr)
}

func (h *Hop) markHistory(seq uint16, rtt time.Duration) {
	// The newest slot is nearly always the one answered, so this is O(1) in practice; late answers
	// look back through at most HistoryLen slots.
	for i := 1; i <= h.hLen; i++ {
		r := &h.hist[(h.hHead-i+HistoryLen)%HistoryLen]
		if r.Seq == seq && r.Pending {
			r.Pending = false
			r.RTT = rtt
			return
		}
	}
}

func (h *Hop) addAddr(ip netip.Addr) {
	for i := range h.Addrs {
		if h.Addrs[i].IP == ip {
			a := h.Addrs[i]
			a.Count++
			copy(h.Addrs[1:i+1], h.Addrs[:i])
			h.Addrs[0] = a
			return
		}
	}
	if len(h.Addrs) == maxAddrs {
		h.Addrs = h.Addrs[:maxAddrs-1]
	}
	h.Addrs = append(h.Addrs, Addr{})
	copy(h.Addrs[1:], h.Addrs)
	h.Addrs[0] = Addr{IP: ip, Count: 1}
}

// finish counts the in-flight probe as lost (end of a run).
func (h *Hop) finish() { h.InFlight = false }

// settled is the number of probes whose fate is known: all sent but an in-flight newest one.
func (h *Hop) settled() int {
	if h.InFlight {
		return h.Sent - 1
	}
	return h.Sent
}

// Drop is the number of probes counted as lost.
func (h *Hop) Drop() int { return h.settled() - h.Recv }

// Loss is the share of settled probes that got no answer, in percent.
func (h *Hop) Loss() float64 {
	s := h.settled()
	if s <= 0 {
		return 0
	}
	return 100 * float64(s-h.Recv) / float64(s)
}

// Avg is the mean RTT in milliseconds.
func (h *Hop) Avg() float64 { return h.mean }

// StDev is the sample standard deviation of the RTT in milliseconds (0 with fewer than 2 answers).
func (h *Hop) StDev() float64 {
	if h.Recv < 2 {
		return 0
	}
	return math.Sqrt(h.m2 / float64(h.Recv-1))
}

// Gmean is the geometric mean RTT in milliseconds.
func (h *Hop) Gmean() float64 {
	if h.Recv == 0 {
		return 0
	}
	return math.Exp(h.logSum / float64(h.Recv))
}

// Jitter is the absolute RTT difference between the latest two answers (ms).
func (h *Hop) Jitter() float64 { return h.jitter }

// JitterMean is the mean of Jitter over all answers (ms).
func (h *Hop) JitterMean() float64 { return h.jitterMean }

// JitterMax is the largest Jitter seen (ms).
func (h *Hop) JitterMax() float64 { return h.jitterMax }

// JitterInt is the RFC 3550 interarrival jitter estimate (ms). mtr 0.95 shows this value ×16.
func (h *Hop) JitterInt() float64 { return h.jitterInt }

// Ms converts a duration to milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// History returns the latest results (up to HistoryLen), oldest first.
func (h *Hop) History() []Result {
	out := make([]Result, h.hLen)
	for i := range out {
		out[i] = h.hist[(h.hHead-h.hLen+i+HistoryLen)%HistoryLen]
	}
	return out
}

// Recent returns the i-th newest result (0 is the newest) without copying the history, and
// false when the hop has fewer results than that.
func (h *Hop) Recent(i int) (Result, bool) {
	if i < 0 || i >= h.hLen {
		return Result{}, false
	}
	return h.hist[(h.hHead-1-i+HistoryLen)%HistoryLen], true
}

// setMPLS records the label stack of an answer from ip. The slice is replaced, never changed in
// place, so snapshots may share it.
func (h *Hop) setMPLS(ip netip.Addr, labels []Label) {
	for i := range h.Addrs {
		if h.Addrs[i].IP == ip {
			h.Addrs[i].MPLS = labels
			return
		}
	}
}

// answeredFrom reports whether ip is among the addresses this hop has answered from.
func (h *Hop) answeredFrom(ip netip.Addr) bool {
	for i := range h.Addrs {
		if h.Addrs[i].IP == ip {
			return true
		}
	}
	return false
}
