package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// A Mux probes many targets through shared sockets (mux_linux.go): with one raw ICMP socket per
// target, every ICMP packet the host receives is copied to every socket, so 1,000 targets cost
// 1,000 copies and wake-ups per answer. This file is the part without sockets: the tables that
// hand each answer to the one target it answers (demultiplexing), the identifiers that key them,
// and the pacer of all sends. It is pure so it can be tested with thousands of targets and fuzzed.

// MuxOptions configures a Mux.
type MuxOptions struct {
	// Rate is the most probes per second the Mux sends, over all its targets; 0 means
	// DefaultMuxRate. Sends beyond it wait their turn, never dropped.
	Rate int
	// Burst is how many probes may leave at once after a quiet spell; 0 means Rate/100 (10 ms
	// worth), at least 1.
	Burst int
}

// DefaultMuxRate is the rate of a Mux whose options give none. Twice the 10,000 probes/s the
// multi-target goal asks for, so pacing never slows a run that meets it, while a round of 1,000
// targets × 30 hops still leaves as a stream (1.5 s) instead of one burst whose 30,000 answers
// would overflow the routers' ICMP rate limits and our receive buffers together.
const DefaultMuxRate = 20000

// MuxStats counts what the Mux's readers did with the answers they read.
type MuxStats struct {
	Demuxed     uint64 // answers handed to their target
	Foreign     uint64 // datagrams read that answer no live target (other programs' traffic, closed targets); every raw socket of a family sees every ICMP packet, so one may count on several
	QueueFull   uint64 // answers dropped because their target's queue was full (its reader is too slow)
	KernelDrops uint64 // datagrams the kernel dropped for full receive buffers (SO_RXQ_OVFL), summed over sockets
}

// muxStats is MuxStats as the readers update it.
type muxStats struct {
	demuxed, foreign, queueFull atomic.Uint64
}

// targetQueue is how many answers wait for one target's scheduler before more are dropped (and
// counted): a reader serves every target of its socket and must never block on one. Answers for
// one target come a round (one per hop) at a time and its scheduler takes them as they come, so
// 128 is several rounds; a channel's buffer is allocated whole (about 14 KiB here), and 1,000
// targets with early-opened protocols hold thousands of them.
const targetQueue = 128

// muxTarget is one target as the demultiplexer sees it: what its answers must carry, and where
// they go.
type muxTarget struct {
	addr    netip.Addr // the target (zone canonical, see canonicalZone)
	is6     bool
	id      uint16  // ICMP echo identifier, TCP cookie (in the SYN's sequence number), UDP payload cookie
	classic bool    // UDP: the sequence travels in the destination port too
	flow    tcpFlow // raw TCP only
	slot    uint16  // transmit-stamp key prefix, unique on its socket (key = slot<<16 | seq)

	stamps *txStamps // kernel transmit stamps of its probes; nil when the socket has none

	mu     sync.RWMutex // held to send on q, and to close it: a reader never sends on a closed queue
	closed bool
	q      chan Reply // its answers; closed once it is removed from its table
}

// offer hands r to the target without waiting; false when its queue is full. read (if not nil)
// reads the stamps the socket queued meanwhile, for an answer read before its probe's stamp.
func (t *muxTarget) offer(r Reply, read func()) bool {
	if t.stamps != nil {
		if _, ok := t.stamps.sent(r.Seq); !ok && read != nil && t.stamps.waiting() {
			read()
		}
		r = t.stamps.withSent(r)
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return true // closed meanwhile: dropped like an answer to a closed target
	}
	select {
	case t.q <- r:
		return true
	default:
		return false
	}
}

// shut closes the target's queue once.
func (t *muxTarget) shut() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.closed = true
		close(t.q)
	}
}

// tcpKey names a raw TCP target among those of its socket.
type tcpKey struct {
	addr   netip.Addr // no zone
	port   uint16
	cookie uint16
}

// demuxTable holds the live targets of one shared socket (or, for raw TCP, of the TCP socket and
// the ICMP socket its errors arrive on) and hands each answer to its target. Answers for no live
// target are counted as foreign and dropped.
type demuxTable struct {
	mu     sync.RWMutex
	echo   map[uint16]*muxTarget           // ICMP: by echo identifier
	tcp    map[tcpKey]*muxTarget           // raw TCP: by address, port and cookie
	sctp   map[tcpKey]*muxTarget           // SCTP: by address, port and cookie
	sctpTo map[netip.AddrPort][]*muxTarget // SCTP: by address and port, for answers that carry no cookie
	udp    map[netip.Addr]*muxTarget       // UDP: by address without zone (one target per address and socket)
	slots  map[uint16]*muxTarget           // by transmit-stamp slot
	bySlot sync.Map                        // slots again, for the stamp reader, which may run inside a delivery (offer)
	next   uint16                          // where the search for a free slot starts
	closed bool                            // the socket is closed: no new targets
	stats  *muxStats
}

func newDemuxTable(stats *muxStats) *demuxTable {
	return &demuxTable{echo: map[uint16]*muxTarget{}, tcp: map[tcpKey]*muxTarget{}, sctp: map[tcpKey]*muxTarget{},
		sctpTo: map[netip.AddrPort][]*muxTarget{}, udp: map[netip.Addr]*muxTarget{}, slots: map[uint16]*muxTarget{}, stats: stats}
}

var errTableClosed = errors.New("probe: the mux is closed")

// add registers t under the key of its protocol and gives it a stamp slot. It fails when the
// key is taken (the caller allocates identifiers so that it is not, except for UDP, where a
// second target at one address needs another socket).
func (d *demuxTable) add(t *muxTarget, proto Protocol) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errTableClosed
	}
	if len(d.slots) >= 1<<16 {
		return errors.New("probe: 65536 targets on one socket")
	}
	switch proto {
	case ICMPProbes:
		if _, ok := d.echo[t.id]; ok {
			return fmt.Errorf("probe: ICMP identifier %d in use", t.id)
		}
	case TCPProbes:
		if _, ok := d.tcp[t.tcpKey()]; ok {
			return fmt.Errorf("probe: TCP cookie %d in use towards %s port %d", t.id, t.addr, t.flow.port)
		}
	case SCTPProbes:
		if _, ok := d.sctp[t.tcpKey()]; ok {
			return fmt.Errorf("probe: SCTP cookie %d in use towards %s port %d", t.id, t.addr, t.flow.port)
		}
	case UDPProbes:
		if _, ok := d.udp[t.addr.WithZone("")]; ok {
			return errAddrTaken
		}
	}
	for d.slots[d.next] != nil {
		d.next++
	}
	t.slot = d.next
	d.next++
	d.slots[t.slot] = t
	switch proto {
	case ICMPProbes:
		d.echo[t.id] = t
	case TCPProbes:
		d.tcp[t.tcpKey()] = t
	case SCTPProbes:
		d.sctp[t.tcpKey()] = t
		to := t.sctpTo()
		d.sctpTo[to] = append(d.sctpTo[to], t)
	case UDPProbes:
		d.udp[t.addr.WithZone("")] = t
	}
	d.bySlot.Store(t.slot, t)
	return nil
}

// errAddrTaken: the socket already has a UDP target at this address.
var errAddrTaken = errors.New("probe: a target at this address is on the socket")

// has reports whether a UDP target at a is on the table.
func (d *demuxTable) has(a netip.Addr) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.udp[a.WithZone("")]
	return ok
}

func (t *muxTarget) tcpKey() tcpKey {
	return tcpKey{addr: t.flow.target, port: t.flow.port, cookie: t.flow.cookie}
}

func (t *muxTarget) sctpTo() netip.AddrPort { return netip.AddrPortFrom(t.flow.target, t.flow.port) }

// remove unregisters t and closes its queue. Removing a target twice does nothing.
func (d *demuxTable) remove(t *muxTarget, proto Protocol) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.slots[t.slot] != t {
		return
	}
	delete(d.slots, t.slot)
	d.bySlot.Delete(t.slot)
	switch proto {
	case ICMPProbes:
		delete(d.echo, t.id)
	case TCPProbes:
		delete(d.tcp, t.tcpKey())
	case SCTPProbes:
		delete(d.sctp, t.tcpKey())
		to := t.sctpTo()
		if ts := slices.DeleteFunc(d.sctpTo[to], func(o *muxTarget) bool { return o == t }); len(ts) > 0 {
			d.sctpTo[to] = ts
		} else {
			delete(d.sctpTo, to)
		}
	case UDPProbes:
		delete(d.udp, t.addr.WithZone(""))
	}
	t.shut()
}

// close removes every target (closing their queues) and refuses new ones.
func (d *demuxTable) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for _, t := range d.slots {
		t.shut()
		d.bySlot.Delete(t.slot)
	}
	clear(d.slots)
	clear(d.echo)
	clear(d.tcp)
	clear(d.sctp)
	clear(d.sctpTo)
	clear(d.udp)
}

// hand delivers r to t and counts the outcome. It runs without the table's lock: delivering
// may read the socket's error queue (offer), whose messages come back through the table.
func (d *demuxTable) hand(t *muxTarget, r Reply, ok bool, read func()) {
	switch {
	case !ok || t == nil:
		d.stats.foreign.Add(1)
	case t.offer(r, read):
		d.stats.demuxed.Add(1)
	default:
		d.stats.queueFull.Add(1)
	}
}

// echoIDOf reads the echo identifier an ICMP message (after any IPv4 header) concerns: an echo
// reply's own, or that of the echo request quoted by a time exceeded or unreachable. It only
// finds the key; the target's own parser then checks the whole message.
func echoIDOf(b []byte, is6 bool) (uint16, bool) {
	if len(b) < 8 {
		return 0, false
	}
	if is6 {
		switch b[0] {
		case v6EchoReply:
			return binary.BigEndian.Uint16(b[4:]), true
		case v6TimeExceeded, v6Unreachable:
			q := b[8:]
			if len(q) < 40+8 || q[0]>>4 != 6 || q[6] != protoICMPv6 || q[40] != v6Echo {
				return 0, false
			}
			return binary.BigEndian.Uint16(q[44:]), true
		}
		return 0, false
	}
	switch b[0] {
	case v4EchoReply:
		return binary.BigEndian.Uint16(b[4:]), true
	case v4TimeExceeded, v4Unreachable:
		q := b[8:]
		if len(q) < 20 || q[0]>>4 != 4 || q[9] != protoICMP {
			return 0, false
		}
		ihl := int(q[0]&0x0f) * 4
		if ihl < 20 || len(q) < ihl+8 || q[ihl] != v4Echo {
			return 0, false
		}
		return binary.BigEndian.Uint16(q[ihl+4:]), true
	}
	return 0, false
}

// icmp demultiplexes an ICMP message read from a shared raw ICMP socket (b after any IPv4
// header, from its sender, zoned if link-local), timed at.
func (d *demuxTable) icmp(b []byte, from netip.Addr, is6 bool, at time.Time, read func()) {
	t, r, ok := d.icmpMatch(b, from, is6)
	r.At = at
	d.hand(t, r, ok, read)
}

func (d *demuxTable) icmpMatch(b []byte, from netip.Addr, is6 bool) (*muxTarget, Reply, bool) {
	id, ok := echoIDOf(b, is6)
	if !ok || !from.IsValid() {
		return nil, Reply{}, false
	}
	d.mu.RLock()
	t, ok := d.echo[id]
	d.mu.RUnlock()
	if !ok {
		return nil, Reply{}, false
	}
	var r Reply
	if is6 {
		r, ok = parseV6(b, from, id, t.addr)
	} else {
		r, ok = parseV4(b, from, id, t.addr)
	}
	if ok && r.Kind != EchoReply {
		r.MPLS = parseMPLS(b, is6)
	}
	return t, r, ok
}

// tcpSegment demultiplexes a TCP segment read from a shared raw TCP socket (after any IPv4
// header): a SYN-ACK or RST from the destination, keyed by its address, its port and the cookie
// in the acknowledged sequence number.
func (d *demuxTable) tcpSegment(seg []byte, from netip.Addr, at time.Time, read func()) {
	t, r, ok := d.tcpSegmentMatch(seg, from)
	r.At = at
	d.hand(t, r, ok, read)
}

func (d *demuxTable) tcpSegmentMatch(seg []byte, from netip.Addr) (*muxTarget, Reply, bool) {
	if len(seg) < tcpHdrLen || !from.IsValid() {
		return nil, Reply{}, false
	}
	key := tcpKey{addr: from.WithZone(""), port: binary.BigEndian.Uint16(seg), cookie: uint16((binary.BigEndian.Uint32(seg[8:]) - 1) >> 16)}
	d.mu.RLock()
	t, ok := d.tcp[key]
	d.mu.RUnlock()
	if !ok {
		return nil, Reply{}, false
	}
	r, ok := parseTCPSegment(seg, from, t.flow)
	r.From = t.addr // the target as given, zone included
	return t, r, ok
}

// tcpKeyOf reads the key of the SYN an ICMP error (after any IPv4 header) quotes.
func tcpKeyOf(b []byte, is6 bool) (tcpKey, bool) {
	if len(b) < 8 {
		return tcpKey{}, false
	}
	q := b[8:]
	var th []byte
	var dst netip.Addr
	if is6 {
		if (b[0] != v6TimeExceeded && b[0] != v6Unreachable) || len(q) < 40+8 || q[0]>>4 != 6 || q[6] != protoTCP {
			return tcpKey{}, false
		}
		dst, th = netip.AddrFrom16([16]byte(q[24:40])), q[40:]
	} else {
		if (b[0] != v4TimeExceeded && b[0] != v4Unreachable) || len(q) < 20 || q[0]>>4 != 4 || q[9] != protoTCP {
			return tcpKey{}, false
		}
		ihl := int(q[0]&0x0f) * 4
		if ihl < 20 || len(q) < ihl+8 {
			return tcpKey{}, false
		}
		dst, th = netip.AddrFrom4([4]byte(q[16:20])), q[ihl:]
	}
	return tcpKey{addr: dst, port: binary.BigEndian.Uint16(th[2:]), cookie: uint16(binary.BigEndian.Uint32(th[4:]) >> 16)}, true
}

// tcpError demultiplexes an ICMP error about one of our SYNs, read from the raw ICMP socket of a
// shared raw TCP group.
func (d *demuxTable) tcpError(b []byte, from netip.Addr, is6 bool, at time.Time, read func()) {
	t, r, ok := d.tcpErrorMatch(b, from, is6)
	r.At = at
	d.hand(t, r, ok, read)
}

func (d *demuxTable) tcpErrorMatch(b []byte, from netip.Addr, is6 bool) (*muxTarget, Reply, bool) {
	key, ok := tcpKeyOf(b, is6)
	if !ok || !from.IsValid() {
		return nil, Reply{}, false
	}
	d.mu.RLock()
	t, ok := d.tcp[key]
	d.mu.RUnlock()
	if !ok {
		return nil, Reply{}, false
	}
	var r Reply
	if is6 {
		r, ok = parseTCPErrV6(b, from, t.flow)
	} else {
		r, ok = parseTCPErrV4(b, from, t.flow)
	}
	if ok {
		r.MPLS = parseMPLS(b, is6)
	}
	return t, r, ok
}

// sctpLookup finds the SCTP target of a packet to or from (addr, port) keyed by cookie, or, when
// the packet carries no cookie (an 8-byte quote, an ABORT with the T bit), the one classic target
// at that address and port: with several, a source port alone cannot tell whose probe it was
// (classic ports overlap, see portOffset, and a Paris port may lie among them).
func (d *demuxTable) sctpLookup(addr netip.Addr, port, cookie uint16, hasCookie bool) (*muxTarget, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if hasCookie {
		t, ok := d.sctp[tcpKey{addr: addr, port: port, cookie: cookie}]
		return t, ok
	}
	ts := d.sctpTo[netip.AddrPortFrom(addr, port)]
	if len(ts) != 1 || ts[0].flow.paris != 0 {
		return nil, false
	}
	return ts[0], true
}

// sctpPacket demultiplexes an SCTP packet read from a shared raw SCTP socket (after any IPv4
// header): an INIT-ACK or ABORT from the destination, keyed by its address, its port and the
// cookie in its verification tag (our initiate tag).
func (d *demuxTable) sctpPacket(pkt []byte, from netip.Addr, at time.Time, read func()) {
	t, r, ok := d.sctpPacketMatch(pkt, from)
	r.At = at
	d.hand(t, r, ok, read)
}

func (d *demuxTable) sctpPacketMatch(pkt []byte, from netip.Addr) (*muxTarget, Reply, bool) {
	if len(pkt) < sctpHdrLen+4 || !from.IsValid() {
		return nil, Reply{}, false
	}
	port := binary.BigEndian.Uint16(pkt)
	t, ok := d.sctpLookup(from.WithZone(""), port, uint16(binary.BigEndian.Uint32(pkt[4:])>>16), true)
	if !ok && pkt[sctpHdrLen] == sctpChunkAbort && pkt[sctpHdrLen+1]&sctpFlagT != 0 {
		t, ok = d.sctpLookup(from.WithZone(""), port, 0, false)
	}
	if !ok {
		return nil, Reply{}, false
	}
	r, ok := parseSCTPPacket(pkt, from, t.flow)
	r.From = t.addr // the target as given, zone included
	return t, r, ok
}

// sctpKeyOf reads the destination, port and (when quoted) cookie of the INIT an ICMP error
// (after any IPv4 header) quotes.
func sctpKeyOf(b []byte, is6 bool) (k tcpKey, hasCookie, ok bool) {
	if len(b) < 8 {
		return tcpKey{}, false, false
	}
	q := b[8:]
	var th []byte
	if is6 {
		if (b[0] != v6TimeExceeded && b[0] != v6Unreachable && b[0] != v6ParamProblem) || len(q) < 40+8 || q[0]>>4 != 6 || q[6] != protoSCTP {
			return tcpKey{}, false, false
		}
		k.addr, th = netip.AddrFrom16([16]byte(q[24:40])), q[40:]
	} else {
		if (b[0] != v4TimeExceeded && b[0] != v4Unreachable) || len(q) < 20 || q[0]>>4 != 4 || q[9] != protoSCTP {
			return tcpKey{}, false, false
		}
		ihl := int(q[0]&0x0f) * 4
		if ihl < 20 || len(q) < ihl+8 {
			return tcpKey{}, false, false
		}
		k.addr, th = netip.AddrFrom4([4]byte(q[16:20])), q[ihl:]
	}
	k.port = binary.BigEndian.Uint16(th[2:])
	tag, long := quotedInitTag(th)
	k.cookie = uint16(tag >> 16)
	return k, long, true
}

// sctpError demultiplexes an ICMP message about one of our INITs, read from the raw ICMP socket
// of a shared SCTP group.
func (d *demuxTable) sctpError(b []byte, from netip.Addr, is6 bool, at time.Time, read func()) {
	t, r, ok := d.sctpErrorMatch(b, from, is6)
	r.At = at
	d.hand(t, r, ok, read)
}

func (d *demuxTable) sctpErrorMatch(b []byte, from netip.Addr, is6 bool) (*muxTarget, Reply, bool) {
	key, hasCookie, ok := sctpKeyOf(b, is6)
	if !ok || !from.IsValid() {
		return nil, Reply{}, false
	}
	t, ok := d.sctpLookup(key.addr, key.port, key.cookie, hasCookie)
	if !ok {
		return nil, Reply{}, false
	}
	var r Reply
	if is6 {
		r, ok = parseSCTPErrV6(b, from, t.flow)
	} else {
		r, ok = parseSCTPErrV4(b, from, t.flow)
	}
	if ok && r.Kind != Reached {
		r.MPLS = parseMPLS(b, is6)
	}
	if ok && r.Kind == Reached {
		r.From = t.addr
	}
	return t, r, ok
}

// stamp routes a transmit stamp on a socket whose packets carry keys slot<<16 | seq to the
// target of that slot.
func (d *demuxTable) stamp(key uint32, kernel, now time.Time) {
	v, ok := d.bySlot.Load(uint16(key >> 16))
	if t, _ := v.(*muxTarget); ok && t.stamps != nil {
		t.stamps.stamp(uint32(uint16(key)), kernel, now)
	}
}

// idAlloc hands out identifiers (ICMP echo identifiers, TCP and UDP cookies) unique among the live
// targets of one family and protocol of a Mux: every raw socket of the family sees every answer,
// so an identifier must name one target across all of them.
type idAlloc struct {
	used map[uint16]bool
	next uint16 // where the next search starts; random at first, so two programs rarely collide
}

// alloc returns want if it is free (an error if taken), or for want 0 the next free identifier
// (never 0) from where the last search ended.
func (a *idAlloc) alloc(want uint16) (uint16, error) {
	if a.used == nil {
		a.used = map[uint16]bool{}
		a.next = uint16(rand.N(65535)) + 1
	}
	if want != 0 {
		if a.used[want] {
			return 0, fmt.Errorf("probe: identifier %d is in use by another target", want)
		}
		a.used[want] = true
		return want, nil
	}
	if len(a.used) >= 65535 {
		return 0, errors.New("probe: all 65535 identifiers are in use")
	}
	for a.next == 0 || a.used[a.next] {
		a.next++
	}
	id := a.next
	a.used[id] = true
	a.next++
	return id, nil
}

func (a *idAlloc) release(id uint16) { delete(a.used, id) }

// pacer spaces the sends of a whole Mux: a token bucket of rate per second holding burst, in its
// virtual-scheduling form (GCRA). Each send reserves the next slot under the lock and then waits
// for it without the lock, so a send never waits for another's sleep and none is dropped.
type pacer struct {
	mu    sync.Mutex
	every time.Duration // 1/rate
	tau   time.Duration // how far ahead of the schedule a burst may run: (burst-1)·every
	tat   time.Time     // the theoretical time of the next send
	now   func() time.Time
	sleep func(time.Duration)
}

func newPacer(rate, burst int, now func() time.Time, sleep func(time.Duration)) *pacer {
	if rate <= 0 {
		rate = DefaultMuxRate
	}
	if burst <= 0 {
		burst = max(1, rate/100)
	}
	every := time.Second / time.Duration(rate)
	if every <= 0 {
		every = 1
	}
	return &pacer{every: every, tau: time.Duration(burst-1) * every, now: now, sleep: sleep}
}

// wait blocks until the next send may leave.
func (p *pacer) wait() {
	p.mu.Lock()
	now := p.now()
	if p.tat.Before(now) {
		p.tat = now
	}
	d := p.tat.Sub(now) - p.tau
	p.tat = p.tat.Add(p.every)
	p.mu.Unlock()
	if d > 0 {
		p.sleep(d)
	}
}
