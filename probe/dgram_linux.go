package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
)

// Dgram is the unprivileged ICMP echo prober: a "ping socket" (SOCK_DGRAM, IPPROTO_ICMP), which
// the kernel lets members of net.ipv4.ping_group_range open without CAP_NET_RAW. The kernel
// rewrites the echo identifier to the socket's port and hands the socket only the echo replies
// carrying it; ICMP errors come through the error queue (IP_RECVERR). So answers are matched on
// the sequence plus a cookie at the start of the payload, never on the identifier we wrote.
// It cannot see ICMP extensions, so MPLS labels need the raw prober.
type Dgram struct {
	cfg    Config
	family string

	udpConn
	shape // size and pattern, changed by the live UI
}

// OpenDgram opens a ping socket for cfg.Target. The error wraps ErrPermission when the process's
// group is outside net.ipv4.ping_group_range (which also governs IPv6).
func OpenDgram(cfg Config) (*Dgram, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	cfg.Target = canonicalZone(cfg.Target)
	d := &Dgram{cfg: cfg, family: "ICMPv4"}
	d.udpConn.init(cfg.Target)
	d.shape.cfg = &d.cfg
	network, laddr := "udp4", "0.0.0.0"
	if d.is6 {
		d.family, network, laddr = "ICMPv6", "udp6", "::"
	}
	if cfg.Interface != "" && !cfg.Source.IsValid() {
		if d.cfg.Source, err = interfaceAddr(cfg.Interface, d.is6); err != nil {
			return nil, err
		}
	}
	if d.cfg.Source.IsValid() {
		laddr = d.cfg.Source.String()
	}
	c, err := icmp.ListenPacket(network, laddr)
	if err != nil {
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
			return nil, fmt.Errorf("open unprivileged %s socket: %w: %w", d.family, ErrPermission, err)
		}
		return nil, fmt.Errorf("open unprivileged %s socket: %w", d.family, err)
	}
	var inner net.PacketConn
	if d.is6 {
		inner = c.IPv6PacketConn().PacketConn
	} else {
		inner = c.IPv4PacketConn().PacketConn
	}
	var ok bool
	if d.conn, ok = inner.(*net.UDPConn); !ok {
		c.Close()
		return nil, fmt.Errorf("open unprivileged %s socket: not a datagram socket", d.family)
	}
	rc, err := d.conn.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	d.rc = rc
	opts := optsFor(cfg)
	opts.recvErr = true
	if err := errors.Join(opts.control(rc), rc.Control(func(fd uintptr) { d.enableTxStamps(int(fd)) })); err != nil {
		c.Close()
		return nil, fmt.Errorf("set up unprivileged %s socket: %w", d.family, err)
	}
	d.local = d.cfg.Source
	if !d.local.IsValid() {
		d.local, _ = kernelSource(cfg.Target)
	}
	d.startReader(func() { _ = serveQueues(rc, d.stamps, d.handle) })
	return d, nil
}

// Send sends one echo request with this sequence and TTL.
func (d *Dgram) Send(seq uint16, ttl int) (time.Time, error) {
	if err := checkTTL(d.family+" echo", seq, ttl); err != nil {
		return time.Time{}, err
	}
	n, pattern := d.current()
	pkt := buildEcho(d.is6, 0, seq, probePayload(n, pattern, d.cfg.ID, seq))
	now, err := d.send(seq, pkt, ttlCmsg(d.is6, ttl), 0)
	if err != nil {
		return now, fmt.Errorf("send %s echo seq %d ttl %d: %w", d.family, seq, ttl, err)
	}
	return now, nil
}

// Sequences: the cookie and the sequence travel in the payload, so all 65536 are told apart
// (the Mux's fallback promises every prober says so).
func (d *Dgram) Sequences() int { return 1 << 16 }

// matchEcho reads the sequence of our echo request (or reply) from an ICMP echo message b, as a
// ping socket returns it or the error queue quotes it. The payload cookie must be ours when the
// message carries it; the identifier is the kernel's and is not checked.
func matchEcho(b []byte, cookie uint16) (uint16, bool) {
	if len(b) < 8 {
		return 0, false
	}
	seq := binary.BigEndian.Uint16(b[6:])
	if p := b[8:]; len(p) >= udpCookieLen {
		if binary.BigEndian.Uint16(p) != cookie || binary.BigEndian.Uint16(p[2:]) != seq {
			return 0, false
		}
	}
	return seq, true
}

func (d *Dgram) handle(m sockMsg) {
	var r Reply
	if m.errq {
		if m.err.dst.Addr().WithZone(d.cfg.Target.Zone()) != d.cfg.Target {
			return
		}
		if len(m.err.payload) < 1 || (m.err.payload[0] != v4Echo && m.err.payload[0] != v6Echo) {
			return
		}
		seq, ok := matchEcho(m.err.payload, d.cfg.ID)
		if !ok {
			return
		}
		r = Reply{Seq: seq, From: m.err.from, Kind: m.err.kind, Code: m.err.code, At: m.at}
	} else {
		reply := byte(v4EchoReply)
		if d.is6 {
			reply = v6EchoReply
		}
		if len(m.data) < 1 || m.data[0] != reply {
			return
		}
		// The kernel hands a ping socket every echo reply carrying its identifier, whoever sent it.
		if !fromTarget(m.from, d.cfg.Target) {
			return
		}
		seq, ok := matchEcho(m.data, d.cfg.ID)
		if !ok {
			return
		}
		r = Reply{Seq: seq, From: m.from, Kind: EchoReply, At: m.at}
	}
	d.deliver(d.withSent(r, m.stamps))
}
