package reverse

// The wire format between the client and the responder (the --serve server).
//
// Request: POST <URL>/reverse with "Authorization: Bearer <token>" and a JSON body of at most
// MaxBody bytes holding only the fields of Request that are not zero:
//
//	{"protocol":"udp","port":33434,"count":10,"interval":1,"size":64}
//
// There is no field for a target: the responder traces back to the address the request came
// from, and refuses a body with any other field.
//
// Answer: 200 and newline-delimited JSON, one object per line, written as the trace goes:
//
//	{"type":"start","responder":"dest.lab (198.18.5.2)","target":"198.18.0.2","protocol":"icmp","count":10}
//	{"type":"hops","rounds":3,"hops":[{"ttl":1,"sent":3,"recv":3,"last":0.41,"best":0.3,"wrst":0.5,"avg":0.4,"stdev":0.1,"addrs":[{"ip":"198.18.4.1","count":3}]},...]}
//	{"type":"done","rounds":10}            or            {"type":"error","error":"one line"}
//
// Each "hops" line is the whole reverse path as it stands (times in milliseconds), so a client
// that missed lines loses nothing but intermediate states. A refusal is a non-200 status and one
// line of text saying why.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Wire limits. A line of the stream holds at most maxHops hops of maxAddrs addresses each, far
// below MaxLine; anything longer is a hostile or broken responder.
const (
	Path       = "/reverse"
	MaxBody    = 4 << 10 // the largest request body a responder reads
	MaxLine    = 1 << 20 // the longest line of the stream a client reads
	maxHops    = 255
	maxAddrs   = 32
	maxName    = 255 // responder names and error texts are cut to this many bytes
	maxCounter = 1 << 30
	maxRTT     = time.Hour
)

// wireRequest is Request as JSON: the protocol by name, the interval in seconds.
type wireRequest struct {
	Protocol string  `json:"protocol,omitempty"`
	Port     int     `json:"port,omitempty"`
	Count    int     `json:"count,omitempty"`
	Interval float64 `json:"interval,omitempty"`
	Size     int     `json:"size,omitempty"`
}

// MarshalBody is the request body for r.
func (r Request) MarshalBody() []byte {
	w := wireRequest{Protocol: strings.ToLower(r.Protocol.String()), Port: r.Port, Count: r.Count, Size: r.Size, Interval: r.Interval.Seconds()}
	b, _ := json.Marshal(w) // plain numbers and a string: cannot fail
	return b
}

// ParseRequest reads a request body. It refuses any field Request does not have (a target above
// all: nobody may name what the responder traces) and values of the wrong kind; the
// responder's limits are checked apart, by the responder.
func ParseRequest(body []byte) (Request, error) {
	var req Request
	if len(body) > MaxBody {
		return req, fmt.Errorf("request body is larger than %d bytes", MaxBody)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return req, errors.New("request body is not a JSON object")
	}
	for k := range fields {
		switch k {
		case "protocol", "port", "count", "interval", "size":
		default:
			return req, fmt.Errorf("unknown field %q: a request may set protocol, port, count, interval and size, and is traced back to the address it comes from, never to one it names", vocab.StripControl(cut(k, 40)))
		}
	}
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			want := map[string]string{"int": "a whole number", "float64": "a number", "string": "a string"}[te.Type.String()]
			return req, fmt.Errorf("field %q: want %s, not a JSON %s", te.Field, want, te.Value)
		}
		return req, errors.New("request body is not a JSON object")
	}
	req.Protocol = vocab.ICMPProbes // the default
	if w.Protocol != "" {
		p, ok := vocab.ParseProtocol(w.Protocol)
		if !ok {
			return req, fmt.Errorf("protocol %q: want %s", vocab.StripControl(cut(w.Protocol, 40)), vocab.ProtocolNames())
		}
		req.Protocol = p
	}
	if math.IsNaN(w.Interval) || w.Interval < 0 || w.Interval > 3600 {
		return req, fmt.Errorf("interval %g: want seconds from 0 to 3600", w.Interval)
	}
	req.Port, req.Count, req.Size = w.Port, w.Count, w.Size
	req.Interval = time.Duration(w.Interval * float64(time.Second))
	return req, nil
}

// Line is one line of the answer stream.
type Line struct {
	Type      string    `json:"type"` // start, hops, done, error
	Responder string    `json:"responder,omitempty"`
	Target    string    `json:"target,omitempty"`
	Protocol  string    `json:"protocol,omitempty"`
	Count     int       `json:"count,omitempty"`
	Rounds    int       `json:"rounds,omitempty"`
	Hops      []WireHop `json:"hops,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// WireHop is one hop of a "hops" line: mtr's summary of it, times in milliseconds.
type WireHop struct {
	TTL   int        `json:"ttl"`
	Sent  int        `json:"sent"`
	Recv  int        `json:"recv"`
	Last  float64    `json:"last"`
	Best  float64    `json:"best"`
	Wrst  float64    `json:"wrst"`
	Avg   float64    `json:"avg"`
	StDev float64    `json:"stdev"`
	Note  string     `json:"note,omitempty"` // the ICMP error of its latest answer
	Addrs []WireAddr `json:"addrs,omitempty"`
}

// WireAddr is an address that answered a hop, and how often.
type WireAddr struct {
	IP    string `json:"ip"`
	Count int    `json:"count"`
}

// HopsLine is the "hops" line for a snapshot of the responder's trace.
func HopsLine(s stats.Snapshot, rounds int) Line {
	l := Line{Type: "hops", Rounds: rounds, Hops: make([]WireHop, 0, len(s.Hops))}
	for _, h := range s.Hops {
		// Like mtr's report, a probe still in flight is not counted: sent and lost agree.
		sent := h.Sent
		if h.InFlight {
			sent--
		}
		w := WireHop{TTL: h.TTL, Sent: sent, Recv: min(h.Recv, max(sent, 0)), Last: ms(h.Last), Best: ms(h.Best), Wrst: ms(h.Worst), Avg: h.Avg(), StDev: h.StDev(), Note: h.Note()}
		for i, a := range h.Addrs {
			if i == maxAddrs {
				break
			}
			w.Addrs = append(w.Addrs, WireAddr{IP: a.IP.String(), Count: a.Count})
		}
		l.Hops = append(l.Hops, w)
	}
	return l
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Marshal is the line as sent, newline included.
func (l Line) Marshal() []byte {
	b, _ := json.Marshal(l) // strings, numbers and slices of them: cannot fail
	return append(b, '\n')
}

// parser turns the stream's lines into Updates, checking each as text from the network: sizes
// bounded, names stripped of control characters, numbers within reason.
type parser struct {
	started bool
	cur     Update
}

// errStream says the responder's stream broke the wire format.
var errStream = errors.New("responder sent an invalid stream")

// line reads one line of the stream. final is set by a done or error line, after which nothing
// more is read.
func (p *parser) line(b []byte) (u Update, final bool, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return p.cur, false, errors.New("empty line")
	}
	if len(b) > MaxLine {
		return p.cur, false, fmt.Errorf("line longer than %d bytes", MaxLine)
	}
	var l Line
	if err := json.Unmarshal(b, &l); err != nil {
		return p.cur, false, fmt.Errorf("not a JSON line: %s", vocab.StripControl(cut(err.Error(), 80)))
	}
	if !p.started && l.Type != "start" && l.Type != "error" {
		return p.cur, false, fmt.Errorf("%q line before the start line", vocab.StripControl(cut(l.Type, 20)))
	}
	switch l.Type {
	case "start":
		if p.started {
			return p.cur, false, errors.New("a second start line")
		}
		t, err := netip.ParseAddr(l.Target)
		if err != nil || t.Zone() != "" {
			return p.cur, false, fmt.Errorf("start line: target %q is not an address", vocab.StripControl(cut(l.Target, 60)))
		}
		p.started = true
		p.cur.Responder = clean(l.Responder)
		p.cur.Target = t.Unmap()
		p.cur.Snapshot = stats.Snapshot{Target: p.cur.Target}
		return p.cur, false, nil
	case "hops":
		snap, err := hops(l.Hops)
		if err != nil {
			return p.cur, false, err
		}
		if l.Rounds < 0 || l.Rounds > maxCounter {
			return p.cur, false, fmt.Errorf("rounds %d out of range", l.Rounds)
		}
		snap.Target = p.cur.Target
		p.cur.Snapshot, p.cur.Rounds = snap, l.Rounds
		return p.cur, false, nil
	case "done":
		if l.Rounds < 0 || l.Rounds > maxCounter {
			return p.cur, false, fmt.Errorf("rounds %d out of range", l.Rounds)
		}
		p.cur.Rounds = max(p.cur.Rounds, l.Rounds)
		p.cur.Done = true
		return p.cur, true, nil
	case "error":
		msg := clean(l.Error)
		if msg == "" {
			msg = "stopped without saying why"
		}
		p.cur.Err = fmt.Errorf("responder: %s", msg)
		return p.cur, true, nil
	}
	return p.cur, false, fmt.Errorf("unknown line type %q", vocab.StripControl(cut(l.Type, 20)))
}

// hops checks a "hops" line's hops (consecutive TTLs, counters and times within reason, real
// addresses) and turns them into a Snapshot through stats.FromSummary.
func hops(ws []WireHop) (stats.Snapshot, error) {
	var s stats.Snapshot
	if len(ws) > maxHops {
		return s, fmt.Errorf("%d hops: at most %d", len(ws), maxHops)
	}
	for i, w := range ws {
		if w.TTL < 1 || w.TTL > maxHops || (i > 0 && w.TTL != ws[i-1].TTL+1) {
			return s, fmt.Errorf("hop %d: TTL %d out of order", i+1, w.TTL)
		}
		if w.Sent < 0 || w.Sent > maxCounter || w.Recv < 0 || w.Recv > w.Sent {
			return s, fmt.Errorf("hop %d: %d answers to %d probes", w.TTL, w.Recv, w.Sent)
		}
		var times [5]time.Duration
		for j, v := range []float64{w.Last, w.Best, w.Wrst, w.Avg, w.StDev} {
			if math.IsNaN(v) || v < 0 || v > ms(maxRTT) {
				return s, fmt.Errorf("hop %d: time %g ms out of range", w.TTL, v)
			}
			times[j] = time.Duration(v * float64(time.Millisecond))
		}
		if len(w.Addrs) > maxAddrs {
			return s, fmt.Errorf("hop %d: %d addresses, at most %d", w.TTL, len(w.Addrs), maxAddrs)
		}
		sum := stats.Summary{TTL: w.TTL, Sent: w.Sent, Recv: w.Recv, Last: times[0], Best: times[1], Wrst: times[2], Avg: w.Avg, StDev: w.StDev}
		for _, a := range w.Addrs {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil || ip.Zone() != "" || a.Count < 0 || a.Count > maxCounter {
				return s, fmt.Errorf("hop %d: address %q is not an address", w.TTL, vocab.StripControl(cut(a.IP, 60)))
			}
			sum.Addrs = append(sum.Addrs, stats.Addr{IP: ip.Unmap(), Count: a.Count})
		}
		h := stats.FromSummary(sum)
		h.Err = clean(w.Note)
		if i == 0 {
			s.First = w.TTL
		}
		s.Hops = append(s.Hops, h)
	}
	return s, nil
}

// clean makes text from the network fit for one line of a view: valid UTF-8, no control
// characters, no format characters (a right-to-left override would make the rest of the
// "Reverse: from ... to ..." line read backwards, the traced address as another), at most
// maxName bytes.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, vocab.StripControl(cut(strings.ToValidUTF8(s, "?"), maxName)))
	return strings.TrimSpace(s)
}

// cut shortens s to at most n bytes without splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
