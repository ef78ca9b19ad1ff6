package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// UDP sends UDP probes from one ordinary UDP socket and reads the ICMP errors they draw from the
// socket's error queue (IP_RECVERR), so it needs no privilege at all. The destination counts as
// reached when it answers port unreachable.
//
// Which probe an error answers: the payload starts with our cookie (Config.ID) and the
// sequence, and routers quote it back. For routers that quote only the 8 bytes RFC 792 asks
// for, classic mode also gives every probe in flight its own destination port, so the port
// alone finds the probe; in Paris mode (one flow) the payload is the only key.
type UDP struct {
	cfg    Config
	family string

	mu    sync.Mutex
	slot  int                  // next classic destination port, as an offset in the range
	ports [udpPortRange]uint16 // classic mode: sequence of the latest probe sent to each port
	used  [udpPortRange]bool

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
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = setRecvErr(int(fd), u.is6)
		u.enableTxStamps(int(fd))
		if serr == nil && cfg.TOS != 0 {
			serr = setTOS(int(fd), u.is6, cfg.TOS)
		}
		if serr == nil && cfg.Interface != "" {
			serr = unix.BindToDevice(int(fd), cfg.Interface)
		}
		if serr == nil {
			serr = setMark(int(fd), cfg.Mark)
		}
	})
	if err = errors.Join(err, serr); err != nil {
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

// dstPort picks the destination port of the next probe and remembers which probe has it.
func (u *UDP) dstPort(seq uint16) int {
	switch {
	case u.cfg.Port != 0:
		return u.cfg.Port
	case u.cfg.Paris:
		return udpBasePort
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.slot
	u.slot = (u.slot + 1) % udpPortRange
	u.ports[s], u.used[s] = seq, true
	return udpBasePort + s
}

// Send sends one UDP probe with this sequence and TTL. A send refused with the pending error of
// an earlier ICMP error (the kernel reports it once, on whatever comes next) is retried.
func (u *UDP) Send(seq uint16, ttl int) (time.Time, error) {
	if ttl < 1 || ttl > 255 {
		return time.Time{}, fmt.Errorf("send %s probe seq %d: TTL %d out of range 1..255", u.family, seq, ttl)
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
// and the destination port; classic port slots are the fallback when the quote is too short.
// ports/used are nil in Paris mode or with a fixed port.
func matchUDP(payload []byte, dstPort uint16, cookie uint16, ports *[udpPortRange]uint16, used *[udpPortRange]bool) (uint16, bool) {
	if len(payload) >= udpCookieLen {
		if binary.BigEndian.Uint16(payload) != cookie {
			return 0, false
		}
		return binary.BigEndian.Uint16(payload[2:]), true
	}
	if ports == nil {
		return 0, false
	}
	s := int(dstPort) - udpBasePort
	if s < 0 || s >= udpPortRange || !used[s] {
		return 0, false
	}
	return ports[s], true
}

// handle turns an error-queue message into a Reply; normal datagrams (a service answering on
// the probed port) are not answers mtr counts.
func (u *UDP) handle(m sockMsg) {
	if !m.errq || m.err.dst.Addr().WithZone(u.cfg.Target.Zone()) != u.cfg.Target {
		return
	}
	var seq uint16
	var ok bool
	if u.cfg.Port == 0 && !u.cfg.Paris {
		u.mu.Lock()
		seq, ok = matchUDP(m.err.payload, m.err.dst.Port(), u.cfg.ID, &u.ports, &u.used)
		u.mu.Unlock()
	} else {
		seq, ok = matchUDP(m.err.payload, m.err.dst.Port(), u.cfg.ID, nil, nil)
	}
	if !ok {
		return
	}
	u.deliver(u.withSent(Reply{Seq: seq, From: m.err.from, Kind: m.err.kind, Code: m.err.code, At: m.at}, m.stamps))
}

// LocalPort is the UDP source port of every probe.
func (u *UDP) LocalPort() int { return u.conn.LocalAddr().(*net.UDPAddr).Port }
