// Package probe sends probes with a per-probe TTL and matches the kernel's answers to them. It has
// five probers behind one interface (Prober; OpenProber picks by Config.Protocol, Switch lets
// the live view change protocol): ICMP echo over a raw socket (Open, icmp_linux.go), ICMP echo
// over an unprivileged ping socket when raw sockets are refused (OpenDgram, dgram_linux.go), UDP
// datagrams (OpenUDP), TCP SYNs built by hand on a raw socket (OpenTCPRaw, tcpraw_linux.go) and,
// without that privilege, TCP SYNs of one connect per probe (OpenTCP). The raw probers read
// answers from raw sockets, the others ICMP errors from their sockets' error queues
// (errqueue_linux.go); the error queues also carry the kernel's send stamps (txstamp_linux.go).
// A Mux (mux.go, mux_linux.go) opens the same kinds of prober for many targets at once over
// shared sockets, handing each answer to its own target, and paces all their sends.
//
// The wire logic (building echo requests, reading answers, the datagram quoted inside ICMP
// errors, MPLS extensions, error-queue records) is made of pure functions, in this file and
// beside each prober, so it can be table-tested and fuzzed without privileges. Only Linux has
// sockets; other platforms get stubs that report them unsupported.
package probe

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Kind says what an answer means for the probe it answers.
type Kind uint8

// The kinds of answer an echo request can draw.
const (
	EchoReply    Kind = iota + 1 // the destination answered (ICMP/ICMPv6 echo reply)
	TimeExceeded                 // a router on the path: TTL / hop limit expired
	Unreachable                  // ICMP destination unreachable (any code; Code says which)
	Reached                      // the destination answered a TCP probe (SYN-ACK or RST) or an SCTP one (INIT-ACK, ABORT, or protocol unreachable from a host without SCTP)
)

// String returns a short lower-case name, e.g. "time exceeded".
func (k Kind) String() string {
	switch k {
	case EchoReply:
		return "echo reply"
	case TimeExceeded:
		return "time exceeded"
	case Unreachable:
		return "unreachable"
	case Reached:
		return "reached"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Reply is one answer to one of our probes.
type Reply struct {
	Seq  uint16     // sequence of the probe this answers
	From netip.Addr // who answered (router or destination); IPv6 link-local addresses carry their zone
	Kind Kind
	Code uint8       // ICMP code as on the wire (v4 type 3 codes, or v6 type 1 codes)
	At   time.Time   // receive time: the kernel's timestamp where given, else time.Now(); always carries a monotonic reading
	Sent time.Time   // the probe's send time stamped by the kernel (on the monotonic base of At), or zero: then the time Send returned stands
	MPLS []MPLSLabel // label stack of an RFC 4950 extension in the ICMP error, outermost first; nil if none (or no raw socket to see it)
}

// ErrPermission is wrapped by the error Open returns when the kernel refuses
// raw sockets (EPERM/EACCES): the process lacks CAP_NET_RAW.
var ErrPermission = errors.New("no permission to open raw sockets")

// Config says where and how to probe. Only Target is required.
type Config struct {
	Target    netip.Addr // IPv4 or IPv6 (a v4-mapped IPv6 address counts as IPv4); its family picks the socket family
	Source    netip.Addr // optional source address (mtr -a); zero = the kernel picks
	Interface string     // optional (mtr -I): SO_BINDTODEVICE, and unless Source is set, source = first address of Target's family on it
	Size      int        // whole IP packet size incl. IP+ICMP headers (mtr -s); 0 means 64; payload = Size-28 (v4) or Size-48 (v6), at least 0
	Pattern   int        // payload fill byte 0..255 (mtr -B); > 255 means a random byte drawn per probe
	TOS       int        // IPv4 TOS / IPv6 traffic class (mtr -Q), 0..255
	Mark      uint32     // SO_MARK of the probe sockets for policy routing (mtr -M); 0 = none
	ID        uint16     // ICMP identifier; 0 = drawn at random (crypto/rand) by Open, so concurrent probers never take each other's answers

	// The fields below are for OpenProber; Open (raw ICMP) ignores them.
	Protocol  Protocol      // ICMP (default), UDP or TCP
	Port      int           // UDP/TCP destination port (mtr -P); 0 = UDP: the traceroute range 33434+, TCP: 80
	LocalPort int           // UDP source port (mtr -L); 0 = the kernel picks one
	Paris     bool          // keep every probe on one flow (same ports), so ECMP routers pick one path
	Timeout   time.Duration // how long a TCP probe's socket waits for an answer; 0 = 10s
}

const (
	defaultSize = 64
	maxSize     = 65000
	hdrLenV4    = 20 + 8 // IPv4 header without options + ICMP echo header
	hdrLenV6    = 40 + 8 // IPv6 header + ICMPv6 echo header
)

// normalize checks cfg and fills in its defaults (size, random ID, unmapped
// addresses), so the socket code only ever sees a valid configuration.
func (cfg Config) normalize() (Config, error) {
	if !cfg.Target.IsValid() {
		return cfg, errors.New("probe: no target address")
	}
	cfg.Target = cfg.Target.Unmap()
	if !cfg.Target.IsLinkLocalUnicast() {
		// The kernel reports zones only for link-local addresses; a zone
		// elsewhere would make Reply.From never equal Target.
		cfg.Target = cfg.Target.WithZone("")
	}
	if cfg.Source.IsValid() {
		cfg.Source = cfg.Source.Unmap()
		if cfg.Source.Is4() != cfg.Target.Is4() {
			return cfg, fmt.Errorf("probe: source %s and target %s are not the same address family", cfg.Source, cfg.Target)
		}
	}
	var err error
	if cfg.Size, err = checkSize(cfg.Size); err != nil {
		return cfg, err
	}
	if err := checkPattern(cfg.Pattern); err != nil {
		return cfg, err
	}
	if cfg.TOS < 0 || cfg.TOS > 255 {
		return cfg, fmt.Errorf("probe: TOS %d out of range 0..255", cfg.TOS)
	}
	if cfg.ID == 0 {
		cfg.ID = randomID()
	}
	return cfg, nil
}

// payloadLen is how many payload bytes make the whole IP packet cfg.Size long.
func (cfg Config) payloadLen() int {
	hdr := hdrLenV4
	if cfg.Target.Is6() {
		hdr = hdrLenV6
	}
	return max(cfg.Size-hdr, 0)
}

// randomID draws a non-zero identifier. crypto/rand rather than the PID:
// in containers every mtr-go would otherwise be PID 1 and share an ID.
func randomID() uint16 {
	var b [2]byte
	for {
		rand.Read(b[:]) // never fails (Go 1.24+), crashes the program otherwise
		if id := binary.BigEndian.Uint16(b[:]); id != 0 {
			return id
		}
	}
}

// receiveTime picks the time stamped on an answer: the kernel's stamp re-based on now's
// monotonic reading (see rebase), or now when the kernel gave none or one we cannot trust.
func receiveTime(now, kernel time.Time) time.Time {
	if at, ok := rebase(now, kernel); ok {
		return at
	}
	return now
}

// UnreachableText gives mtr-style text for an unreachable code, e.g. "no
// route to host", "network unreachable", "port unreachable", "admin
// prohibited", for IPv4 or IPv6 (is6).
func UnreachableText(code uint8, is6 bool) string {
	var names []string
	if is6 {
		names = unreachV6
	} else {
		names = unreachV4
	}
	if int(code) < len(names) {
		return names[code]
	}
	return fmt.Sprintf("unreachable code %d", code)
}

// unreachV4 is indexed by ICMP type 3 code (RFC 792, RFC 1122, RFC 1812).
var unreachV4 = []string{
	0:  "network unreachable",
	1:  "no route to host",
	2:  "protocol unreachable",
	3:  "port unreachable",
	4:  "fragmentation needed",
	5:  "source route failed",
	6:  "destination network unknown",
	7:  "destination host unknown",
	8:  "source host isolated",
	9:  "network prohibited",
	10: "host prohibited",
	11: "network unreachable for TOS",
	12: "host unreachable for TOS",
	13: "admin prohibited",
	14: "host precedence violation",
	15: "precedence cutoff",
}

// unreachV6 is indexed by ICMPv6 type 1 code (RFC 4443, RFC 6550).
var unreachV6 = []string{
	0: "no route to host",
	1: "admin prohibited",
	2: "beyond scope of source address",
	3: "address unreachable",
	4: "port unreachable",
	5: "source address failed policy",
	6: "reject route",
	7: "source routing header error",
	8: "headers too long",
}

// ICMP message types this package sends or understands.
const (
	v4EchoReply    = 0
	v4Unreachable  = 3
	v4Echo         = 8
	v4TimeExceeded = 11

	v6Unreachable  = 1
	v6PacketTooBig = 2
	v6TimeExceeded = 3
	v6Echo         = 128
	v6EchoReply    = 129

	protoICMP   = 1
	protoICMPv6 = 58
)

// buildEcho returns an ICMP (or ICMPv6) echo request. The ICMPv4 checksum
// is filled in; the ICMPv6 one is left zero because the kernel computes it
// over the pseudo-header it alone knows for sure.
func buildEcho(is6 bool, id, seq uint16, payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	b[0] = v4Echo
	if is6 {
		b[0] = v6Echo
	}
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], payload)
	if !is6 {
		binary.BigEndian.PutUint16(b[2:], checksum(b))
	}
	return b
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// stripIPv4Header returns the payload of an IPv4 datagram as a raw socket's
// recvmsg hands it over (header included), or nil if it is malformed.
func stripIPv4Header(b []byte) []byte {
	if len(b) < 20 || b[0]>>4 != 4 {
		return nil
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl {
		return nil
	}
	return b[ihl:]
}

// parseV4 matches an ICMPv4 message (the bytes after the outer IP header)
// received from `from` against our probes: identifier id sent to target.
// An echo reply is ours only from the target; an error only if it quotes our probe.
// It reports false for anything malformed or not ours.
func parseV4(b []byte, from netip.Addr, id uint16, target netip.Addr) (Reply, bool) {
	if len(b) < 8 {
		return Reply{}, false
	}
	r := Reply{From: from.Unmap(), Code: b[1]}
	switch b[0] {
	case v4EchoReply:
		r.Kind = EchoReply
		if binary.BigEndian.Uint16(b[4:]) != id || !fromTarget(r.From, target) {
			return Reply{}, false
		}
		r.Seq = binary.BigEndian.Uint16(b[6:])
		return r, true
	case v4TimeExceeded:
		r.Kind = TimeExceeded
	case v4Unreachable:
		r.Kind = Unreachable
	default:
		return Reply{}, false
	}
	seq, ok := quotedEchoV4(b[8:], id, target)
	if !ok {
		return Reply{}, false
	}
	r.Seq = seq
	return r, true
}

// fromTarget reports whether from, the sender of an echo reply, is the target. An echo reply
// quotes nothing of our probe, so its sender is all that ties it to the target: without this any
// host that sees or guesses our identifier could answer for the destination. Only link-local
// addresses keep a zone (normalize), and the probers name both zones the same way, so zones are
// compared only when both sides have one.
func fromTarget(from, target netip.Addr) bool {
	if from.WithZone("") != target.WithZone("") {
		return false
	}
	return from.Zone() == "" || target.Zone() == "" || from.Zone() == target.Zone()
}

// quotedEchoV4 reads the datagram quoted in an ICMPv4 error and returns the
// sequence of our echo request in it. RFC 792 promises only the IP header
// plus 8 bytes, and our match keys (id, seq) all sit in those 8 bytes.
func quotedEchoV4(q []byte, id uint16, target netip.Addr) (uint16, bool) {
	e, ok := quotedV4(q, protoICMP, target)
	if !ok || e[0] != v4Echo || binary.BigEndian.Uint16(e[4:]) != id {
		return 0, false
	}
	return binary.BigEndian.Uint16(e[6:]), true
}

// quotedV4 checks the IPv4 header quoted in an ICMPv4 error (q: the bytes after the ICMP
// header): a first fragment of protocol proto sent to target. It returns the quoted transport
// header, at least 8 bytes of it.
func quotedV4(q []byte, proto byte, target netip.Addr) ([]byte, bool) {
	if len(q) < 20 || q[0]>>4 != 4 {
		return nil, false
	}
	ihl := int(q[0]&0x0f) * 4
	if ihl < 20 || len(q) < ihl+8 {
		return nil, false
	}
	// A later fragment of a big probe quotes payload bytes where the transport
	// header would be; with a pattern byte they could pass for one.
	if binary.BigEndian.Uint16(q[6:])&0x1fff != 0 {
		return nil, false
	}
	if q[9] != proto || netip.AddrFrom4([4]byte(q[16:20])) != target {
		return nil, false
	}
	return q[ihl:], true
}

// errKindV4 says what an ICMPv4 error means for the probe it quotes; false for
// anything else (and for a message too short to quote anything).
func errKindV4(b []byte) (Kind, bool) {
	if len(b) < 8 {
		return 0, false
	}
	switch b[0] {
	case v4TimeExceeded:
		return TimeExceeded, true
	case v4Unreachable:
		return Unreachable, true
	}
	return 0, false
}

// errKindV6 is errKindV4 for ICMPv6. Packet Too Big is not one: no Kind stands
// for it, and the kernel does the path MTU bookkeeping itself.
func errKindV6(b []byte) (Kind, bool) {
	if len(b) < 8 {
		return 0, false
	}
	switch b[0] {
	case v6TimeExceeded:
		return TimeExceeded, true
	case v6Unreachable:
		return Unreachable, true
	}
	return 0, false
}

// parseV6 is parseV4 for ICMPv6 (raw IPv6 sockets deliver no IP header).
// Packet Too Big is dropped: no Kind stands for it, and the kernel does the
// path MTU bookkeeping itself.
func parseV6(b []byte, from netip.Addr, id uint16, target netip.Addr) (Reply, bool) {
	if len(b) < 8 {
		return Reply{}, false
	}
	r := Reply{From: from, Code: b[1]}
	switch b[0] {
	case v6EchoReply:
		r.Kind = EchoReply
		if binary.BigEndian.Uint16(b[4:]) != id || !fromTarget(r.From, target) {
			return Reply{}, false
		}
		r.Seq = binary.BigEndian.Uint16(b[6:])
		return r, true
	case v6TimeExceeded:
		r.Kind = TimeExceeded
	case v6Unreachable:
		r.Kind = Unreachable
	default:
		return Reply{}, false
	}
	seq, ok := quotedEchoV6(b[8:], id, target)
	if !ok {
		return Reply{}, false
	}
	r.Seq = seq
	return r, true
}

// quotedEchoV6 reads the datagram quoted in an ICMPv6 error.
func quotedEchoV6(q []byte, id uint16, target netip.Addr) (uint16, bool) {
	e, ok := quotedV6(q, protoICMPv6, target)
	if !ok || e[0] != v6Echo || binary.BigEndian.Uint16(e[4:]) != id {
		return 0, false
	}
	return binary.BigEndian.Uint16(e[6:]), true
}

// quotedV6 is quotedV4 for the IPv6 header quoted in an ICMPv6 error. Our probes
// carry no extension headers, so the transport header starts right after the
// fixed 40-byte header; a quote with extension headers is someone else's.
func quotedV6(q []byte, proto byte, target netip.Addr) ([]byte, bool) {
	if len(q) < 40+8 || q[0]>>4 != 6 {
		return nil, false
	}
	if q[6] != proto || netip.AddrFrom16([16]byte(q[24:40])) != target.WithZone("") {
		return nil, false
	}
	return q[40:], true
}
