package probe

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/net/bpf"
)

// The wire side of TCP probes sent on a raw socket: the SYN we build, and the answers matched to
// it (the destination's SYN-ACK or RST, a router's ICMP error quoting the SYN). Pure functions,
// so they can be table-tested and fuzzed without privileges.

const (
	protoTCP  = 6
	tcpHdrLen = 20 // without options

	tcpFlagRST = 0x04
	tcpFlagSYN = 0x02
	tcpFlagACK = 0x10

	// Classic raw TCP probes each get a source port of their own, so consecutive probes are
	// different flows (and walk every ECMP branch). The ports sit below Linux's default
	// ephemeral range (32768-60999), so a probe's 4-tuple is unlikely to be that of a connection
	// a local program has open to the same destination port.
	tcpClassicBase  = 16384
	tcpClassicPorts = 16384 // 16384..32767: also the number of probes told apart at once
)

// tcpFlow is what makes a TCP segment or a quoted SYN one of ours: the destination and its port,
// the source port that goes with the probe's sequence, and a cookie. The sequence and the cookie
// travel in the SYN's sequence number (cookie<<16 | seq), which routers quote (it is in the first
// 8 bytes of the TCP header, all an RFC 792 router must return) and the destination acknowledges
// (its SYN-ACK or RST carries ack = our sequence number + 1).
type tcpFlow struct {
	target netip.Addr // no zone: compared with addresses read from packets
	port   uint16     // destination port
	cookie uint16     // Config.ID
	paris  uint16     // Paris mode: the source port of every probe; 0 in classic mode
	offset uint16     // classic mode: where the sequence's source ports start (see portOffset)
}

// srcPort is the source port of probe seq.
func (f tcpFlow) srcPort(seq uint16) uint16 {
	if f.paris != 0 {
		return f.paris
	}
	return tcpClassicBase + uint16((int(seq)+int(f.offset))%tcpClassicPorts)
}

// portOffset spreads the classic source ports of targets that share a destination address and
// port (a Mux's targets): each starts its ports at an offset drawn from its cookie, so two such
// targets stepping through their sequences in lockstep never send SYNs of one 4-tuple, which the
// destination would take for one connection and answer once. 8191 is odd, so cookies that
// differ below 16384 (the Mux hands out consecutive ones) get distinct offsets, far apart.
func portOffset(cookie uint16) uint16 {
	return uint16(uint32(cookie) * 8191 % tcpClassicPorts)
}

// isn is the sequence number of probe seq's SYN.
func (f tcpFlow) isn(seq uint16) uint32 { return uint32(f.cookie)<<16 | uint32(seq) }

// match returns the probe whose SYN had these ports and sequence number.
func (f tcpFlow) match(sport, dport uint16, isn uint32) (uint16, bool) {
	seq := uint16(isn)
	if uint16(isn>>16) != f.cookie || dport != f.port || sport != f.srcPort(seq) {
		return 0, false
	}
	return seq, true
}

// buildSYN returns a TCP SYN segment (header and an MSS option, no payload) from src to dst,
// checksum included: on a raw socket nobody else computes it.
func buildSYN(src, dst netip.Addr, sport, dport uint16, isn uint32) []byte {
	b := make([]byte, tcpHdrLen+4)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], isn)
	b[12] = byte(len(b)/4) << 4 // data offset in 32-bit words
	b[13] = tcpFlagSYN
	binary.BigEndian.PutUint16(b[14:], 64240) // window: what Linux offers in a SYN
	// An MSS option, as every real SYN has: some middleboxes drop SYNs without options.
	mss := uint16(1460)
	if dst.Is6() {
		mss = 1440
	}
	b[20], b[21] = 2, 4
	binary.BigEndian.PutUint16(b[22:], mss)
	binary.BigEndian.PutUint16(b[16:], tcpChecksum(src, dst, b))
	return b
}

// tcpChecksum is the TCP checksum of seg (its checksum field zero, or its own value to verify:
// then the result is 0) over the IPv4 or IPv6 pseudo-header of src and dst.
func tcpChecksum(src, dst netip.Addr, seg []byte) uint16 {
	var ph []byte
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		ph = make([]byte, 0, 12+len(seg))
		ph = append(append(ph, s[:]...), d[:]...)
		ph = append(ph, 0, protoTCP)
		ph = binary.BigEndian.AppendUint16(ph, uint16(len(seg)))
	} else {
		s, d := src.As16(), dst.As16()
		ph = make([]byte, 0, 40+len(seg))
		ph = append(append(ph, s[:]...), d[:]...)
		ph = binary.BigEndian.AppendUint32(ph, uint32(len(seg)))
		ph = append(ph, 0, 0, 0, protoTCP)
	}
	return checksum(append(ph, seg...))
}

// parseTCPSegment matches a TCP segment the destination (from) sent: a SYN-ACK (port open) or a
// RST (closed) acknowledging one of our SYNs. Anything else, like the traffic of other programs
// a raw TCP socket also sees, is not ours.
func parseTCPSegment(seg []byte, from netip.Addr, f tcpFlow) (Reply, bool) {
	if len(seg) < tcpHdrLen || from.WithZone("") != f.target {
		return Reply{}, false
	}
	flags := seg[13]
	if flags&tcpFlagACK == 0 || (flags&tcpFlagRST == 0 && flags&tcpFlagSYN == 0) {
		return Reply{}, false
	}
	ack := binary.BigEndian.Uint32(seg[8:])
	seq, ok := f.match(binary.BigEndian.Uint16(seg[2:]), binary.BigEndian.Uint16(seg[0:]), ack-1)
	if !ok {
		return Reply{}, false
	}
	return Reply{Seq: seq, From: from, Kind: Reached}, true
}

// parseTCPErrV4 matches an ICMPv4 message (after the outer IP header) that router `from` sent
// about one of our SYNs.
func parseTCPErrV4(b []byte, from netip.Addr, f tcpFlow) (Reply, bool) {
	kind, ok := errKindV4(b)
	if !ok {
		return Reply{}, false
	}
	th, ok := quotedV4(b[8:], protoTCP, f.target)
	if !ok {
		return Reply{}, false
	}
	return quotedSYN(th, Reply{From: from.Unmap(), Kind: kind, Code: b[1]}, f)
}

// parseTCPErrV6 is parseTCPErrV4 for ICMPv6.
func parseTCPErrV6(b []byte, from netip.Addr, f tcpFlow) (Reply, bool) {
	kind, ok := errKindV6(b)
	if !ok {
		return Reply{}, false
	}
	th, ok := quotedV6(b[8:], protoTCP, f.target)
	if !ok {
		return Reply{}, false
	}
	return quotedSYN(th, Reply{From: from, Kind: kind, Code: b[1]}, f)
}

// quotedSYN completes r from the first 8 quoted bytes of our SYN: ports and sequence number.
func quotedSYN(th []byte, r Reply, f tcpFlow) (Reply, bool) {
	seq, ok := f.match(binary.BigEndian.Uint16(th), binary.BigEndian.Uint16(th[2:]), binary.BigEndian.Uint32(th[4:]))
	if !ok {
		return Reply{}, false
	}
	r.Seq = seq
	return r, true
}

// tcpPortFilter is the socket filter of the raw TCP socket: it sees every TCP segment the host
// receives, and without a filter each one would wake the reader. Only segments from the probed
// port are kept.
func tcpPortFilter(is6 bool, port uint16) []bpf.Instruction {
	return tcpPortsFilter(is6, []uint16{port})
}

// maxFilterPorts is how many ports one filter can list: a classic BPF jump skips at most 255
// instructions.
const maxFilterPorts = 255

// tcpPortsFilter keeps the segments from any of ports (none: nothing), at most maxFilterPorts.
// An IPv4 raw socket's filter sees the IP header first, an IPv6 one the TCP header.
func tcpPortsFilter(is6 bool, ports []uint16) []bpf.Instruction {
	prog := []bpf.Instruction{bpf.LoadAbsolute{Off: 0, Size: 2}}
	if !is6 {
		prog = []bpf.Instruction{bpf.LoadMemShift{Off: 0}, bpf.LoadIndirect{Off: 0, Size: 2}}
	}
	n := len(ports)
	for i, p := range ports {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(p), SkipTrue: uint8(n - i)})
	}
	return append(prog, bpf.RetConstant{Val: 0}, bpf.RetConstant{Val: 0xffff})
}
