package netlab

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"time"
)

// Packet is one IP packet a Capture saw, with the kernel's timestamp of the moment it passed
// the client's interface.
type Packet struct {
	At   time.Time
	Out  bool   // sent by the client (else received)
	Data []byte // from the IP header on
}

// FlowKey names one probe on the wire the way its answers name it: an ICMP echo by its
// destination, identifier and sequence (the echo reply carries them back, an ICMP error quotes
// them), a UDP probe by its destination, ports and checksum (which covers the payload, so two
// probes with the same ports still differ by what they carry).
type FlowKey struct {
	Dst   netip.Addr
	Proto uint8 // 1 ICMP, 58 ICMPv6, 17 UDP
	A, B  uint16
	Sum   uint16 // UDP only
}

// IP protocol numbers and ICMP types the pairing reads.
const (
	protoICMP   = 1
	protoUDP    = 17
	protoICMPv6 = 58

	icmp4EchoReply   = 0
	icmp4Unreachable = 3
	icmp4Echo        = 8
	icmp4TimeExc     = 11
	icmp6Unreachable = 1
	icmp6TimeExc     = 3
	icmp6Echo        = 128
	icmp6EchoReply   = 129
)

// ipHeader splits an IPv4 or IPv6 packet into its addresses, transport protocol, TTL (hop
// limit) and transport bytes. IPv6 extension headers are not followed: probes carry none.
func ipHeader(b []byte) (src, dst netip.Addr, proto uint8, ttl int, rest []byte, ok bool) {
	if len(b) < 1 {
		return
	}
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return
		}
		src, dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		return src, dst, b[9], int(b[8]), b[ihl:], true
	case 6:
		if len(b) < 40 {
			return
		}
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		return src, dst, b[6], int(b[7]), b[40:], true
	}
	return
}

// probeKey reads an outgoing packet as a probe: an ICMP or ICMPv6 echo request or a UDP
// datagram (DNS excluded), with the TTL it left with.
func probeKey(b []byte) (k FlowKey, ttl int, ok bool) {
	_, dst, proto, ttl, t, ok := ipHeader(b)
	if !ok {
		return FlowKey{}, 0, false
	}
	k, ok = transportKey(dst, proto, t, true)
	if !ok {
		return FlowKey{}, 0, false
	}
	return k, ttl, true
}

// transportKey keys the first 8 bytes of a probe's transport header (all an ICMP error must
// quote). request says whether an echo must be a request (a probe) or may be a reply.
func transportKey(dst netip.Addr, proto uint8, t []byte, request bool) (FlowKey, bool) {
	if len(t) < 8 {
		return FlowKey{}, false
	}
	k := FlowKey{Dst: dst, Proto: proto}
	switch proto {
	case protoICMP, protoICMPv6:
		echo := uint8(icmp4Echo)
		if proto == protoICMPv6 {
			echo = icmp6Echo
		}
		if t[0] != echo || (dst.Is4() != (proto == protoICMP)) {
			return FlowKey{}, false
		}
		k.A, k.B = binary.BigEndian.Uint16(t[4:]), binary.BigEndian.Uint16(t[6:])
	case protoUDP:
		k.A, k.B, k.Sum = binary.BigEndian.Uint16(t), binary.BigEndian.Uint16(t[2:]), binary.BigEndian.Uint16(t[6:])
		if k.B == 53 || k.A == 53 {
			return FlowKey{}, false
		}
	default:
		return FlowKey{}, false
	}
	return k, true
}

// answerKey reads an incoming packet as an answer to a probe: an echo reply (keyed as the
// request it answers) or an ICMP time exceeded or destination unreachable quoting a probe.
func answerKey(b []byte) (FlowKey, bool) {
	src, _, proto, _, t, ok := ipHeader(b)
	if !ok || len(t) < 8 {
		return FlowKey{}, false
	}
	switch {
	case proto == protoICMP && src.Is4() && t[0] == icmp4EchoReply,
		proto == protoICMPv6 && src.Is6() && t[0] == icmp6EchoReply:
		k := FlowKey{Dst: src, Proto: proto, A: binary.BigEndian.Uint16(t[4:]), B: binary.BigEndian.Uint16(t[6:])}
		return k, true
	case proto == protoICMP && src.Is4() && (t[0] == icmp4TimeExc || t[0] == icmp4Unreachable),
		proto == protoICMPv6 && src.Is6() && (t[0] == icmp6TimeExc || t[0] == icmp6Unreachable):
		_, dst, iproto, _, it, ok := ipHeader(t[8:])
		if !ok || dst.Is4() != src.Is4() {
			return FlowKey{}, false
		}
		return transportKey(dst, iproto, it, true)
	}
	return FlowKey{}, false
}

// RTTsByTTL pairs the probes in pkts with their answers, each answer with the latest probe of
// its key sent before it (a second answer to it is a duplicate, not counted), and returns the round-trip times of the
// answered probes by the TTL they left with. keep (nil: all) selects the probes to count, e.g.
// one program's by their ICMP identifier.
func RTTsByTTL(pkts []Packet, keep func(FlowKey) bool) map[int][]time.Duration {
	type sent struct {
		at       time.Time
		ttl      int
		answered bool
	}
	pkts = slices.Clone(pkts)
	slices.SortStableFunc(pkts, func(a, b Packet) int { return a.At.Compare(b.At) })
	probes := map[FlowKey][]*sent{}
	out := map[int][]time.Duration{}
	for _, p := range pkts {
		if p.Out {
			if k, ttl, ok := probeKey(p.Data); ok && (keep == nil || keep(k)) {
				probes[k] = append(probes[k], &sent{at: p.At, ttl: ttl})
			}
			continue
		}
		k, ok := answerKey(p.Data)
		if !ok {
			continue
		}
		if list := probes[k]; len(list) > 0 && !list[len(list)-1].answered {
			s := list[len(list)-1]
			s.answered = true
			out[s.ttl] = append(out[s.ttl], p.At.Sub(s.at))
		}
	}
	return out
}
