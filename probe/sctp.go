package probe

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

// The wire side of SCTP probes (mtr -S), sent on a raw socket: the INIT chunk we build, and the
// answers matched to it (the destination's INIT-ACK or ABORT, the protocol unreachable of a
// destination without SCTP, a router's ICMP error quoting the INIT). Pure functions, so they can
// be table-tested and fuzzed without privileges.
//
// An SCTP probe is keyed like a raw TCP SYN (tcpFlow): in classic mode its source port names its
// sequence, which survives an 8-byte ICMP quote (ports and verification tag are all it holds);
// the INIT's initiate tag carries cookie<<16 | seq in both modes. The destination's INIT-ACK and
// ABORT carry that initiate tag back as their verification tag (RFC 9260 §5.1, §8.4), and routers
// that quote more than 8 bytes quote it too, so in Paris mode, where the ports are fixed, the
// tag names the probe. The INIT's own verification tag stays 0: a non-zero one makes the INIT
// invalid (RFC 9260 §8.5.1), and conntrack firewalls drop it.

const (
	protoSCTP   = 132
	sctpHdrLen  = 12 // common header: ports, verification tag, checksum
	sctpInitLen = 20 // INIT chunk without parameters

	sctpChunkInit    = 1
	sctpChunkInitAck = 2
	sctpChunkAbort   = 6
	sctpFlagT        = 0x01 // ABORT: the verification tag is the one its sender expected of us, not ours

	v4ProtoUnreachable  = 2 // ICMPv4 type 3 code 2
	v6ParamProblem      = 4 // ICMPv6 type
	v6UnknownNextHeader = 1 // ICMPv6 parameter problem code
	v6NextHeaderOffset  = 6 // where a parameter problem about the fixed header's next header points
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	zeroSum    [4]byte // a checksum field as the CRC sees it; global, so no probe allocates it
)

// sctpChecksum is the CRC32c of an SCTP packet computed as if its checksum field were zero. It
// goes on the wire little-endian (RFC 9260 appendix A: the CRC's bit order is reflected), unlike
// every other SCTP field.
func sctpChecksum(pkt []byte) uint32 {
	c := crc32.Update(0, castagnoli, pkt[:8])
	c = crc32.Update(c, castagnoli, zeroSum[:])
	return crc32.Update(c, castagnoli, pkt[sctpHdrLen:])
}

// buildINIT returns an SCTP packet of one INIT chunk from sport to dport whose initiate tag (and
// initial TSN) is tag, checksum included: on a raw socket nobody else computes it. The CRC32c
// covers no pseudo-header, so unlike TCP's it does not depend on the addresses.
func buildINIT(sport, dport uint16, tag uint32) []byte {
	b := make([]byte, sctpHdrLen+sctpInitLen)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	c := b[sctpHdrLen:]
	c[0] = sctpChunkInit
	binary.BigEndian.PutUint16(c[2:], sctpInitLen)
	binary.BigEndian.PutUint32(c[4:], tag)    // initiate tag: never 0 (the cookie is not)
	binary.BigEndian.PutUint32(c[8:], 106496) // a_rwnd: what Linux offers
	binary.BigEndian.PutUint16(c[12:], 10)    // outbound streams, as Linux asks
	binary.BigEndian.PutUint16(c[14:], 65535) // most inbound streams
	binary.BigEndian.PutUint32(c[16:], tag)   // initial TSN
	binary.LittleEndian.PutUint32(b[8:], sctpChecksum(b))
	return b
}

// portSeq is the inverse of srcPort in classic mode: the probe sport was chosen for.
func (f tcpFlow) portSeq(sport uint16) (uint16, bool) {
	if f.paris != 0 || sport < tcpClassicBase || int(sport) >= tcpClassicBase+tcpClassicPorts {
		return 0, false
	}
	return uint16((int(sport) - tcpClassicBase - int(f.offset) + tcpClassicPorts) % tcpClassicPorts), true
}

// parseSCTPPacket matches an SCTP packet (after any IPv4 header) that from sent: the
// destination's INIT-ACK or ABORT answering one of our INITs. Anything else, like the traffic of
// other programs a raw SCTP socket also sees, is not ours.
func parseSCTPPacket(pkt []byte, from netip.Addr, f tcpFlow) (Reply, bool) {
	if len(pkt) < sctpHdrLen+4 || from.WithZone("") != f.target {
		return Reply{}, false
	}
	sport, dport := binary.BigEndian.Uint16(pkt[0:]), binary.BigEndian.Uint16(pkt[2:])
	chunk, flags := pkt[sctpHdrLen], pkt[sctpHdrLen+1]
	if chunk != sctpChunkInitAck && chunk != sctpChunkAbort {
		return Reply{}, false
	}
	if seq, ok := f.match(dport, sport, binary.BigEndian.Uint32(pkt[4:])); ok {
		return Reply{Seq: seq, From: from, Kind: Reached}, true
	}
	// An ABORT with the T bit carries the verification tag its sender expected of us, which for
	// an INIT (tag 0) names nothing; a classic source port still does.
	if chunk == sctpChunkAbort && flags&sctpFlagT != 0 && sport == f.port {
		if seq, ok := f.portSeq(dport); ok {
			return Reply{Seq: seq, From: from, Kind: Reached}, true
		}
	}
	return Reply{}, false
}

// parseSCTPErrV4 matches an ICMPv4 message (after the outer IP header) that from sent about one
// of our INITs. A protocol unreachable from the destination itself is how a host without SCTP
// answers: it was reached.
func parseSCTPErrV4(b []byte, from netip.Addr, f tcpFlow) (Reply, bool) {
	kind, ok := errKindV4(b)
	if !ok {
		return Reply{}, false
	}
	r := Reply{From: from.Unmap(), Kind: kind, Code: b[1]}
	if kind == Unreachable && b[1] == v4ProtoUnreachable && fromTarget(r.From, f.target) {
		r.Kind = Reached
	}
	th, ok := quotedV4(b[8:], protoSCTP, f.target)
	if !ok {
		return Reply{}, false
	}
	return quotedINIT(th, r, f)
}

// parseSCTPErrV6 is parseSCTPErrV4 for ICMPv6, where a host without SCTP answers with a
// parameter problem (unrecognized next header, pointing at the IPv6 header's next header).
func parseSCTPErrV6(b []byte, from netip.Addr, f tcpFlow) (Reply, bool) {
	if len(b) < 8 {
		return Reply{}, false
	}
	r := Reply{From: from, Code: b[1]}
	switch b[0] {
	case v6TimeExceeded:
		r.Kind = TimeExceeded
	case v6Unreachable:
		r.Kind = Unreachable
	case v6ParamProblem:
		// From anyone else it would be a router's complaint about a header we never send.
		if b[1] != v6UnknownNextHeader || binary.BigEndian.Uint32(b[4:]) != v6NextHeaderOffset || !fromTarget(from, f.target) {
			return Reply{}, false
		}
		r.Kind = Reached
	default:
		return Reply{}, false
	}
	th, ok := quotedV6(b[8:], protoSCTP, f.target)
	if !ok {
		return Reply{}, false
	}
	return quotedINIT(th, r, f)
}

// quotedINIT completes r from the quoted INIT (th: at least its first 8 bytes). A quote that
// reaches the INIT chunk is matched on its initiate tag; RFC 792 promises only 8 bytes (the
// ports and the verification tag, 0 in an INIT), where the classic source port names the probe
// and a Paris one cannot.
func quotedINIT(th []byte, r Reply, f tcpFlow) (Reply, bool) {
	sport, dport := binary.BigEndian.Uint16(th), binary.BigEndian.Uint16(th[2:])
	if dport != f.port || binary.BigEndian.Uint32(th[4:]) != 0 {
		return Reply{}, false
	}
	var seq uint16
	var ok bool
	if tag, long := quotedInitTag(th); long {
		seq, ok = f.match(sport, dport, tag)
	} else {
		seq, ok = f.portSeq(sport)
	}
	if !ok {
		return Reply{}, false
	}
	r.Seq = seq
	return r, true
}

// quotedInitTag reads the initiate tag of a quoted INIT; false when the quote stops short of it
// (or what follows the first 8 bytes is an RFC 4884 padding rather than our chunk).
func quotedInitTag(th []byte) (uint32, bool) {
	if len(th) < sctpHdrLen+8 || th[sctpHdrLen] != sctpChunkInit {
		return 0, false
	}
	return binary.BigEndian.Uint32(th[sctpHdrLen+4:]), true
}
