package mtrpacket

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mtr-go/mtr-go/probe"
)

// Client drives a helper process that speaks mtr-packet's protocol (mtr-go-packet, or mtr's
// own mtr-packet) and opens probe.Probers on it: mtr-go then needs no privilege itself, the
// helper holds cap_net_raw. One helper serves every target; each probe is one send-probe whose
// token names it until its reply.
type Client struct {
	path string
	cmd  *exec.Cmd
	in   io.WriteCloser

	mu       sync.Mutex
	err      error // why the helper is gone, once it is
	token    int32
	inflight map[int32]inflight
	checks   map[int32]chan string
	support  map[string]string
	probers  map[*helperProber]struct{}
	done     chan struct{} // closed when the helper's output ends
}

type inflight struct {
	p    *helperProber
	seq  uint16
	sent time.Time
}

// checkWait is how long a check-support answer may take: the helper answers at once.
const checkWait = 10 * time.Second

// Start runs the helper at path and checks it speaks the protocol (check-support send-probe).
// Its stderr is ours, as mtr passes mtr-packet's through.
func Start(path string) (*Client, error) {
	cmd := exec.Command(path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("packet helper: %w", err)
	}
	c := &Client{path: path, cmd: cmd, in: in, inflight: map[int32]inflight{}, checks: map[int32]chan string{},
		support: map[string]string{}, probers: map[*helperProber]struct{}{}, done: make(chan struct{})}
	go c.read(out)
	if s, err := c.check("send-probe"); err != nil || s != "ok" {
		c.Close()
		if err == nil {
			err = fmt.Errorf("answers %q to check-support send-probe", s)
		}
		return nil, fmt.Errorf("packet helper %s: %w", path, err)
	}
	return c, nil
}

// nextToken returns a token not in flight; c.mu is held.
func (c *Client) nextToken() int32 {
	for {
		c.token++
		if c.token <= 0 {
			c.token = 1 // 0 is the helper's token for lines it could not read
		}
		if _, busy := c.inflight[c.token]; !busy {
			if _, busy := c.checks[c.token]; !busy {
				return c.token
			}
		}
	}
}

// check asks the helper whether it supports feature, once per feature.
func (c *Client) check(feature string) (string, error) {
	c.mu.Lock()
	if s, ok := c.support[feature]; ok {
		c.mu.Unlock()
		return s, nil
	}
	if c.err != nil {
		c.mu.Unlock()
		return "", c.err
	}
	tok := c.nextToken()
	ch := make(chan string, 1)
	c.checks[tok] = ch
	_, err := fmt.Fprintf(c.in, "%d check-support feature %s\n", tok, feature)
	c.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("packet helper: %w", err)
	}
	select {
	case s := <-ch:
		c.mu.Lock()
		c.support[feature] = s
		c.mu.Unlock()
		return s, nil
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return "", c.err
	case <-time.After(checkWait):
		return "", errors.New("packet helper: no answer to check-support")
	}
}

// read takes the helper's replies until its output ends.
func (c *Client) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, bufferSize), bufferSize)
	for sc.Scan() {
		r, err := ParseReply(sc.Text())
		if err != nil {
			continue // a line we cannot read names no probe we could count
		}
		c.deliver(r)
	}
	// A line beyond the protocol's buffer ends the reading: stop the helper too, or it would run
	// on unread (blocking on a full pipe) while every probe went unanswered without a word.
	serr := sc.Err()
	if serr != nil {
		c.cmd.Process.Kill()
	}
	err := c.cmd.Wait()
	c.mu.Lock()
	switch {
	case errors.Is(serr, bufio.ErrTooLong):
		c.err = fmt.Errorf("packet helper %s: stopped: it wrote a line too long for mtr-packet's protocol (over %d bytes)", c.path, bufferSize)
	case serr != nil:
		c.err = fmt.Errorf("packet helper %s: %w", c.path, serr)
	case err != nil:
		c.err = fmt.Errorf("packet helper %s: %w", c.path, err)
	default:
		c.err = fmt.Errorf("packet helper %s exited", c.path)
	}
	for p := range c.probers {
		p.shut()
	}
	clear(c.probers)
	c.mu.Unlock()
	close(c.done)
}

func (c *Client) deliver(r Reply) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.checks[r.Token]; ok {
		delete(c.checks, r.Token)
		s := "no"
		for _, a := range r.Args {
			if a.Name == "support" {
				s = a.Value
			}
		}
		ch <- s
		return
	}
	f, ok := c.inflight[r.Token]
	if !ok {
		return
	}
	delete(c.inflight, r.Token)
	if _, live := c.probers[f.p]; !live {
		return
	}
	if !r.From.IsValid() {
		if r.Kind != "no-reply" {
			msg := r.Kind
			for _, a := range r.Args {
				msg += " " + a.Name + " " + a.Value
			}
			f.p.failed = errors.New("packet helper: " + msg)
		}
		return
	}
	pr := probe.Reply{Seq: f.seq, From: r.From.Unmap(), Sent: f.sent, At: f.sent.Add(r.RTT)}
	v6 := pr.From.Is6()
	switch r.Kind {
	case "ttl-expired":
		pr.Kind = probe.TimeExceeded
	case "reply":
		switch f.p.cfg.Protocol {
		case probe.UDPProbes:
			// The helper says reply for a port unreachable: ours, as the probe package gives it.
			pr.Kind, pr.Code = probe.Unreachable, 3
			if v6 {
				pr.Code = 4
			}
		case probe.TCPProbes, probe.SCTPProbes:
			// A connection answered (SYN-ACK, RST; INIT-ACK, ABORT) or a host without the
			// protocol said so: the destination, as the probe package gives it.
			pr.Kind = probe.Reached
		default:
			pr.Kind = probe.EchoReply
		}
	case "no-route", "network-down":
		pr.Kind, pr.Code = probe.Unreachable, 1 // IPv4 host unreachable: "no route to host"
		if v6 {
			pr.Code = 0 // IPv6 no route to destination
		}
		if r.Kind == "network-down" && !v6 {
			pr.Code = 0
		}
	default:
		return
	}
	for _, l := range r.Labels {
		pr.MPLS = append(pr.MPLS, probe.MPLSLabel{Label: l.Label, TC: l.TC, S: l.S, TTL: l.TTL})
	}
	select {
	case f.p.q <- pr:
	default: // the scheduler is not reading: dropped, like a full queue of the Mux
	}
}

// Open opens a prober for cfg on the helper, after asking it for cfg's IP version and protocol.
func (c *Client) Open(cfg probe.Config) (probe.Prober, error) {
	if !cfg.Target.IsValid() {
		return nil, errors.New("probe: no target address")
	}
	cfg.Target = cfg.Target.Unmap().WithZone("")
	if cfg.Paris {
		return nil, errors.New("--paris cannot be used with a packet helper: mtr-packet's protocol has no flow-keeping mode")
	}
	var proto string
	switch cfg.Protocol {
	case probe.ICMPProbes:
		proto = "icmp"
	case probe.UDPProbes:
		proto = "udp"
	case probe.TCPProbes:
		proto = "tcp"
	case probe.SCTPProbes:
		proto = "sctp"
	default:
		return nil, fmt.Errorf("probe: protocol %v is not available over a packet helper", cfg.Protocol)
	}
	ipv := "ip-4"
	if cfg.Target.Is6() {
		ipv = "ip-6"
	}
	for _, f := range []string{ipv, proto} {
		s, err := c.check(f)
		if err != nil {
			return nil, err
		}
		if s != "ok" {
			return nil, fmt.Errorf("packet helper %s does not support %s probes", c.path, strings.TrimPrefix(f, "ip-"))
		}
	}
	if cfg.Interface != "" && !cfg.Source.IsValid() {
		// The protocol has no interface argument (mtr 0.95 turns -I into an address too).
		src, err := interfaceAddr(cfg.Interface, cfg.Target.Is6())
		if err != nil {
			return nil, err
		}
		cfg.Source = src
	}
	if cfg.Mark != 0 {
		if s, err := c.check("mark"); err != nil || s != "ok" {
			return nil, fmt.Errorf("packet helper %s does not support firewall marks", c.path)
		}
	}
	p := &helperProber{c: c, cfg: cfg, q: make(chan probe.Reply, 1024), ipv: ipv, proto: proto, size: cfg.Size, pattern: cfg.Pattern, tos: cfg.TOS}
	p.local = cfg.Source
	if !p.local.IsValid() {
		if conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.Target, 1))); err == nil {
			p.local = conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
			conn.Close()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	c.probers[p] = struct{}{}
	return p, nil
}

// interfaceAddr is the first address of the wanted family on the interface.
func interfaceAddr(name string, v6 bool) (netip.Addr, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}, err
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is6() == v6 && !ip.IsLinkLocalUnicast() {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no IPv%d address", name, map[bool]int{false: 4, true: 6}[v6])
}

// Close ends the helper: stdin closed, then SIGTERM as mtr sends it, since probes still in
// flight would keep it up to their timeout.
func (c *Client) Close() error {
	c.in.Close()
	c.cmd.Process.Signal(syscall.SIGTERM)
	<-c.done
	return nil
}

// helperProber is one target's prober on a helper.
type helperProber struct {
	c           *Client
	cfg         probe.Config
	q           chan probe.Reply
	ipv, proto  string
	local       netip.Addr
	size        int // c.mu
	pattern     int
	tos         int
	failed      error // a send the helper refused, reported by the next Send
	closed      bool
	closedQueue bool
}

// Send writes one send-probe and returns the time it was written: the helper's round trip is
// measured from its own send, so Reply.Sent is this time and Reply.At this plus that round trip.
func (p *helperProber) Send(seq uint16, ttl int) (time.Time, error) {
	if ttl < 1 || ttl > 255 {
		return time.Now(), fmt.Errorf("send probe seq %d: TTL %d out of range 1..255", seq, ttl)
	}
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return time.Now(), c.err
	}
	if p.closed {
		return time.Now(), fmt.Errorf("send probe seq %d: %w", seq, net.ErrClosed)
	}
	if err := p.failed; err != nil {
		// The helper's reply to an earlier send comes after that Send returned; it is told here.
		p.failed = nil
		return time.Now(), err
	}
	tok := c.nextToken()
	var b strings.Builder
	fmt.Fprintf(&b, "%d send-probe %s %s", tok, p.ipv, p.cfg.Target)
	if p.cfg.Source.IsValid() {
		fmt.Fprintf(&b, " local-%s %s", p.ipv, p.cfg.Source)
	}
	pattern := p.pattern
	if pattern > 255 {
		pattern = rand.IntN(256) // mtr's random pattern: one byte per probe
	}
	fmt.Fprintf(&b, " protocol %s", p.proto)
	if p.size != 0 {
		fmt.Fprintf(&b, " size %d", probe.DrawSize(p.size))
	}
	timeout := 10
	if p.cfg.Timeout > 0 {
		timeout = int((p.cfg.Timeout + time.Second - 1) / time.Second)
	}
	fmt.Fprintf(&b, " bit-pattern %d tos %d ttl %d timeout %d", pattern, p.tos, ttl, timeout)
	if p.cfg.Port != 0 {
		fmt.Fprintf(&b, " port %d", p.cfg.Port)
	}
	if p.cfg.LocalPort != 0 {
		fmt.Fprintf(&b, " local-port %d", p.cfg.LocalPort)
	}
	if p.cfg.Mark != 0 {
		fmt.Fprintf(&b, " mark %d", p.cfg.Mark)
	}
	b.WriteByte('\n')
	now := time.Now()
	if _, err := io.WriteString(c.in, b.String()); err != nil {
		return now, fmt.Errorf("send probe seq %d: packet helper: %w", seq, err)
	}
	c.inflight[tok] = inflight{p: p, seq: seq, sent: now}
	return now, nil
}

func (p *helperProber) Replies() <-chan probe.Reply { return p.q }
func (p *helperProber) LocalAddr() netip.Addr       { return p.local }

// SetSize, SetPattern and SetTOS change the following probes, as the live view asks.
func (p *helperProber) SetSize(n int) error {
	if n < -65000 || n > 65000 {
		return fmt.Errorf("probe: packet size %d out of range -65000..65000", n)
	}
	p.c.mu.Lock()
	p.size = n
	p.c.mu.Unlock()
	return nil
}

func (p *helperProber) SetPattern(n int) error {
	if n < 0 {
		return fmt.Errorf("probe: bit pattern %d is negative", n)
	}
	p.c.mu.Lock()
	p.pattern = n
	p.c.mu.Unlock()
	return nil
}

func (p *helperProber) SetTOS(n int) error {
	if n < 0 || n > 255 {
		return fmt.Errorf("probe: TOS %d out of range 0..255", n)
	}
	p.c.mu.Lock()
	p.tos = n
	p.c.mu.Unlock()
	return nil
}

// Close forgets the target; the helper stays for the others (Client.Close ends it).
func (p *helperProber) Close() error {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.closed = true
	delete(p.c.probers, p)
	p.shut()
	return nil
}

// shut closes the queue once; c.mu is held.
func (p *helperProber) shut() {
	if !p.closedQueue {
		p.closedQueue = true
		close(p.q)
	}
}
