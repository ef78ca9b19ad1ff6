package report

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Raw writes mtr's raw event stream (-l):
//
//	x <hop> <seq>           a probe was sent
//	h <hop> <ip>            a hop's latest responder is new (first answer, or a different router)
//	d <hop> <name>          the reverse name of the hop's responder became known
//	p <hop> <rtt µs> <seq>  an answer came
//
// with hop = TTL-1 (0-based) and seq numbered 33000…65535, wrapping, as mtr's tokens. Unlike mtr
// an "h" line is written once per new responder, not twice on first sight (mtr issue #499). With
// -e, an answer carrying MPLS labels is preceded by one line per label:
//
//	m <hop> <label> <tc> <s> <ttl>
type Raw struct {
	w      io.Writer
	names  Names // nil with -n
	token  [1 << 16]uint16
	next   uint16
	latest map[int]netip.Addr
	named  map[int]string
	err    error
}

const (
	firstToken = 33000
	lastToken  = 65535
)

// NewRaw returns a raw writer to w; names gives the reverse names for "d" lines (nil: none).
func NewRaw(w io.Writer, names Names) *Raw {
	return &Raw{w: w, names: names, next: firstToken, latest: make(map[int]netip.Addr), named: make(map[int]string)}
}

// Sent records probe seq going out with ttl.
func (r *Raw) Sent(ttl int, seq uint16) {
	tok := r.next
	r.token[seq] = tok
	if r.next == lastToken {
		r.next = firstToken
	} else {
		r.next++
	}
	r.printf("x %d %d\n", ttl-1, tok)
}

// Reply records the answer from addr to probe seq sent with ttl, rtt after it left.
func (r *Raw) Reply(ttl int, seq uint16, from netip.Addr, rtt time.Duration) {
	hop := ttl - 1
	if r.latest[ttl] != from {
		r.latest[ttl] = from
		r.printf("h %d %s\n", hop, vocab.AddrText(from))
	}
	if r.names != nil && !vocab.IsMasked(from) {
		if n := r.names(from); n != "" && r.named[ttl] != n {
			r.named[ttl] = n
			r.printf("d %d %s\n", hop, n)
		}
	}
	r.printf("p %d %d %d\n", hop, rtt.Microseconds(), r.token[seq])
}

// MPLS records the label stack that the answer to a probe sent with ttl carried; call it just
// before that answer's Reply, as mtr prints "m" lines before the "p" line.
func (r *Raw) MPLS(ttl int, labels []stats.Label) {
	for _, l := range labels {
		r.printf("m %d %d %d %d %d\n", ttl-1, l.Label, l.TC, l.SBit(), l.TTL)
	}
}

// Err returns the first write error.
func (r *Raw) Err() error { return r.err }

func (r *Raw) printf(format string, args ...any) {
	if r.err != nil {
		return
	}
	_, r.err = fmt.Fprintf(r.w, format, args...)
}
