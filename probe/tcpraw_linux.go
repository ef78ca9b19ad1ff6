package probe

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// TCPRaw sends TCP SYN probes it builds itself on a raw socket, so every SYN on the wire is one
// probe: no kernel socket owns the connection, so nothing retransmits an unanswered SYN (with the
// same TTL and ports) and no answer to a retransmission can pass for a late answer to the probe.
// The destination's SYN-ACK or RST arrives on the raw TCP socket, which sees a copy of every TCP
// segment the host receives and keeps those acknowledging one of our SYNs; routers' ICMP errors
// arrive on a raw ICMP socket and are matched on the SYN they quote. A SYN-ACK draws a RST from
// our own kernel, as no socket has the port: the destination keeps no connection.
type TCPRaw struct {
	cfg    Config
	is6    bool
	family string
	flow   tcpFlow
	dst    rawAddr

	tcp   *net.IPConn
	tcpRC syscall.RawConn
	icmp  rawICMP
	flowS *os.File // Paris mode: a TCP socket holding the flow's source port, so no local connection takes it

	mu    sync.Mutex
	local netip.Addr // source address of the SYNs, in their checksum; found at Send if unknown at Open

	replyQueue
}

// OpenTCPRaw opens the raw sockets for cfg.Target's family; the port defaults to 80. The error
// wraps ErrPermission when the process may not open raw sockets.
func OpenTCPRaw(cfg Config) (*TCPRaw, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if cfg.Port == 0 {
		cfg.Port = defaultTCP
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("probe: TCP port %d out of range 1..65535", cfg.Port)
	}
	t := &TCPRaw{cfg: cfg, is6: cfg.Target.Is6(), family: "TCPv4"}
	if t.is6 {
		t.family = "TCPv6"
	}
	t.initQueue()
	if cfg.Interface != "" && !cfg.Source.IsValid() {
		if t.cfg.Source, err = interfaceAddr(cfg.Interface, t.is6); err != nil {
			return nil, err
		}
	}
	t.local = t.cfg.Source
	if !t.local.IsValid() {
		// The checksum covers the source address, so the socket is bound to the one the kernel
		// picks now; without a route now, Send asks again.
		t.local, _ = kernelSource(cfg.Target)
	}
	t.flow = tcpFlow{target: cfg.Target.WithZone(""), port: uint16(cfg.Port), cookie: cfg.ID}
	t.dst = makeRawAddr(netip.AddrPortFrom(cfg.Target, 0), zoneIndex(cfg.Target.Zone()))
	if err := t.open(); err != nil {
		return nil, err
	}
	t.startReader(t.readTCP, t.readICMP)
	return t, nil
}

// open opens the sockets; on error nothing is left open.
func (t *TCPRaw) open() (err error) {
	network := "ip4:tcp"
	if t.is6 {
		network = "ip6:tcp"
	}
	laddr := &net.IPAddr{}
	if t.local.IsValid() {
		laddr.IP, laddr.Zone = t.local.AsSlice(), t.local.Zone()
	}
	if t.tcp, err = net.ListenIP(network, laddr); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return fmt.Errorf("open raw %s socket: %w: %w", t.family, ErrPermission, err)
		}
		return fmt.Errorf("open raw %s socket: %w", t.family, err)
	}
	defer func() {
		if err != nil {
			t.tcp.Close()
		}
	}()
	if t.tcpRC, err = t.tcp.SyscallConn(); err != nil {
		return err
	}
	opts := optsFor(t.cfg)
	opts.stamps = true
	if err := opts.control(t.tcpRC); err != nil {
		return fmt.Errorf("set up raw %s socket: %w", t.family, err)
	}
	if err := attachFilter(t.tcpRC, tcpPortFilter(t.is6, t.flow.port)); err != nil {
		return fmt.Errorf("set up raw %s socket: filter: %w", t.family, err)
	}
	if t.icmp, err = listenICMP(t.cfg, t.family, false); err != nil {
		return err
	}
	if t.cfg.Paris {
		if err := t.holdFlowPort(); err != nil {
			t.icmp.conn.Close()
			return fmt.Errorf("open %s socket: source port: %w", t.family, err)
		}
	}
	return nil
}

// holdFlowPort has the kernel pick the Paris flow's source port for a TCP socket of ours that
// stays open (and never connects), so no other connection of this host gets that port meanwhile.
func (t *TCPRaw) holdFlowPort() error {
	f, port, err := holdTCPPort(t.local, t.is6)
	if err != nil {
		return err
	}
	t.flow.paris, t.flowS = port, f
	return nil
}

// holdTCPPort opens a TCP socket bound to local (any address if invalid) and a port the kernel
// picks, and returns it with the port.
func holdTCPPort(local netip.Addr, is6 bool) (*os.File, uint16, error) {
	af := unix.AF_INET
	if is6 {
		af = unix.AF_INET6
	}
	fd, err := unix.Socket(af, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, 0, err
	}
	if local.IsValid() {
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(local, 0))); err != nil {
			unix.Close(fd)
			return nil, 0, err
		}
	}
	port, err := boundPort(fd, is6)
	if err != nil {
		unix.Close(fd)
		return nil, 0, err
	}
	return os.NewFile(uintptr(fd), "tcp-flow"), uint16(port), nil
}

// Sequences is how many probes the prober tells apart at once: in classic mode each one has a
// source port of its own, and two probes outstanding from one port would share a connection at
// the destination. In Paris mode the sequence number alone tells them apart.
func (t *TCPRaw) Sequences() int {
	if t.flow.paris != 0 {
		return 1 << 16
	}
	return tcpClassicPorts
}

// source returns the SYNs' source address, asking the routing table if Open could not.
func (t *TCPRaw) source() (netip.Addr, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.local.IsValid() {
		a, err := kernelSource(t.cfg.Target)
		if err != nil {
			return netip.Addr{}, err
		}
		t.local = a
	}
	return t.local, nil
}

// Send sends one SYN with this sequence and TTL and returns the time just before it left.
func (t *TCPRaw) Send(seq uint16, ttl int) (time.Time, error) {
	if err := checkTTL(t.family+" probe", seq, ttl); err != nil {
		return time.Time{}, err
	}
	src, err := t.source()
	if err != nil {
		return time.Now(), fmt.Errorf("send %s probe seq %d: %w", t.family, seq, err)
	}
	syn := buildSYN(src.WithZone(""), t.flow.target, t.flow.srcPort(seq), t.flow.port, t.flow.isn(seq))
	now := time.Now()
	if err := writeMsg(t.tcpRC, syn, ttlCmsg(t.is6, ttl), &t.dst); err != nil {
		return now, fmt.Errorf("send %s probe seq %d ttl %d: %w", t.family, seq, ttl, err)
	}
	return now, nil
}

func (t *TCPRaw) readTCP() {
	t.readRaw(t.tcpRC, func(msg []byte, from netip.Addr, _ uint32) (Reply, bool) {
		if !t.is6 {
			msg = stripIPv4Header(msg) // IPv4 raw sockets read the IP header too, IPv6 ones do not
		}
		r, ok := parseTCPSegment(msg, from, t.flow)
		if ok {
			r.From = t.cfg.Target
		}
		return r, ok
	})
}

func (t *TCPRaw) readICMP() {
	t.readRaw(t.icmp.rc, func(msg []byte, from netip.Addr, scope uint32) (Reply, bool) {
		if !from.IsValid() {
			return Reply{}, false
		}
		var r Reply
		var ok bool
		if t.is6 {
			if scope != 0 && from.IsLinkLocalUnicast() {
				from = from.WithZone(zoneName(scope))
			}
			r, ok = parseTCPErrV6(msg, from, t.flow)
		} else {
			msg = stripIPv4Header(msg)
			r, ok = parseTCPErrV4(msg, from, t.flow)
		}
		if ok {
			r.MPLS = parseMPLS(msg, t.is6)
		}
		return r, ok
	})
}

// SetSize validates like the other probers; the SYNs carry no payload (mtr ignores -s for TCP
// too), so nothing changes.
func (t *TCPRaw) SetSize(size int) error {
	_, err := checkSize(size)
	return err
}

// SetPattern validates like the other probers; SYNs carry no payload.
func (t *TCPRaw) SetPattern(pattern int) error { return checkPattern(pattern) }

// SetTOS changes the TOS / traffic class of the following probes.
func (t *TCPRaw) SetTOS(tos int) error {
	if tos < 0 || tos > 255 {
		return fmt.Errorf("probe: TOS %d out of range 0..255", tos)
	}
	var serr error
	if err := t.tcpRC.Control(func(fd uintptr) { serr = setTOS(int(fd), t.is6, tos) }); err != nil {
		return err
	}
	return serr
}

// LocalAddr is the SYNs' source address (zero if there was no route yet).
func (t *TCPRaw) LocalAddr() netip.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.local
}

// Close closes the sockets and waits for the readers; Replies is closed when it returns.
func (t *TCPRaw) Close() error {
	cs := []io.Closer{t.tcp, t.icmp.conn}
	if t.flowS != nil {
		cs = append(cs, t.flowS)
	}
	return t.closeWith(cs...)
}

// attachFilter attaches the classic BPF program prog to the socket behind rc.
func attachFilter(rc syscall.RawConn, prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return err
	}
	f := make([]unix.SockFilter, len(raw))
	for i, in := range raw {
		f[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog)
	}); err != nil {
		return err
	}
	return serr
}
