package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ICMP is the raw-socket ICMP echo prober: one raw socket of the target's
// family, written by Send and read by one goroutine that feeds Replies.
type ICMP struct {
	cfg    Config
	is6    bool
	family string // "ICMPv4" or "ICMPv6", for error messages
	conn   *icmp.PacketConn
	ipc    *net.IPConn      // the raw socket as net sees it: its descriptor is rc
	p6     *ipv6.PacketConn // IPv6 only: the ICMPv6 filter and the traffic class
	rc     syscall.RawConn  // the descriptor: every send and receive goes through rawio
	dst    rawAddr
	local  netip.Addr

	replyQueue // the reader's replies and life cycle
	txStamper  // kernel transmit stamps

	shape // size and pattern, changed by the live UI
}

// Open opens the raw socket for cfg.Target's family, applies the options in
// cfg and starts the reader goroutine. The error wraps ErrPermission when
// the process may not open raw sockets.
func Open(cfg Config) (*ICMP, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	cfg.Target = canonicalZone(cfg.Target)
	p := &ICMP{
		cfg:    cfg,
		is6:    cfg.Target.Is6(),
		family: "ICMPv4",
	}
	p.initQueue()
	p.shape.cfg = &p.cfg
	if p.is6 {
		p.family = "ICMPv6"
	}
	if cfg.Interface != "" && !cfg.Source.IsValid() {
		if p.cfg.Source, err = interfaceAddr(cfg.Interface, p.is6); err != nil {
			return nil, err
		}
	}
	if err := p.open(); err != nil {
		return nil, err
	}
	p.dst = makeRawAddr(netip.AddrPortFrom(cfg.Target, 0), zoneIndex(cfg.Target.Zone()))
	p.local = p.cfg.Source
	if !p.local.IsValid() {
		// Only informative (mtr shows it): without a route now there may
		// be one later, and Send will say so if not.
		p.local, _ = kernelSource(p.cfg.Target)
	}
	p.startReader(func() { _ = serveQueues(p.rc, p.stamps, p.handle) })
	return p, nil
}

// open creates and configures the socket; on error nothing is left open.
func (p *ICMP) open() error {
	s, err := listenICMP(p.cfg, p.family, true)
	if err != nil {
		return err
	}
	p.conn, p.ipc, p.rc, p.p6 = s.conn, s.ipc, s.rc, s.p6
	if err := s.rc.Control(func(fd uintptr) { p.enableTxStamps(int(fd)) }); err != nil {
		s.conn.Close()
		return fmt.Errorf("set up raw %s socket: %w", p.family, err)
	}
	if p.cfg.TOS != 0 {
		if err := p.SetTOS(p.cfg.TOS); err != nil {
			s.conn.Close()
			return err
		}
	}
	return nil
}

// rawICMP is a raw ICMP socket as listenICMP opens it.
type rawICMP struct {
	conn *icmp.PacketConn
	ipc  *net.IPConn      // the raw socket as net sees it: its descriptor is rc
	p6   *ipv6.PacketConn // IPv6 only: the ICMPv6 filter and the traffic class
	rc   syscall.RawConn
}

// listenICMP opens the raw ICMP socket of cfg.Target's family that the raw probers read answers
// from: bound to cfg.Source and cfg.Interface, marked, with kernel receive timestamps, and letting
// through only the messages that can answer a probe (echo replies too when echo). The error wraps
// ErrPermission when the process may not open raw sockets; on error nothing is left open.
func listenICMP(cfg Config, family string, echo bool) (rawICMP, error) {
	is6 := cfg.Target.Is6()
	network, laddr := "ip4:icmp", "0.0.0.0"
	if is6 {
		network, laddr = "ip6:ipv6-icmp", "::"
	}
	if cfg.Source.IsValid() {
		laddr = cfg.Source.String()
	}
	c, err := icmp.ListenPacket(network, laddr)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return rawICMP{}, fmt.Errorf("open raw %s socket: %w: %w", family, ErrPermission, err)
		}
		return rawICMP{}, fmt.Errorf("open raw %s socket: %w", family, err)
	}
	s := rawICMP{conn: c}
	if err := s.configure(cfg, echo); err != nil {
		c.Close()
		return rawICMP{}, fmt.Errorf("set up raw %s socket: %w", family, err)
	}
	return s, nil
}

func (s *rawICMP) configure(cfg Config, echo bool) error {
	var ok bool
	if cfg.Target.Is6() {
		s.p6 = s.conn.IPv6PacketConn()
		if s.ipc, ok = s.p6.PacketConn.(*net.IPConn); !ok {
			return errors.New("not an IP socket")
		}
		// Only what can answer a probe gets to wake us up.
		var f ipv6.ICMPFilter
		f.SetAll(true)
		if echo {
			f.Accept(ipv6.ICMPTypeEchoReply)
		}
		f.Accept(ipv6.ICMPTypeTimeExceeded)
		f.Accept(ipv6.ICMPTypeDestinationUnreachable)
		f.Accept(ipv6.ICMPTypePacketTooBig)
		// How a host without SCTP answers an SCTP probe. Other probers' parsers drop it, and
		// nobody sends it unasked, so it costs them nothing.
		f.Accept(ipv6.ICMPTypeParameterProblem)
		if err := s.p6.SetICMPFilter(&f); err != nil {
			return fmt.Errorf("ICMPv6 filter: %w", err)
		}
	} else {
		p4 := s.conn.IPv4PacketConn()
		if s.ipc, ok = p4.PacketConn.(*net.IPConn); !ok {
			return errors.New("not an IP socket")
		}
		var f ipv4.ICMPFilter
		f.SetAll(true)
		if echo {
			f.Accept(ipv4.ICMPTypeEchoReply)
		}
		f.Accept(ipv4.ICMPTypeTimeExceeded)
		f.Accept(ipv4.ICMPTypeDestinationUnreachable)
		if err := p4.SetICMPFilter(&f); err != nil {
			return fmt.Errorf("ICMP filter: %w", err)
		}
	}
	rc, err := s.ipc.SyscallConn()
	if err != nil {
		return err
	}
	s.rc = rc
	// TOS is the sender's business (ICMP.SetTOS): a socket only read from has none.
	opts := optsFor(cfg)
	opts.tos, opts.stamps = 0, true
	return opts.control(rc)
}

// interfaceAddr finds the source address mtr -I would use: the first address
// of the wanted family on the interface. For IPv6 a link-local address is
// used only when the interface has nothing wider, since it cannot reach
// targets beyond the link.
func interfaceAddr(name string, is6 bool) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("no such interface %s", name)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of interface %s: %w", name, err)
	}
	var linkLocal netip.Addr
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ip.Is6() != is6 {
			continue
		}
		if is6 && ip.IsLinkLocalUnicast() {
			if !linkLocal.IsValid() {
				linkLocal = ip.WithZone(name)
			}
			continue
		}
		return ip, nil
	}
	if linkLocal.IsValid() {
		return linkLocal, nil
	}
	family := "IPv4"
	if is6 {
		family = "IPv6"
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no %s address", name, family)
}

// kernelSource asks the routing table which source address the kernel would
// use towards target: connect() on a UDP socket picks it and sends nothing.
func kernelSource(target netip.Addr) (netip.Addr, error) {
	network := "udp4"
	if target.Is6() {
		network = "udp6"
	}
	c, err := net.DialUDP(network, nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(target, 9)))
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// Send sends one echo request with this sequence and TTL (hop limit) and
// returns the time just before the kernel took it. The TTL travels with the
// packet as a control message, so the socket has no shared TTL state and
// Send is safe for concurrent use; the scheduler normally calls it from one
// goroutine. Errors wrap the errno (e.g. syscall.ENETUNREACH when there is
// no route, net.ErrClosed after Close).
func (p *ICMP) Send(seq uint16, ttl int) (time.Time, error) {
	if err := checkTTL(p.family+" echo", seq, ttl); err != nil {
		return time.Time{}, err
	}
	pkt := buildEcho(p.is6, p.cfg.ID, seq, p.payload())
	now, err := p.write(p.rc, seq, pkt, ttlCmsg(p.is6, ttl), &p.dst)
	if err != nil {
		return now, fmt.Errorf("send %s echo seq %d ttl %d: %w", p.family, seq, ttl, err)
	}
	return now, nil
}

// payload returns this probe's payload: Size worth of the pattern byte.
func (p *ICMP) payload() []byte {
	return fillPattern(p.current())
}

// ttlCmsg builds the control message that gives one packet its TTL (IP_TTL) or,
// for IPv6, its hop limit (IPV6_HOPLIMIT). Linux honours IP_TTL on sendmsg for
// raw sockets, which x/net's ipv4.ControlMessage cannot express.
func ttlCmsg(is6 bool, ttl int) []byte {
	if is6 {
		return intCmsg(unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, ttl)
	}
	return intCmsg(unix.IPPROTO_IP, unix.IP_TTL, ttl)
}

// tosCmsg gives one packet its TOS (IP_TOS) or traffic class (IPV6_TCLASS), so probes of
// targets with different TOS can share a socket.
func tosCmsg(is6 bool, tos int) []byte {
	if is6 {
		return intCmsg(unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos)
	}
	return intCmsg(unix.IPPROTO_IP, unix.IP_TOS, tos)
}

// intCmsg is a control message carrying one int.
func intCmsg(level, typ int32, v int) []byte {
	b := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], uint32(v))
	return b
}

// handle turns a datagram read from the raw socket into a reply to one of our probes. The
// error queue of a raw socket holds only transmit stamps, which serveQueues takes.
func (p *ICMP) handle(m sockMsg) {
	if m.errq {
		return
	}
	r, ok := p.parse(m.data, m.from, 0)
	if !ok {
		return
	}
	r.At = m.at
	p.deliver(p.withSent(r, m.stamps))
}

// parse turns one datagram read from the raw socket into a reply to one of our probes.
func (p *ICMP) parse(msg []byte, from netip.Addr, scope uint32) (Reply, bool) {
	if !from.IsValid() {
		return Reply{}, false
	}
	var r Reply
	var ok bool
	if p.is6 {
		if scope != 0 && from.IsLinkLocalUnicast() {
			from = from.WithZone(zoneName(scope))
		}
		r, ok = parseV6(msg, from, p.cfg.ID, p.cfg.Target)
	} else {
		msg = stripIPv4Header(msg)
		r, ok = parseV4(msg, from, p.cfg.ID, p.cfg.Target)
	}
	if ok && r.Kind != EchoReply {
		r.MPLS = parseMPLS(msg, p.is6)
	}
	return r, ok
}

// kernelTime returns the SCM_TIMESTAMPNS stamp in oob, or the zero time.
func kernelTime(oob []byte) time.Time {
	at, _ := rxCmsgs(oob)
	return at
}

// rxCmsgs reads the control messages of a received datagram: the SCM_TIMESTAMPNS stamp (zero if
// none) and the SO_RXQ_OVFL count of datagrams the socket dropped so far (0 if none; the kernel
// adds it only once there were drops).
func rxCmsgs(oob []byte) (at time.Time, drops uint32) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, 0
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS:
			at = parseTimespec(m.Data)
		case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_RXQ_OVFL && len(m.Data) >= 4:
			drops = binary.NativeEndian.Uint32(m.Data)
		}
	}
	return at, drops
}

// SetTOS changes the IPv4 TOS / IPv6 traffic class of the following probes. The socket option
// is per socket, so it applies from the next Send on.
func (p *ICMP) SetTOS(tos int) error {
	if tos < 0 || tos > 255 {
		return fmt.Errorf("probe: TOS %d out of range 0..255", tos)
	}
	var err error
	if p.is6 {
		err = p.p6.SetTrafficClass(tos)
	} else {
		err = p.conn.IPv4PacketConn().SetTOS(tos)
	}
	if err != nil {
		return fmt.Errorf("set %s TOS %d: %w", p.family, tos, err)
	}
	return nil
}

// LocalAddr is the source address in use: Config.Source, the interface's
// address (Config.Interface), or the kernel's choice towards Target. It is
// the zero Addr if the kernel had no route to Target at Open.
func (p *ICMP) LocalAddr() netip.Addr { return p.local }

// ID is the ICMP identifier our probes carry (Config.ID or the random one).
func (p *ICMP) ID() uint16 { return p.cfg.ID }

// Close closes the socket and waits for the reader to stop; Replies is
// closed when it returns. Further calls return the first call's result.
func (p *ICMP) Close() error { return p.closeWith(p.conn) }
