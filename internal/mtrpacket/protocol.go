// Package mtrpacket speaks mtr-packet's line protocol (mtr 0.95), in both directions: Serve is
// the helper end (cmd/mtr-go-packet: commands on stdin, replies on stdout, probes through a
// probe.Mux), and Client drives a helper process (ours or mtr's own mtr-packet) as a
// probe.Prober for mtr-go. This file is the wire format only, pure so it can be table-tested and
// fuzzed: the command buffer, the tokenizer, send-probe's arguments and every reply line.
package mtrpacket

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Version is what "check-support feature version" answers: the mtr-packet this helper stands in for.
const Version = "0.95"

// Limits of mtr-packet 0.95: its command buffer (a command must end within it), the pairs after
// the command name, and the probes it keeps in flight.
const (
	bufferSize = 4096
	maxArgs    = 16
	maxProbes  = 1024
)

// Arg is one name-value pair after the command name.
type Arg struct{ Name, Value string }

// Command is one parsed line: "TOKEN NAME [ARG VALUE]...". Replies have the same shape.
type Command struct {
	Token int32
	Name  string
	Args  []Arg
}

// Get returns the value of the first argument called name.
func (c Command) Get(name string) (string, bool) {
	for _, a := range c.Args {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// errParse is any line mtr-packet answers with "0 command-parse-error".
var errParse = errors.New("command-parse-error")

// isSpace is C's isspace in the "C" locale, which is what separates mtr-packet's tokens.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// fields splits on isSpace; Go's strings.Fields would also split on Unicode spaces.
func fields(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			out = append(out, s[i:j])
		}
		i = j
	}
	return out
}

// Parse reads one line (without its newline) as mtr-packet does: at least a token and a name,
// then pairs; an odd pair, more than 16 pairs or a token out of range is a parse error. The
// token is read like C's strtol without an end check: "12x" is 12 and "x" is 0, as in mtr-packet.
func Parse(line string) (Command, error) {
	toks := fields(line)
	if len(toks) < 2 || len(toks) > 2+2*maxArgs {
		return Command{}, errParse
	}
	tok, ok := strtol(toks[0])
	if !ok {
		return Command{}, errParse
	}
	c := Command{Token: int32(tok), Name: toks[1]} // mtr-packet keeps the token in an int
	for i := 2; i < len(toks); i += 2 {
		if i+1 >= len(toks) {
			return Command{}, errParse
		}
		c.Args = append(c.Args, Arg{toks[i], toks[i+1]})
	}
	return c, nil
}

// strtol reads a leading decimal number like C's strtol: an optional sign, then digits; none
// gives 0. ok is false when the value does not fit in 64 bits (strtol's ERANGE).
func strtol(s string) (int64, bool) {
	n, _, ok := strtolEnd(s)
	return n, ok
}

// strtolEnd also says whether the whole string was the number (strtol's *endptr == 0).
func strtolEnd(s string) (n int64, whole, ok bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, s == "", true // no digits: strtol leaves endptr at the start
	}
	u, err := strconv.ParseUint(s[i:j], 10, 64)
	if err != nil || (!neg && u > math.MaxInt64) || (neg && u > 1<<63) {
		return 0, j == len(s), false
	}
	if neg {
		return int64(-u), j == len(s), true
	}
	return int64(u), j == len(s), true
}

// cInt reads an argument value as mtr-packet's decode does: strtol with an end check, stored in
// a C int. A value beyond 64 bits saturates there, as strtol's does, then wraps to 32.
func cInt(s string) (int, bool) {
	n, whole, ok := strtolEnd(s)
	if !whole {
		return 0, false
	}
	if !ok {
		n = math.MaxInt64
		if strings.HasPrefix(strings.TrimLeft(s, " \t\n\v\f\r"), "-") {
			n = math.MinInt64
		}
	}
	return int(int32(n)), true
}

// Probe is a decoded send-probe command, with mtr-packet's defaults.
type Probe struct {
	Token     int32
	IPVersion int    // 4 or 6; 0 when no ip-4/ip-6 was given
	Remote    string // as given; checked by Addrs
	Local     string
	Protocol  string // icmp, udp, tcp or sctp
	Port      int
	LocalPort int
	TOS       int
	Mark      int
	Size      int
	Pattern   int
	TTL       int
	Timeout   int // seconds
}

// DecodeProbe reads send-probe's arguments; false means "invalid-argument" (a bad number, an
// unknown protocol, a local port below 1024). Names it does not know are ignored, as mtr-packet
// ignores them.
func DecodeProbe(c Command) (Probe, bool) {
	p := Probe{Token: c.Token, Protocol: "icmp", TTL: 255, Size: 64, Timeout: 10}
	for _, a := range c.Args {
		var dst *int
		switch a.Name {
		case "ip-4", "ip-6":
			p.IPVersion = 4
			if a.Name == "ip-6" {
				p.IPVersion = 6
			}
			p.Remote = a.Value
		case "local-ip-4", "local-ip-6":
			p.Local = a.Value
		case "protocol":
			switch a.Value {
			case "icmp", "udp", "tcp", "sctp":
				p.Protocol = a.Value
			default:
				return p, false
			}
		case "port":
			dst = &p.Port
		case "local-port":
			dst = &p.LocalPort
		case "tos":
			dst = &p.TOS
		case "mark":
			dst = &p.Mark
		case "size":
			dst = &p.Size
		case "bit-pattern":
			dst = &p.Pattern
		case "ttl":
			dst = &p.TTL
		case "timeout":
			dst = &p.Timeout
		}
		if dst != nil {
			n, ok := cInt(a.Value)
			if !ok {
				return p, false
			}
			*dst = n
			if dst == &p.LocalPort && n < 1024 {
				return p, false // a privileged port is never bound for a caller
			}
		}
	}
	return p, true
}

// Addrs parses the remote and local addresses in the probe's family the way inet_pton does:
// no zones, no names, an IPv4 address only after ip-4.
func (p Probe) Addrs() (remote, local netip.Addr, ok bool) {
	parse := func(s string) (netip.Addr, bool) {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" || a.Is4() != (p.IPVersion == 4) || a.Is4In6() {
			return netip.Addr{}, false
		}
		return a, true
	}
	if remote, ok = parse(p.Remote); !ok {
		return
	}
	if p.Local != "" {
		if local, ok = parse(p.Local); !ok {
			return
		}
	}
	return remote, local, true
}

// Label is one MPLS label stack entry of a reply.
type Label struct {
	Label uint32
	TC    uint8
	S     bool
	TTL   uint8
}

// ProbeReply formats an answer: kind is reply, ttl-expired or no-route; the round trip is in
// whole microseconds; labels follow as "mpls L,TC,S,TTL[,L,TC,S,TTL...]".
func ProbeReply(token int32, kind string, from netip.Addr, rttMicros int64, labels []Label) string {
	ipArg := "ip-4"
	if from.Is6() && !from.Is4In6() {
		ipArg = "ip-6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s %s %s round-trip-time %d", token, kind, ipArg, from.Unmap().WithZone(""), int32(rttMicros))
	for i, l := range labels {
		sep := ","
		if i == 0 {
			sep = " mpls "
		}
		s := 0
		if l.S {
			s = 1
		}
		fmt.Fprintf(&b, "%s%d,%d,%d,%d", sep, l.Label, l.TC, s, l.TTL)
	}
	return b.String()
}

// Simple formats a reply that is only a token and a name, e.g. "7 no-reply".
func Simple(token int32, name string) string { return fmt.Sprintf("%d %s", token, name) }

// The lines mtr-packet writes with token 0 for input it cannot take.
const (
	ParseErrorLine = "0 command-parse-error"
	OverflowLine   = "0 command-buffer-overflow"
)

// lineBuffer is mtr-packet's command buffer: reads fill at most 4095 bytes; complete lines are
// taken from the front; a full buffer without a newline is thrown away whole with an overflow
// reply. Like the C code, it looks for the newline only up to the first NUL byte.
type lineBuffer struct {
	buf [bufferSize]byte
	n   int
}

// fill reads once from r into the free space.
func (b *lineBuffer) fill(r io.Reader) error {
	n, err := r.Read(b.buf[b.n : bufferSize-1])
	b.n += n
	if n == 0 && err == nil {
		return nil
	}
	return err
}

// next returns the next complete line, or overflow once the buffer is full without one, or
// ok false when more input is needed.
func (b *lineBuffer) next() (line string, overflow, ok bool) {
	data := b.buf[:b.n]
	end := len(data)
	for i, c := range data {
		if c == 0 {
			end = i
			break
		}
	}
	for i, c := range data[:end] {
		if c == '\n' {
			line = string(data[:i])
			b.n = copy(b.buf[:], data[i+1:])
			return line, false, true
		}
	}
	if b.n >= bufferSize-1 {
		b.n = 0
		return "", true, true
	}
	return "", false, false
}

// Reply is one line a helper wrote, read by the client end.
type Reply struct {
	Token  int32
	Kind   string     // reply, ttl-expired, no-route, no-reply, feature-support, probes-exhausted, ...
	From   netip.Addr // for an answer from the network; zero for a send error
	RTT    time.Duration
	Labels []Label
	Args   []Arg // all of them, e.g. support, reason, errno
}

// ParseReply reads a helper's reply line. An answer (a from address) must carry its round
// trip, as mtr insists; MPLS labels come in fours.
func ParseReply(line string) (Reply, error) {
	c, err := Parse(line)
	if err != nil {
		return Reply{}, fmt.Errorf("unreadable reply %q", line)
	}
	r := Reply{Token: c.Token, Kind: c.Name, Args: c.Args}
	for _, v := range []string{"ip-4", "ip-6"} {
		s, ok := c.Get(v)
		if !ok {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" || a.Is4() != (v == "ip-4") {
			return Reply{}, fmt.Errorf("reply %q: bad address %q", line, s)
		}
		r.From = a
	}
	if !r.From.IsValid() {
		return r, nil
	}
	s, ok := c.Get("round-trip-time")
	us, err := strconv.ParseInt(s, 10, 32)
	if !ok || err != nil || us < 0 {
		return Reply{}, fmt.Errorf("reply %q: no round-trip-time", line)
	}
	r.RTT = time.Duration(us) * time.Microsecond
	if s, ok := c.Get("mpls"); ok {
		parts := strings.Split(s, ",")
		if len(parts)%4 != 0 {
			return Reply{}, fmt.Errorf("reply %q: mpls wants groups of 4", line)
		}
		for i := 0; i < len(parts); i += 4 {
			var n [4]uint64
			for j := range n {
				if n[j], err = strconv.ParseUint(parts[i+j], 10, 32); err != nil {
					return Reply{}, fmt.Errorf("reply %q: bad mpls value %q", line, parts[i+j])
				}
			}
			if n[0] >= 1<<20 || n[1] > 7 || n[2] > 1 || n[3] > 255 {
				return Reply{}, fmt.Errorf("reply %q: mpls entry out of range", line)
			}
			r.Labels = append(r.Labels, Label{Label: uint32(n[0]), TC: uint8(n[1]), S: n[2] == 1, TTL: uint8(n[3])})
		}
	}
	return r, nil
}
