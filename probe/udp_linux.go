package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
)

// UDP sends UDP probes from one ordinary UDP socket and reads the ICMP errors they draw from the
// socket's error queue (IP_RECVERR), so it needs no privilege at all. The destination counts as
// reached when it answers port unreachable.
//
// Which probe an error answers: the payload starts with our cookie (Config.ID) and the
// sequence, and routers quote it back. For routers that quote only the 8 bytes RFC 792 asks
// for, classic mode also carries the sequence in the destination port (udpBasePort+seq, as mtr
// carries it in its port), so the port alone finds the probe; in Paris mode (one flow) and with
// a fixed port (-P) the payload is the only key. Classic mode therefore tells apart only
// udpSeqs sequences (Sequences), and the scheduler never reuses one still awaiting an answer.
type UDP struct {
	cfg    Config
	family string

	udpConn
	shape // size and pattern, changed by the live UI
}

// udpCookieLen is how much of a UDP or ping-socket payload identifies the probe. The UDP header
// is 8 bytes like ICMP's echo header, so Config.Size means the same whole-packet size for both.
const udpCookieLen = 4 // cookie (2) + sequence (2) at the start of the payload

// OpenUDP opens a UDP prober for cfg.Target.
func OpenUDP(cfg Config) (*UDP, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	u := &UDP{cfg: cfg, family: "UDPv4"}
	u.udpConn.init(cfg.Target)
	u.shape.cfg = &u.cfg
	if u.is6 {
		u.family = "UDPv6"
	}
	if cfg.Interface != "" && !cfg.Source.IsValid() {
		if u.cfg.Source, err = interfaceAddr(cfg.Interface, u.is6); err != nil {
			return nil, err
		}
	}
	network := "udp4"
	if u.is6 {
		network = "udp6"
	}
	laddr := &net.UDPAddr{Port: cfg.LocalPort}
	if u.cfg.Source.IsValid() {
		laddr.IP, laddr.Zone = u.cfg.Source.AsSlice(), u.cfg.Source.Zone()
	}
	if u.conn, err = net.ListenUDP(network, laddr); err != nil {
		return nil, fmt.Errorf("open %s socket: %w", u.family, err)
	}
	rc, err := u.conn.SyscallConn()
	if err != nil {
		u.conn.Close()
		return nil, err
	}
	u.rc = rc
	opts := optsFor(cfg)
	opts.recvErr = true
	if err := errors.Join(opts.control(rc), rc.Control(func(fd uintptr) { u.enableTxStamps(int(fd)) })); err != nil {
		u.conn.Close()
		return nil, fmt.Errorf("set up %s socket: %w", u.family, err)
	}
	u.local = u.cfg.Source
	if !u.local.IsValid() {
		u.local, _ = kernelSource(cfg.Target)
	}
	u.startReader(func() { _ = serveQueues(rc, u.stamps, u.handle) })
	return u, nil
}

// classic reports whether the sequence travels in the destination port.
func (u *UDP) classic() bool { return u.cfg.sequences() < 1<<16 }

// dstPort is the destination port of probe seq.
func (u *UDP) dstPort(seq uint16) int { return u.cfg.udpPort(seq) }

// udpPort is the destination port of UDP probe seq.
func (cfg Config) udpPort(seq uint16) int {
	switch {
	case cfg.Port != 0:
		return cfg.Port
	case cfg.Paris:
		return udpBasePort
	}
	return udpBasePort + int(seq)%udpSeqs
}

// Sequences is how many probes the prober tells apart: in classic mode as many as there are
// ports from udpBasePort up; otherwise the payload's 16 bits.
func (u *UDP) Sequences() int { return u.cfg.sequences() }

// Send sends one UDP probe with this sequence and TTL. A send refused with the pending error of
// an earlier ICMP error (the kernel reports it once, on whatever comes next) is retried.
func (u *UDP) Send(seq uint16, ttl int) (time.Time, error) {
	if err := checkTTL(u.family+" probe", seq, ttl); err != nil {
		return time.Time{}, err
	}
	now, err := u.send(seq, u.payload(seq), ttlCmsg(u.is6, ttl), u.dstPort(seq))
	if err != nil {
		return now, fmt.Errorf("send %s probe seq %d ttl %d: %w", u.family, seq, ttl, err)
	}
	return now, nil
}

// payload is the cookie and sequence, then the pattern up to Config.Size.
func (u *UDP) payload(seq uint16) []byte {
	n, pattern := u.current()
	return probePayload(n, pattern, u.cfg.ID, seq)
}

// probePayload fills n bytes: cookie and sequence first (as far as they fit), then the pattern.
func probePayload(n, pattern int, cookie, seq uint16) []byte {
	b := fillPattern(n, pattern)
	var key [udpCookieLen]byte
	binary.BigEndian.PutUint16(key[:], cookie)
	binary.BigEndian.PutUint16(key[2:], seq)
	copy(b, key[:])
	return b
}

// matchUDP finds the probe an ICMP error answers from what the router quoted of our payload
// and, in classic mode, the destination port, which alone must do when the quote is too short.
// In classic mode a payload naming another sequence than its port is not our probe.
func matchUDP(payload []byte, dstPort uint16, cookie uint16, classic bool) (uint16, bool) {
	portSeq := int(dstPort) - udpBasePort
	if classic && (portSeq < 0 || portSeq >= udpSeqs) {
		return 0, false
	}
	if len(payload) >= udpCookieLen {
		seq := binary.BigEndian.Uint16(payload[2:])
		if binary.BigEndian.Uint16(payload) != cookie || (classic && int(seq)%udpSeqs != portSeq) {
			return 0, false
		}
		return seq, true
	}
	if !classic {
		return 0, false
	}
	return uint16(portSeq), true
}

// handle turns an error-queue message into a Reply; normal datagrams (a service answering on
// the probed port) are not answers mtr counts.
func (u *UDP) handle(m sockMsg) {
	if !m.errq || m.err.dst.Addr().WithZone(u.cfg.Target.Zone()) != u.cfg.Target {
		return
	}
	seq, ok := matchUDP(m.err.payload, m.err.dst.Port(), u.cfg.ID, u.classic())
	if !ok {
		return
	}
	u.deliver(u.withSent(Reply{Seq: seq, From: m.err.from, Kind: m.err.kind, Code: m.err.code, At: m.at}, m.stamps))
}

// LocalPort is the UDP source port of every probe.
func (u *UDP) LocalPort() int { return u.conn.LocalAddr().(*net.UDPAddr).Port }
