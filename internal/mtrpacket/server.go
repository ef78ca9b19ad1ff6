package mtrpacket

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/mtr-go/mtr-go/probe"
)

// protocols are the send-probe protocols this helper answers; check-support and send-probe
// both read them. SCTP INITs are built on a raw socket (probe's SCTP prober), so unlike a Linux
// mtr-packet without the kernel's SCTP module, this helper supports "protocol sctp"; a host
// without SCTP answers it with protocol unreachable, which probe reports as reached ("reply").
var protocols = map[string]probe.Protocol{
	"icmp": probe.ICMPProbes,
	"udp":  probe.UDPProbes,
	"tcp":  probe.TCPProbes,
	"sctp": probe.SCTPProbes,
}

// Server answers mtr-packet commands, probing through Open (a probe.Mux's Open in the helper).
type Server struct {
	Open     func(probe.Config) (probe.Prober, error)
	Families map[int]bool // IP versions the host has (4, 6)
	Now      func() time.Time
	// RouteSource, if set, replaces the kernel's choice of source address (tests).
	RouteSource func(netip.Addr) netip.Addr
}

// target is one prober of the server: all probes with the same destination and socket options
// share it, each under a sequence of its own.
type target struct {
	key   probe.Config // Size, Pattern and TOS zeroed: they are set per probe
	p     probe.Prober
	seqs  int // sequence space
	next  int
	inUse map[uint16]bool
}

type pending struct {
	token    int32
	sent     time.Time
	deadline time.Time
}

type probeKey struct {
	t   *target
	seq uint16
}

type answer struct {
	t *target
	r probe.Reply
}

type input struct {
	line     string
	overflow bool
	err      error // io.EOF once stdin is closed
}

// firstSeq is the sequence of a target's first probe, as in mtr-packet.
const firstSeq = 33000

// maxIdleTargets is how many probers without a probe in flight are kept for reuse.
const maxIdleTargets = 64

// Serve reads commands from in and writes replies to out until in is closed and every probe in
// flight is resolved (answered, or no-reply at its timeout), like mtr-packet. A write error ends
// it at once: nobody is listening any more.
func (s *Server) Serve(in io.Reader, out io.Writer) error {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	inputs := make(chan input)
	done := make(chan struct{})
	defer close(done)
	go func() {
		var b lineBuffer
		for {
			for {
				line, overflow, ok := b.next()
				if !ok {
					break
				}
				select {
				case inputs <- input{line: line, overflow: overflow}:
				case <-done:
					return
				}
			}
			if err := b.fill(in); err != nil {
				select {
				case inputs <- input{err: err}:
				case <-done:
				}
				return
			}
		}
	}()

	answers := make(chan answer)
	targets := map[probe.Config]*target{}
	out2 := map[probeKey]*pending{}
	defer func() {
		for _, t := range targets {
			t.p.Close()
		}
	}()
	var werr error
	write := func(line string) {
		if werr == nil {
			_, werr = io.WriteString(out, line+"\n")
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	open := true

	send := func(c Command) {
		p, ok := DecodeProbe(c)
		if !ok {
			write(Simple(c.Token, "invalid-argument"))
			return
		}
		if !s.Families[p.IPVersion] {
			write(Simple(c.Token, "invalid-argument reason ip-version-not-supported"))
			return
		}
		proto, ok := protocols[p.Protocol]
		if !ok {
			write(Simple(c.Token, "invalid-argument reason protocol-not-supported"))
			return
		}
		if len(out2) >= maxProbes {
			write(Simple(c.Token, "probes-exhausted"))
			return
		}
		remote, local, ok := p.Addrs()
		if !ok {
			write(Simple(c.Token, "invalid-argument"))
			return
		}
		if local.IsValid() && local == s.routeSource(remote) {
			// mtr names the source on every probe, the one the kernel picks anyway: probing
			// without one keeps the probe on the sockets opened before the privileges went.
			local = netip.Addr{}
		}
		key := probe.Config{Target: remote, Source: local, Protocol: proto, Port: p.Port, LocalPort: p.LocalPort,
			Mark: uint32(p.Mark), Timeout: time.Duration(max(p.Timeout, 1)) * time.Second}
		if p.Mark < 0 {
			write(Simple(c.Token, "invalid-argument"))
			return
		}
		t := targets[key]
		if t == nil {
			s.evict(targets, out2)
			pr, err := s.Open(key)
			if err != nil {
				write(errorReply(c.Token, err))
				return
			}
			t = &target{key: key, p: pr, seqs: 1 << 16, inUse: map[uint16]bool{}}
			if sq, ok := pr.(probe.Sequencer); ok {
				t.seqs = sq.Sequences()
			}
			// mtr-packet numbers its probes from 33000, and its tests wait for an echo
			// request with that sequence (test/packet_listen.c): so do ours.
			t.next = firstSeq % t.seqs
			targets[key] = t
			go func() {
				for r := range pr.Replies() {
					select {
					case answers <- answer{t, r}:
					case <-done:
						return
					}
				}
			}()
		}
		if err := shape(t.p, p); err != nil {
			write(errorReply(c.Token, err))
			return
		}
		seq, ok := t.alloc()
		if !ok {
			write(Simple(c.Token, "probes-exhausted"))
			return
		}
		sent, err := t.p.Send(seq, p.TTL)
		if err != nil {
			delete(t.inUse, seq)
			write(errorReply(c.Token, err))
			return
		}
		out2[probeKey{t, seq}] = &pending{token: c.Token, sent: sent, deadline: sent.Add(time.Duration(p.Timeout) * time.Second)}
	}

	for werr == nil {
		if !open && len(out2) == 0 {
			return nil
		}
		var first time.Time
		for _, pd := range out2 {
			if first.IsZero() || pd.deadline.Before(first) {
				first = pd.deadline
			}
		}
		var tick <-chan time.Time
		if !first.IsZero() {
			timer.Reset(max(first.Sub(now()), 0))
			tick = timer.C
		}
		in := inputs
		if !open {
			in = nil
		}
		select {
		case ev := <-in:
			switch {
			case ev.err != nil:
				open = false
				if !errors.Is(ev.err, io.EOF) {
					return ev.err
				}
			case ev.overflow:
				write(OverflowLine)
			default:
				c, err := Parse(ev.line)
				switch {
				case err != nil:
					write(ParseErrorLine)
				case c.Name == "check-support":
					feature, ok := c.Get("feature")
					if !ok {
						write(Simple(c.Token, "invalid-argument"))
						break
					}
					write(Simple(c.Token, "feature-support support "+s.support(feature)))
				case c.Name == "send-probe":
					send(c)
				default:
					write(Simple(c.Token, "unknown-command"))
				}
			}
		case a := <-answers:
			k := probeKey{a.t, a.r.Seq}
			pd, ok := out2[k]
			if !ok {
				break
			}
			delete(out2, k)
			delete(a.t.inUse, a.r.Seq)
			sent := pd.sent
			if !a.r.Sent.IsZero() {
				sent = a.r.Sent
			}
			write(ProbeReply(pd.token, kindOf(a.r), a.r.From, a.r.At.Sub(sent).Microseconds(), labelsOf(a.r.MPLS)))
		case <-tick:
			t := now()
			for k, pd := range out2 {
				if !pd.deadline.After(t) {
					delete(out2, k)
					delete(k.t.inUse, k.seq)
					write(Simple(pd.token, "no-reply"))
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
	return werr
}

// routeSource is the source address the kernel picks towards a: a connected UDP socket's own
// address (no packet leaves), as mtr finds the one it sends in local-ip-4/6.
func (s *Server) routeSource(a netip.Addr) netip.Addr {
	if s.RouteSource != nil {
		return s.RouteSource(a)
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 1)))
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// evict closes probers with nothing in flight once there are too many: a long run through many
// destinations must not keep a socket registration per destination.
func (s *Server) evict(targets map[probe.Config]*target, out map[probeKey]*pending) {
	if len(targets) < maxIdleTargets {
		return
	}
	for k, t := range targets {
		if len(t.inUse) == 0 {
			t.p.Close()
			delete(targets, k)
		}
	}
}

// alloc picks a sequence not in flight, round-robin so an answer that comes after its no-reply
// does not land on the next probe.
func (t *target) alloc() (uint16, bool) {
	for range t.seqs {
		seq := uint16(t.next % t.seqs)
		t.next = (t.next + 1) % t.seqs
		if !t.inUse[seq] {
			t.inUse[seq] = true
			return seq, true
		}
	}
	return 0, false
}

// shape sets the probe's size, fill byte and TOS on its prober (the prober is shared by probes
// that differ only in these).
func shape(p probe.Prober, pr Probe) error {
	type shaper interface {
		SetSize(int) error
		SetPattern(int) error
	}
	type tosSetter interface{ SetTOS(int) error }
	if sh, ok := p.(shaper); ok {
		if err := sh.SetSize(pr.Size); err != nil {
			return err
		}
		// mtr-packet fills with memset, which takes the low byte.
		if err := sh.SetPattern(int(uint8(pr.Pattern))); err != nil {
			return err
		}
	}
	if ts, ok := p.(tosSetter); ok {
		return ts.SetTOS(int(uint8(pr.TOS)))
	}
	return nil
}

func (s *Server) support(feature string) string {
	yes := func(b bool) string {
		if b {
			return "ok"
		}
		return "no"
	}
	switch feature {
	case "version":
		return Version
	case "ip-4":
		return yes(s.Families[4])
	case "ip-6":
		return yes(s.Families[6])
	case "send-probe", "mark":
		return "ok"
	case "icmp", "udp", "tcp", "sctp":
		_, ok := protocols[feature]
		return yes(ok)
	}
	return "no"
}

// kindOf names an answer as mtr-packet does: an ICMP port unreachable is the destination's
// answer to a UDP (or TCP, SCTP) probe, any other unreachable is no-route.
func kindOf(r probe.Reply) string {
	switch r.Kind {
	case probe.TimeExceeded:
		return "ttl-expired"
	case probe.Unreachable:
		if (r.From.Is4() && r.Code == 3) || (!r.From.Is4() && r.Code == 4) {
			return "reply"
		}
		return "no-route"
	}
	return "reply"
}

func labelsOf(ls []probe.MPLSLabel) []Label {
	if len(ls) == 0 {
		return nil
	}
	out := make([]Label, len(ls))
	for i, l := range ls {
		out[i] = Label{l.Label, l.TC, l.S, l.TTL}
	}
	return out
}

// errorReply names a failed send as mtr-packet's report_packet_error does, by errno; an error
// without one is a configuration the probe package refused (a size out of range, a TTL of 0).
func errorReply(token int32, err error) string {
	var errno syscall.Errno
	switch {
	case errors.Is(err, probe.ErrPermission), errors.Is(err, probe.ErrNoPrivilege):
		return Simple(token, "permission-denied")
	case !errors.As(err, &errno):
		return Simple(token, "invalid-argument")
	}
	switch errno {
	case syscall.EINVAL:
		return Simple(token, "invalid-argument")
	case syscall.ENETDOWN:
		return Simple(token, "network-down")
	case syscall.ENETUNREACH, syscall.EHOSTUNREACH:
		return Simple(token, "no-route")
	case syscall.EPERM:
		return Simple(token, "permission-denied")
	case syscall.EADDRINUSE:
		return Simple(token, "address-in-use")
	case syscall.EADDRNOTAVAIL:
		return Simple(token, "address-not-available")
	}
	return Simple(token, "unexpected-error errno "+itoa(int(errno)))
}

func itoa(n int) string { return strconv.Itoa(n) }
