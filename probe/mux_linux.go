package probe

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Mux opens probers for many targets over shared sockets: one group of sockets per family,
// protocol and the socket options that must match (Source, Interface, Mark, and LocalPort for
// UDP); TOS travels with each packet instead. Raw ICMP, UDP, raw TCP and SCTP are shared. The
// unprivileged fallbacks stay one socket per target: the kernel already hands a ping socket only
// the echo replies carrying its own identifier, so sharing one would gain nothing, and the
// connect() TCP prober opens a socket per probe anyway.
type Mux struct {
	pace  *pacer
	stats muxStats

	mu     sync.Mutex
	closed bool
	groups map[groupKey]*muxGroup
	ids    map[idSpace]*idAlloc
	live   map[*muxProber]struct{}
	socks  []*muxSock
	wg     sync.WaitGroup
}

// groupKey is what targets sharing sockets have in common.
type groupKey struct {
	is6       bool
	proto     Protocol
	source    netip.Addr
	iface     string
	mark      uint32
	localPort int
}

// idSpace is where identifiers must be unique: every raw socket of a family sees every answer.
type idSpace struct {
	is6   bool
	proto Protocol
}

// muxGroup is the sockets of one groupKey.
type muxGroup struct {
	key   groupKey
	socks []*muxSock     // ICMP: one; UDP: as many as targets share one address; TCP, SCTP: the raw TCP or SCTP socket
	icmp  *muxSock       // TCP, SCTP: the raw ICMP socket its errors arrive on (sharing socks[0]'s table)
	ports map[uint16]int // TCP, SCTP: live targets per destination port, kept by the socket filter
}

// muxSock is one shared socket and the table of its targets.
type muxSock struct {
	conn    io.Closer
	rc      syscall.RawConn
	tab     *demuxTable
	stamped bool // kernel transmit stamps are on: each names its probe by slot<<16 | seq
	drops   atomic.Uint32

	// A kernel before Linux 6.13 refuses per-packet keys and numbers the socket's packets
	// instead: then the sends of all its targets take turns, and the socket follows its counter.
	counted atomic.Bool
	keyMu   sync.Mutex // counted: one send at a time, and the tables below
	counter counterKeys
	keys    [txSlots]txKey // by counter key: the probe it stamps (slot<<16 | seq)
}

// muxRcvBuf is the receive buffer asked for each shared socket: at 20,000 answers a second, each
// with its transmit stamp queued on the same socket (about 1 KiB of kernel memory apiece), 8 MiB
// holds some 200 ms of answers, so a reader held up by a busy machine loses none. Without
// CAP_NET_ADMIN the kernel caps it at net.core.rmem_max.
const muxRcvBuf = 8 << 20

// NewMux returns a Mux pacing all its sends as opts asks.
func NewMux(opts MuxOptions) *Mux {
	return &Mux{pace: newPacer(opts.Rate, opts.Burst, time.Now, time.Sleep), groups: map[groupKey]*muxGroup{},
		ids: map[idSpace]*idAlloc{}, live: map[*muxProber]struct{}{}}
}

// Stats returns what the readers did with the answers so far.
func (m *Mux) Stats() MuxStats {
	s := MuxStats{Demuxed: m.stats.demuxed.Load(), Foreign: m.stats.foreign.Load(), QueueFull: m.stats.queueFull.Load()}
	m.mu.Lock()
	for _, k := range m.socks {
		s.KernelDrops += uint64(k.drops.Load())
	}
	m.mu.Unlock()
	return s
}

// Open opens a prober for cfg.Target with the same contract as OpenProber (the same fallbacks
// and errors); it also implements Sequencer. Its Close unregisters the target only: the shared
// sockets stay open until the Mux is closed.
func (m *Mux) Open(cfg Config) (Prober, error) {
	n, err := m.prepare(cfg)
	if err != nil {
		return nil, err
	}
	p, err := m.openShared(n, cfg.ID)
	if err != nil {
		return unprivileged(cfg, err)
	}
	return p, nil
}

// prepare checks cfg and fills in what the shared sockets need to be chosen.
func (m *Mux) prepare(cfg Config) (Config, error) {
	switch cfg.Protocol {
	case ICMPProbes, UDPProbes, TCPProbes, SCTPProbes:
	default:
		return cfg, fmt.Errorf("probe: unknown protocol %v", cfg.Protocol)
	}
	n, err := cfg.normalize()
	if err != nil {
		return n, err
	}
	n.Target = canonicalZone(n.Target)
	if n.Protocol == TCPProbes || n.Protocol == SCTPProbes {
		if n.Port == 0 {
			n.Port = defaultTCP // mtr's default for -S too
		}
		if n.Port < 1 || n.Port > 65535 {
			return n, fmt.Errorf("probe: %v port %d out of range 1..65535", n.Protocol, n.Port)
		}
	}
	if n.Interface != "" && !n.Source.IsValid() {
		if n.Source, err = interfaceAddr(n.Interface, n.Target.Is6()); err != nil {
			return n, err
		}
	}
	return n, nil
}

func keyOf(cfg Config) groupKey {
	k := groupKey{is6: cfg.Target.Is6(), proto: cfg.Protocol, source: cfg.Source, iface: cfg.Interface, mark: cfg.Mark}
	if cfg.Protocol == UDPProbes {
		k.localPort = cfg.LocalPort
	}
	return k
}

// Preopen opens now the shared sockets of cfg's options for each protocol in protos (cfg.Protocol
// if none), for both families (only the Source's when cfg has one), so that a server can drop
// its privileges afterwards. A family the kernel lacks is skipped.
func (m *Mux) Preopen(cfg Config, protos ...Protocol) error {
	if len(protos) == 0 {
		protos = []Protocol{cfg.Protocol}
	}
	families := []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
	if cfg.Source.IsValid() {
		families = []netip.Addr{cfg.Source.Unmap()}
	}
	var errs []error
	for _, proto := range protos {
		for _, fam := range families {
			c := cfg
			c.Protocol, c.Target = proto, fam
			n, err := m.prepare(c)
			if err != nil && cfg.Interface != "" && !cfg.Source.IsValid() {
				continue // the interface has no address of this family
			}
			if err == nil {
				m.mu.Lock()
				_, err = m.group(keyOf(n))
				m.mu.Unlock()
			}
			if err != nil && !errors.Is(err, syscall.EAFNOSUPPORT) {
				errs = append(errs, fmt.Errorf("preopen %v: %w", proto, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Close closes every shared socket and every prober still open; their Replies are closed.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	var errs []error
	for p := range m.live {
		p.release()
	}
	clear(m.live)
	for _, s := range m.socks {
		s.tab.close()
		errs = append(errs, s.conn.Close())
	}
	m.mu.Unlock()
	m.wg.Wait()
	return errors.Join(errs...)
}

// group returns the group of k, opening its sockets if need be; m.mu is held.
func (m *Mux) group(k groupKey) (*muxGroup, error) {
	if m.closed {
		return nil, errTableClosed
	}
	if g, ok := m.groups[k]; ok {
		return g, nil
	}
	g := &muxGroup{key: k, ports: map[uint16]int{}}
	switch k.proto {
	case ICMPProbes:
		s, err := m.openICMP(k, true)
		if err != nil {
			return nil, err
		}
		g.socks = []*muxSock{s}
		m.serveRaw(s, k.is6, func(b []byte, msg sockMsg) {
			s.tab.icmp(b, msg.from, k.is6, msg.at, msg.stamps)
		})
	case UDPProbes:
		if _, err := m.addUDP(g); err != nil {
			return nil, err
		}
	case TCPProbes, SCTPProbes:
		if err := m.openStream(g); err != nil {
			return nil, err
		}
	}
	m.groups[k] = g
	return g, nil
}

// groupConfig is the Config that opens the sockets of k.
func groupConfig(k groupKey) Config {
	c := Config{Target: netip.IPv4Unspecified(), Source: k.source, Interface: k.iface, Mark: k.mark}
	if k.is6 {
		c.Target = netip.IPv6Unspecified()
	}
	return c
}

func familyName(proto Protocol, is6 bool) string {
	if is6 {
		return proto.String() + "v6"
	}
	return proto.String() + "v4"
}

// openICMP opens a shared raw ICMP socket (echo replies too when echo), stamped if echo.
func (m *Mux) openICMP(k groupKey, echo bool) (*muxSock, error) {
	s, err := listenICMP(groupConfig(k), familyName(k.proto, k.is6), echo)
	if err != nil {
		return nil, err
	}
	ms := &muxSock{conn: s.conn, rc: s.rc, tab: newDemuxTable(&m.stats)}
	ms.setup(echo)
	return ms, nil
}

// setup makes the socket ready for many targets: a big receive buffer, the kernel's drop
// count on every datagram, and (if stamped) transmit stamps. None of it is needed to work, so a
// kernel refusing an option is not an error.
func (s *muxSock) setup(stamped bool) {
	_ = s.rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, muxRcvBuf) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, muxRcvBuf)
		}
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
		if stamped {
			s.stamped = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING, txFlags) == nil
		}
	})
}

func (s *muxSock) noteDrops(n uint32) {
	if n != 0 {
		s.drops.Store(n)
	}
}

// serve starts the reader of s; m.mu is held.
func (m *Mux) serve(s *muxSock, handle func(sockMsg)) {
	m.socks = append(m.socks, s)
	m.wg.Go(func() { _ = serveQueues(s.rc, s, handle) })
}

// serveRaw serves the datagrams a raw socket reads (not what its error queue holds) to handle,
// after counting the kernel's drops and taking off the IP header that IPv4 raw sockets read too
// (IPv6 ones do not); m.mu is held.
func (m *Mux) serveRaw(s *muxSock, is6 bool, handle func(b []byte, msg sockMsg)) {
	m.serve(s, func(msg sockMsg) {
		if msg.errq {
			return
		}
		s.noteDrops(msg.drops)
		b := msg.data
		if !is6 {
			b = stripIPv4Header(b)
		}
		handle(b, msg)
	})
}

// addUDP opens another UDP socket of group g; m.mu is held.
func (m *Mux) addUDP(g *muxGroup) (*muxSock, error) {
	k := g.key
	network := "udp4"
	if k.is6 {
		network = "udp6"
	}
	laddr := &net.UDPAddr{Port: k.localPort}
	if k.source.IsValid() {
		laddr.IP, laddr.Zone = k.source.AsSlice(), k.source.Zone()
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("open %s socket: %w", familyName(k.proto, k.is6), err)
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	opts := optsFor(groupConfig(k))
	opts.recvErr = true
	if err := opts.control(rc); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set up %s socket: %w", familyName(k.proto, k.is6), err)
	}
	s := &muxSock{conn: conn, rc: rc, tab: newDemuxTable(&m.stats)}
	s.setup(true)
	g.socks = append(g.socks, s)
	m.serve(s, func(msg sockMsg) {
		if !msg.errq {
			s.noteDrops(msg.drops)
			return // a service answering on the probed port: not an answer mtr counts
		}
		s.tab.udpError(msg.err, msg.at, msg.stamps)
	})
	return s, nil
}

// openStream opens the raw TCP or SCTP socket of g and the raw ICMP socket its errors arrive on;
// m.mu is held.
func (m *Mux) openStream(g *muxGroup) (err error) {
	k := g.key
	family := familyName(k.proto, k.is6)
	network := "ip4:tcp"
	if k.is6 {
		network = "ip6:tcp"
	}
	if k.proto == SCTPProbes {
		// By number: Go's own table of protocol names has no sctp, and /etc/protocols may be
		// missing. Raw sockets of any protocol work without the kernel's SCTP module.
		network = strings.Replace(network, "tcp", strconv.Itoa(protoSCTP), 1)
	}
	laddr := &net.IPAddr{}
	if k.source.IsValid() {
		laddr.IP, laddr.Zone = k.source.AsSlice(), k.source.Zone()
	}
	conn, err := net.ListenIP(network, laddr)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return fmt.Errorf("open raw %s socket: %w: %w", family, ErrPermission, err)
		}
		return fmt.Errorf("open raw %s socket: %w", family, err)
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	opts := optsFor(groupConfig(k))
	opts.stamps = true
	if err := opts.control(rc); err != nil {
		return fmt.Errorf("set up raw %s socket: %w", family, err)
	}
	// The answer's source port sits where TCP's does, so one filter serves both.
	if err := attachFilter(rc, tcpPortsFilter(k.is6, nil)); err != nil {
		return fmt.Errorf("set up raw %s socket: filter: %w", family, err)
	}
	icmp, err := m.openICMP(k, false)
	if err != nil {
		return err
	}
	s := &muxSock{conn: conn, rc: rc, tab: newDemuxTable(&m.stats)}
	s.setup(false)
	icmp.tab = s.tab
	g.socks, g.icmp = []*muxSock{s}, icmp
	m.serveRaw(s, k.is6, func(b []byte, msg sockMsg) {
		if k.proto == SCTPProbes {
			s.tab.sctpPacket(b, msg.from, msg.at, nil)
		} else {
			s.tab.tcpSegment(b, msg.from, msg.at, nil)
		}
	})
	m.serveRaw(icmp, k.is6, func(b []byte, msg sockMsg) {
		if k.proto == SCTPProbes {
			s.tab.sctpError(b, msg.from, k.is6, msg.at, nil)
		} else {
			s.tab.tcpError(b, msg.from, k.is6, msg.at, nil)
		}
	})
	return nil
}

// refilter lets the raw TCP socket of g see segments from the ports of its live targets; past
// what a filter can list it sees them all. m.mu is held.
func (g *muxGroup) refilter() error {
	ports := make([]uint16, 0, len(g.ports))
	for p := range g.ports {
		ports = append(ports, p)
	}
	if len(ports) > maxFilterPorts {
		var serr error
		err := g.socks[0].rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0)
		})
		if errors.Is(serr, unix.ENOENT) {
			serr = nil // no filter attached
		}
		return errors.Join(err, serr)
	}
	return attachFilter(g.socks[0].rc, tcpPortsFilter(g.key.is6, ports))
}

// openShared registers a target of cfg (normalized; want is the identifier asked for, 0 for any)
// on the shared sockets of its group.
func (m *Mux) openShared(cfg Config, want uint16) (*muxProber, error) {
	is6 := cfg.Target.Is6()
	p := &muxProber{m: m, cfg: cfg, is6: is6, family: familyName(cfg.Protocol, is6)}
	p.shape.cfg = &p.cfg
	p.tos.Store(int32(cfg.TOS))
	p.local = cfg.Source
	if !p.local.IsValid() {
		// Informative for ICMP and UDP (mtr shows it); TCP needs it for the checksum, and
		// Send asks again while there is no route.
		p.local, _ = kernelSource(cfg.Target)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.group(keyOf(cfg))
	if err != nil {
		return nil, err
	}
	ids := m.ids[idSpace{is6, cfg.Protocol}]
	if ids == nil {
		ids = &idAlloc{}
		m.ids[idSpace{is6, cfg.Protocol}] = ids
	}
	id, err := ids.alloc(want)
	if err != nil {
		return nil, err
	}
	p.ids = ids
	t := &muxTarget{addr: cfg.Target, is6: is6, id: id, q: make(chan Reply, targetQueue)}
	p.cfg.ID, p.t = id, t
	fail := func(err error) (*muxProber, error) {
		ids.release(id)
		if p.flowS != nil {
			p.flowS.Close()
		}
		return nil, err
	}
	var s *muxSock
	switch cfg.Protocol {
	case ICMPProbes:
		s = g.socks[0]
		p.dst = makeRawAddr(netip.AddrPortFrom(cfg.Target, 0), zoneIndex(cfg.Target.Zone()))
	case UDPProbes:
		t.classic = cfg.sequences() < 1<<16
		for _, c := range g.socks {
			if !c.tab.has(cfg.Target) {
				s = c
				break
			}
		}
		if s == nil {
			if cfg.LocalPort != 0 {
				return fail(fmt.Errorf("probe: two UDP targets at %s cannot share local port %d", cfg.Target, cfg.LocalPort))
			}
			if s, err = m.addUDP(g); err != nil {
				return fail(err)
			}
		}
	case TCPProbes:
		s = g.socks[0]
		t.flow = tcpFlow{target: cfg.Target.WithZone(""), port: uint16(cfg.Port), cookie: id, offset: portOffset(id)}
		if cfg.Paris {
			if p.flowS, t.flow.paris, err = holdTCPPort(p.local, is6); err != nil {
				return fail(fmt.Errorf("open %s socket: source port: %w", p.family, err))
			}
		}
		p.dst = makeRawAddr(netip.AddrPortFrom(cfg.Target, 0), zoneIndex(cfg.Target.Zone()))
	case SCTPProbes:
		s = g.socks[0]
		t.flow = tcpFlow{target: cfg.Target.WithZone(""), port: uint16(cfg.Port), cookie: id, offset: portOffset(id)}
		if cfg.Paris {
			// No port to hold: without the kernel's SCTP module no local socket can take it, and
			// with it an association on this port and address pair would be a rare accident.
			t.flow.paris = tcpClassicBase + t.flow.offset
		}
		p.dst = makeRawAddr(netip.AddrPortFrom(cfg.Target, 0), zoneIndex(cfg.Target.Zone()))
	}
	if s.stamped {
		t.stamps = new(txStamps)
	}
	if err := s.tab.add(t, cfg.Protocol); err != nil {
		return fail(err)
	}
	if cfg.Protocol == TCPProbes || cfg.Protocol == SCTPProbes {
		g.ports[t.flow.port]++
		if g.ports[t.flow.port] == 1 {
			if err := g.refilter(); err != nil {
				g.ports[t.flow.port]--
				delete(g.ports, t.flow.port)
				s.tab.remove(t, cfg.Protocol)
				return fail(fmt.Errorf("set up raw %s socket: filter: %w", p.family, err))
			}
		}
	}
	p.g, p.s = g, s
	m.live[p] = struct{}{}
	return p, nil
}

// muxProber is one target's prober on a Mux's shared sockets.
type muxProber struct {
	m      *Mux
	cfg    Config
	is6    bool
	family string
	g      *muxGroup
	s      *muxSock
	t      *muxTarget
	ids    *idAlloc
	dst    rawAddr  // ICMP and TCP: the target's socket address
	flowS  *os.File // TCP Paris mode: holds the flow's source port
	tos    atomic.Int32
	closed atomic.Bool

	mu    sync.Mutex
	local netip.Addr

	shape // size and pattern, changed by the live UI
}

// Send waits for the Mux's pacer, then sends one probe with this sequence and TTL.
func (p *muxProber) Send(seq uint16, ttl int) (time.Time, error) {
	what := p.family + " probe"
	if p.cfg.Protocol == ICMPProbes {
		what = p.family + " echo"
	}
	if err := checkTTL(what, seq, ttl); err != nil {
		return time.Time{}, err
	}
	if p.closed.Load() {
		return time.Now(), fmt.Errorf("send %s seq %d: %w", what, seq, net.ErrClosed)
	}
	p.m.pace.wait()
	oob := ttlCmsg(p.is6, ttl)
	if tos := int(p.tos.Load()); tos != 0 {
		oob = append(oob, tosCmsg(p.is6, tos)...)
	}
	var now time.Time
	var err error
	switch p.cfg.Protocol {
	case ICMPProbes:
		pkt := buildEcho(p.is6, p.t.id, seq, fillPattern(p.current()))
		now, err = p.s.send(p.t, seq, pkt, oob, &p.dst)
	case UDPProbes:
		n, pattern := p.current()
		pkt := probePayload(n, pattern, p.t.id, seq)
		sa := makeRawAddr(netip.AddrPortFrom(p.cfg.Target, uint16(p.cfg.udpPort(seq))), zoneIndex(p.cfg.Target.Zone()))
		for range 3 {
			// A send refused with the pending error of an earlier ICMP error (reported once,
			// on whatever comes next) is retried.
			if now, err = p.s.send(p.t, seq, pkt, oob, &sa); err == nil || !icmpErrno(err) {
				break
			}
		}
	case TCPProbes:
		src, serr := p.source()
		if serr != nil {
			return time.Now(), fmt.Errorf("send %s seq %d: %w", what, seq, serr)
		}
		f := p.t.flow
		syn := buildSYN(src.WithZone(""), f.target, f.srcPort(seq), f.port, f.isn(seq))
		now, err = p.s.send(p.t, seq, syn, oob, &p.dst)
	case SCTPProbes:
		f := p.t.flow
		now, err = p.s.send(p.t, seq, buildINIT(f.srcPort(seq), f.port, f.isn(seq)), oob, &p.dst)
	}
	if err != nil {
		return now, fmt.Errorf("send %s seq %d ttl %d: %w", what, seq, ttl, err)
	}
	return now, nil
}

// send sends probe seq of target t. With transmit stamps each packet carries its key, slot<<16 |
// seq, which the reader routes back to t (stamp, demuxTable.stamp).
func (s *muxSock) send(t *muxTarget, seq uint16, p, oob []byte, sa *rawAddr) (time.Time, error) {
	if t.stamps == nil {
		now := time.Now()
		return now, writeMsg(s.rc, p, oob, sa)
	}
	probe := uint32(t.slot)<<16 | uint32(seq)
	if s.counted.Load() {
		return s.sendCounted(t, seq, probe, p, oob, sa)
	}
	keyed := append(oob[:len(oob):len(oob)], txKeyCmsg(probe)...)
	now := time.Now()
	t.stamps.expect(seq, now)
	err := writeMsg(s.rc, p, keyed, sa)
	if err == unix.EINVAL {
		// A kernel without SCM_TS_OPT_ID refuses the message before building a packet:
		// nothing was stamped, and the socket's counter is still at 0.
		t.stamps.failed(seq)
		s.counted.Store(true)
		return s.sendCounted(t, seq, probe, p, oob, sa)
	}
	if err != nil {
		t.stamps.failed(seq)
	}
	return now, err
}

// sendCounted is send for a socket whose packets take their keys from its counter.
func (s *muxSock) sendCounted(t *muxTarget, seq uint16, probe uint32, p, oob []byte, sa *rawAddr) (time.Time, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	now := time.Now()
	t.stamps.expect(seq, now)
	if key, ok := s.counter.sent(probe); ok {
		s.keys[key%txSlots] = txKey{key: key, probe: probe, used: true}
	}
	err := writeMsg(s.rc, p, oob, sa)
	if err != nil {
		t.stamps.failed(seq)
		s.counter.failed()
	}
	return now, err
}

// stamp takes a transmit stamp read from the socket's error queue and hands it to the target
// whose probe it stamps.
func (s *muxSock) stamp(key uint32, kernel, now time.Time) {
	if s.counted.Load() {
		s.keyMu.Lock()
		for _, k := range s.counter.resolve(key) {
			s.keys[k.key%txSlots] = k
		}
		k := s.keys[key%txSlots]
		s.keyMu.Unlock()
		if !k.used || k.key != key {
			return
		}
		key = k.probe
	}
	s.tab.stamp(key, kernel, now)
}

// source returns the SYNs' source address, asking the routing table if Open could not.
func (p *muxProber) source() (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.local.IsValid() {
		a, err := kernelSource(p.cfg.Target)
		if err != nil {
			return netip.Addr{}, err
		}
		p.local = a
	}
	return p.local, nil
}

// Replies delivers this target's answers; closed after Close (or the Mux's).
func (p *muxProber) Replies() <-chan Reply { return p.t.q }

// LocalAddr is the source address in use (zero if unknown).
func (p *muxProber) LocalAddr() netip.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.local
}

// Sequences is the sequence space of this target: its own, whatever the other targets send.
func (p *muxProber) Sequences() int { return p.cfg.sequences() }

// ID is the identifier keying this target's answers (ICMP echo identifier, TCP and UDP cookie).
func (p *muxProber) ID() uint16 { return p.t.id }

// SetTOS changes the TOS / traffic class of this target's following probes; it travels with
// each packet, so the other targets of the socket keep theirs.
func (p *muxProber) SetTOS(tos int) error {
	if tos < 0 || tos > 255 {
		return fmt.Errorf("probe: TOS %d out of range 0..255", tos)
	}
	p.tos.Store(int32(tos))
	return nil
}

// Close unregisters the target (its Replies are closed); the shared sockets stay open.
func (p *muxProber) Close() error {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	if _, ok := p.m.live[p]; !ok {
		return nil
	}
	delete(p.m.live, p)
	return p.release()
}

// release frees what the target holds; m.mu is held.
func (p *muxProber) release() error {
	p.closed.Store(true)
	p.s.tab.remove(p.t, p.cfg.Protocol)
	p.ids.release(p.t.id)
	var errs []error
	if p.cfg.Protocol == TCPProbes || p.cfg.Protocol == SCTPProbes {
		port := p.t.flow.port
		if p.g.ports[port]--; p.g.ports[port] <= 0 {
			delete(p.g.ports, port)
			if !p.m.closed {
				errs = append(errs, p.g.refilter())
			}
		}
	}
	if p.flowS != nil {
		errs = append(errs, p.flowS.Close())
	}
	return errors.Join(errs...)
}

// udpError demultiplexes an ICMP error from a shared UDP socket's error queue: msg_name is the
// probe's destination, which names the target (one per address on a socket); the cookie and
// sequence it quotes must then be that target's.
func (d *demuxTable) udpError(q queuedErr, at time.Time, read func()) {
	t, r, ok := d.udpMatch(q)
	r.At = at
	d.hand(t, r, ok, read)
}

func (d *demuxTable) udpMatch(q queuedErr) (*muxTarget, Reply, bool) {
	// Keyed without zones: msg_name has none, and two link-local targets on different links
	// (one address) take different sockets.
	d.mu.RLock()
	t, ok := d.udp[q.dst.Addr().WithZone("")]
	d.mu.RUnlock()
	if !ok {
		return nil, Reply{}, false
	}
	seq, ok := matchUDP(q.payload, q.dst.Port(), t.id, t.classic)
	if !ok {
		return nil, Reply{}, false
	}
	return t, Reply{Seq: seq, From: q.from, Kind: q.kind, Code: q.code}, true
}
