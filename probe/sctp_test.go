package probe

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

var (
	sctpClassic4 = tcpFlow{target: target4, port: 80, cookie: ourID, offset: 100}
	sctpParis4   = tcpFlow{target: target4, port: 80, cookie: ourID, paris: 20000}
	sctpClassic6 = tcpFlow{target: target6, port: 9899, cookie: ourID}
	sctpParis6   = tcpFlow{target: target6, port: 9899, cookie: ourID, paris: 20000}
)

// TestSCTPChecksumVectors checks the CRC32c against the published vectors of RFC 3720 B.4 (the
// same CRC as SCTP's) and the check value of "123456789", with the vector laid out as an SCTP
// packet whose checksum field holds junk: that field must count as zero.
func TestSCTPChecksumVectors(t *testing.T) {
	incr, decr := make([]byte, 32), make([]byte, 32)
	for i := range 32 {
		incr[i], decr[i] = byte(i), byte(31-i)
	}
	for _, c := range []struct {
		name string
		data []byte
		want uint32
	}{
		{"32 zeros", make([]byte, 32), 0x8a9136aa},
		{"32 0xff", pattern(32, 0xff), 0x62a8ab43},
		{"incrementing", incr, 0x46dd794e},
		{"decrementing", decr, 0x113fdb5c},
	} {
		if got, bit := crc32.Checksum(c.data, castagnoli), crc32cBitwise(c.data); got != c.want || bit != c.want {
			t.Errorf("%s: crc32c %#08x (bitwise %#08x), want %#08x", c.name, got, bit, c.want)
		}
		if c.data[8]|c.data[9]|c.data[10]|c.data[11] != 0 {
			continue // only vectors with a zero checksum field stand for an SCTP packet
		}
		pkt := append([]byte(nil), c.data...)
		binary.BigEndian.PutUint32(pkt[8:], 0xdeadbeef)
		if got := sctpChecksum(pkt); got != c.want {
			t.Errorf("%s: sctpChecksum %#08x, want %#08x", c.name, got, c.want)
		}
	}
	if got := crc32.Checksum([]byte("123456789"), castagnoli); got != 0xe3069283 {
		t.Errorf("check value %#08x, want 0xe3069283", got)
	}
}

// crc32cBitwise is CRC32c computed bit by bit from its definition (reflected polynomial
// 0x82f63b78, initial and final inversion), independently of hash/crc32's tables.
func crc32cBitwise(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x82f63b78
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}

// TestBuildINITMatchesTcpdump compares buildINIT with INITs mtr-go sent in a lab (IPv4 classic,
// IPv6 Paris), as tcpdump -vv -X printed them and decoded every INIT field ("[INIT] [init tag:
// 80685396] [rwnd: 106496] [OS: 10] [MIS: 65535] [init TSN: 80685396]"). tcpdump 4.99 does not
// check SCTP checksums, so the captured ones are checked here with a bitwise CRC32c.
func TestBuildINITMatchesTcpdump(t *testing.T) {
	for _, c := range []struct {
		sport, dport uint16
		tag          uint32
		wire         string
	}{
		{17541, 80, 0x04cf2954, "4485 0050 00000000 47bc447b 0100 0014 04cf2954 0001a000 000a ffff 04cf2954"},
		{25994, 9899, 0xda761c09, "658a 26ab 00000000 50cf9ecc 0100 0014 da761c09 0001a000 000a ffff da761c09"},
	} {
		want := unhex(t, c.wire)
		sum := binary.LittleEndian.Uint32(want[8:])
		zeroed := append([]byte(nil), want...)
		clear(zeroed[8:12])
		if crc := crc32cBitwise(zeroed); crc != sum {
			t.Errorf("captured INIT %d: checksum field %#08x, bitwise CRC32c %#08x", c.sport, sum, crc)
		}
		got := buildINIT(c.sport, c.dport, c.tag)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("buildINIT(%d, %d, %#x)\n% x, want\n% x", c.sport, c.dport, c.tag, got, want)
		}
	}
	for _, tag := range []uint32{1, 0x4d540000, 0xffffffff} {
		b := buildINIT(65535, 1, tag)
		if sum, crc := binary.LittleEndian.Uint32(b[8:]), sctpChecksum(b); sum != crc {
			t.Errorf("tag %#x: checksum field %#08x, CRC32c %#08x", tag, sum, crc)
		}
	}
}

func TestSCTPPortSeq(t *testing.T) {
	for _, f := range []tcpFlow{sctpClassic4, sctpClassic6, withOffset(sctpClassic4, tcpClassicPorts-1)} {
		for _, seq := range []uint16{0, 1, 99, 100, tcpClassicPorts - 1} {
			if got, ok := f.portSeq(f.srcPort(seq)); !ok || got != seq {
				t.Errorf("offset %d seq %d: port %d gives %d, %v", f.offset, seq, f.srcPort(seq), got, ok)
			}
		}
	}
	for _, c := range []struct {
		f    tcpFlow
		port uint16
	}{{sctpClassic4, tcpClassicBase - 1}, {sctpClassic4, tcpClassicBase + tcpClassicPorts}, {sctpParis4, 20000}} {
		if seq, ok := c.f.portSeq(c.port); ok {
			t.Errorf("%+v: port %d taken for seq %d", c.f, c.port, seq)
		}
	}
}

// sctpAnswer is the destination's answer to INIT pkt: a chunk of type chunk with flags, its
// verification tag the INIT's initiate tag (or vtag when T is set).
func sctpAnswer(pkt []byte, chunk, flags byte, vtag uint32) []byte {
	b := make([]byte, sctpHdrLen+4)
	copy(b[0:], pkt[2:4]) // ports swapped
	copy(b[2:], pkt[0:2])
	tag := binary.BigEndian.Uint32(pkt[sctpHdrLen+4:])
	if flags&sctpFlagT != 0 {
		tag = vtag
	}
	binary.BigEndian.PutUint32(b[4:], tag)
	b[sctpHdrLen], b[sctpHdrLen+1] = chunk, flags
	binary.BigEndian.PutUint16(b[sctpHdrLen+2:], 4)
	binary.LittleEndian.PutUint32(b[8:], sctpChecksum(b))
	return b
}

func initOf(f tcpFlow, seq uint16) []byte { return buildINIT(f.srcPort(seq), f.port, f.isn(seq)) }

type sctpCase struct {
	name string
	b    []byte
	from netip.Addr
	f    tcpFlow
	seq  uint16
	kind Kind
	ok   bool
}

func sctpPacketCases() []sctpCase {
	f, p, f6 := sctpClassic4, sctpParis4, sctpClassic6
	in, pin, in6 := initOf(f, 1234), initOf(p, 65535), initOf(f6, 7)
	other := tcpFlow{target: target4, port: 80, cookie: otherID, offset: 100}
	return []sctpCase{
		{"INIT-ACK", sctpAnswer(in, sctpChunkInitAck, 0, 0), target4, f, 1234, Reached, true},
		{"ABORT", sctpAnswer(in, sctpChunkAbort, 0, 0), target4, f, 1234, Reached, true},
		{"ABORT with T, classic port", sctpAnswer(in, sctpChunkAbort, sctpFlagT, 0), target4, f, 1234, Reached, true},
		{"paris INIT-ACK", sctpAnswer(pin, sctpChunkInitAck, 0, 0), target4, p, 65535, Reached, true},
		{"IPv6 ABORT", sctpAnswer(in6, sctpChunkAbort, 0, 0), target6, f6, 7, Reached, true},
		{"paris ABORT with T names nothing", sctpAnswer(pin, sctpChunkAbort, sctpFlagT, 0), target4, p, 0, 0, false},
		{"INIT-ACK with T is no exception", sctpAnswer(in, sctpChunkInitAck, sctpFlagT, 0), target4, f, 0, 0, false},
		{"other cookie", sctpAnswer(in, sctpChunkInitAck, 0, 0), target4, other, 0, 0, false},
		{"from another host", sctpAnswer(in, sctpChunkInitAck, 0, 0), other4, f, 0, 0, false},
		{"from another port", sctpAnswer(buildINIT(f.srcPort(1234), 81, f.isn(1234)), sctpChunkInitAck, 0, 0), target4, f, 0, 0, false},
		{"to another port of ours", sctpAnswer(buildINIT(5000, 80, f.isn(1234)), sctpChunkInitAck, 0, 0), target4, f, 0, 0, false},
		{"an INIT (someone's probe)", in, target4, f, 0, 0, false},
		{"HEARTBEAT", sctpAnswer(in, 4, 0, 0), target4, f, 0, 0, false},
		{"15 bytes", sctpAnswer(in, sctpChunkInitAck, 0, 0)[:15], target4, f, 0, 0, false},
		{"empty", nil, target4, f, 0, 0, false},
	}
}

func TestParseSCTPPacket(t *testing.T) {
	for _, c := range sctpPacketCases() {
		r, ok := parseSCTPPacket(c.b, c.from, c.f)
		if ok != c.ok || (ok && (r.Seq != c.seq || r.Kind != c.kind || r.From != c.from)) {
			t.Errorf("%s: got %+v, %v; want seq %d, %v", c.name, r, ok, c.seq, c.ok)
		}
		if !ok && !reflect.DeepEqual(r, Reply{}) {
			t.Errorf("%s: rejected but returned %+v", c.name, r)
		}
	}
}

func v4Quote(t testing.TB, proto byte, dst netip.Addr, pkt []byte) []byte {
	h := &ipv4.Header{Version: 4, Len: 20, TotalLen: 20 + len(pkt), TTL: 1, Protocol: int(proto), Src: source4.AsSlice(), Dst: dst.AsSlice()}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append(b, pkt...)
}

func sctpErrCasesV4(t testing.TB) []sctpCase {
	f, p := sctpClassic4, sctpParis4
	in, pin := initOf(f, 4321), initOf(p, 9)
	te := func(quote []byte) []byte {
		return marshalICMP(t, &icmp.Message{Type: ipv4.ICMPTypeTimeExceeded, Body: &icmp.TimeExceeded{Data: quote}})
	}
	un := func(code int, quote []byte) []byte {
		return marshalICMP(t, &icmp.Message{Type: ipv4.ICMPTypeDestinationUnreachable, Code: code, Body: &icmp.DstUnreach{Data: quote}})
	}
	// x/net pads a quote to 128 bytes when extensions follow; an RFC 4884 router does so too.
	mpls := &icmp.MPLSLabelStack{Class: 1, Type: 1, Labels: []icmp.MPLSLabel{{Label: 16014, S: true, TTL: 1}}}
	padded := marshalICMP(t, &icmp.Message{Type: ipv4.ICMPTypeTimeExceeded, Body: &icmp.TimeExceeded{Data: v4Quote(t, protoSCTP, target4, in[:8]), Extensions: []icmp.Extension{mpls}}})
	vtag := append([]byte(nil), in...)
	vtag[7] = 1
	return []sctpCase{
		{"time exceeded, whole INIT quoted", te(v4Quote(t, protoSCTP, target4, in)), router4, f, 4321, TimeExceeded, true},
		{"time exceeded, RFC 792 8 bytes", te(v4Quote(t, protoSCTP, target4, in[:8])), router4, f, 4321, TimeExceeded, true},
		{"8 bytes padded for MPLS", padded, router4, f, 4321, TimeExceeded, true},
		{"paris, whole INIT", te(v4Quote(t, protoSCTP, target4, pin)), router4, p, 9, TimeExceeded, true},
		{"paris, 8 bytes name no probe", te(v4Quote(t, protoSCTP, target4, pin[:8])), router4, p, 0, 0, false},
		{"protocol unreachable from the destination", un(2, v4Quote(t, protoSCTP, target4, in)), target4, f, 4321, Reached, true},
		{"protocol unreachable from a router", un(2, v4Quote(t, protoSCTP, target4, in)), router4, f, 4321, Unreachable, true},
		{"port unreachable from the destination", un(3, v4Quote(t, protoSCTP, target4, in)), target4, f, 4321, Unreachable, true},
		{"admin prohibited", un(13, v4Quote(t, protoSCTP, target4, in[:8])), router4, f, 4321, Unreachable, true},
		{"other cookie", te(v4Quote(t, protoSCTP, target4, in)), router4, tcpFlow{target: target4, port: 80, cookie: otherID, offset: 100}, 0, 0, false},
		{"classic INIT seen by a paris prober", te(v4Quote(t, protoSCTP, target4, in)), router4, p, 0, 0, false},
		{"other destination port", te(v4Quote(t, protoSCTP, target4, in)), router4, tcpFlow{target: target4, port: 81, cookie: ourID}, 0, 0, false},
		{"other target", te(v4Quote(t, protoSCTP, other4, in)), router4, f, 0, 0, false},
		{"TCP quoted", te(v4Quote(t, protoTCP, target4, in)), router4, f, 0, 0, false},
		{"non-zero verification tag", te(v4Quote(t, protoSCTP, target4, vtag)), router4, f, 0, 0, false},
		{"7 quoted bytes", te(v4Quote(t, protoSCTP, target4, in[:7])), router4, f, 0, 0, false},
		{"echo reply", echoMsg(v4EchoReply, ourID, 1, nil), target4, f, 0, 0, false},
		{"empty", nil, router4, f, 0, 0, false},
	}
}

func sctpErrCasesV6(t testing.TB) []sctpCase {
	f, p := sctpClassic6, sctpParis6
	in, pin := initOf(f, 77), initOf(p, 65535)
	q := func(pkt []byte) []byte { return ipv6Hdr(protoSCTP, source6, target6, pkt) }
	msg := func(typ icmp.Type, code int, body icmp.MessageBody) []byte {
		return marshalICMP(t, &icmp.Message{Type: typ, Code: code, Body: body})
	}
	pp := func(code, ptr int, quote []byte) []byte {
		return msg(ipv6.ICMPTypeParameterProblem, code, &icmp.ParamProb{Pointer: uintptr(ptr), Data: quote})
	}
	return []sctpCase{
		{"time exceeded", msg(ipv6.ICMPTypeTimeExceeded, 0, &icmp.TimeExceeded{Data: q(in)}), router6, f, 77, TimeExceeded, true},
		{"time exceeded, 8 bytes", msg(ipv6.ICMPTypeTimeExceeded, 0, &icmp.TimeExceeded{Data: q(in[:8])}), router6, f, 77, TimeExceeded, true},
		{"paris time exceeded", msg(ipv6.ICMPTypeTimeExceeded, 0, &icmp.TimeExceeded{Data: q(pin)}), router6, p, 65535, TimeExceeded, true},
		{"no route", msg(ipv6.ICMPTypeDestinationUnreachable, 0, &icmp.DstUnreach{Data: q(in)}), router6, f, 77, Unreachable, true},
		{"unrecognized next header from the destination", pp(1, 6, q(in)), target6, f, 77, Reached, true},
		{"unrecognized next header from a router", pp(1, 6, q(in)), router6, f, 0, 0, false},
		{"unrecognized next header pointing elsewhere", pp(1, 40, q(in)), target6, f, 0, 0, false},
		{"erroneous header field", pp(0, 6, q(in)), target6, f, 0, 0, false},
		{"paris, 8 bytes", msg(ipv6.ICMPTypeTimeExceeded, 0, &icmp.TimeExceeded{Data: q(pin[:8])}), router6, p, 0, 0, false},
		{"other target", msg(ipv6.ICMPTypeTimeExceeded, 0, &icmp.TimeExceeded{Data: ipv6Hdr(protoSCTP, source6, other6, in)}), router6, f, 0, 0, false},
		{"packet too big", msg(ipv6.ICMPTypePacketTooBig, 0, &icmp.PacketTooBig{MTU: 1280, Data: q(in)}), router6, f, 0, 0, false},
		{"empty", nil, router6, f, 0, 0, false},
	}
}

func TestParseSCTPErr(t *testing.T) {
	check := func(c sctpCase, r Reply, ok bool) {
		t.Helper()
		if ok != c.ok || (ok && (r.Seq != c.seq || r.Kind != c.kind || r.From != c.from || r.Code != c.b[1])) {
			t.Errorf("%s: got %+v, %v; want seq %d %v, %v", c.name, r, ok, c.seq, c.kind, c.ok)
		}
		if !ok && !reflect.DeepEqual(r, Reply{}) {
			t.Errorf("%s: rejected but returned %+v", c.name, r)
		}
	}
	for _, c := range sctpErrCasesV4(t) {
		r, ok := parseSCTPErrV4(c.b, c.from, c.f)
		check(c, r, ok)
	}
	for _, c := range sctpErrCasesV6(t) {
		r, ok := parseSCTPErrV6(c.b, c.from, c.f)
		check(c, r, ok)
	}
}

// checkSCTPParsed: a rejection returns nothing; an acceptance names who sent it, and is Reached
// only from the target.
func checkSCTPParsed(t *testing.T, b []byte, r Reply, ok bool, from netip.Addr, fl tcpFlow) {
	t.Helper()
	if !ok {
		if !reflect.DeepEqual(r, Reply{}) {
			t.Fatalf("rejected but returned %+v", r)
		}
		return
	}
	if r.From != from || !r.At.IsZero() || r.MPLS != nil || r.Kind < TimeExceeded || r.Kind > Reached {
		t.Fatalf("accepted %+v from % x", r, b)
	}
	if r.Kind == Reached && from != fl.target {
		t.Fatalf("reached from %v, not the target: % x", from, b)
	}
}

func FuzzParseSCTPPacket(f *testing.F) {
	for _, c := range sctpPacketCases() {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fl := range []tcpFlow{sctpClassic4, sctpParis4} {
			r, ok := parseSCTPPacket(b, target4, fl)
			checkSCTPParsed(t, b, r, ok, target4, fl)
			if ok && r.Kind != Reached {
				t.Fatalf("accepted %+v from % x", r, b)
			}
		}
	})
}

func FuzzParseSCTPErrV4(f *testing.F) {
	for _, c := range sctpErrCasesV4(f) {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fl := range []tcpFlow{sctpClassic4, sctpParis4} {
			for _, from := range []netip.Addr{router4, target4} {
				r, ok := parseSCTPErrV4(b, from, fl)
				checkSCTPParsed(t, b, r, ok, from, fl)
			}
		}
	})
}

func FuzzParseSCTPErrV6(f *testing.F) {
	for _, c := range sctpErrCasesV6(f) {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fl := range []tcpFlow{sctpClassic6, sctpParis6} {
			for _, from := range []netip.Addr{router6, target6} {
				r, ok := parseSCTPErrV6(b, from, fl)
				checkSCTPParsed(t, b, r, ok, from, fl)
			}
		}
	})
}

// BenchmarkBuildINIT: the cost of one INIT with its CRC32c, built per probe.
func BenchmarkBuildINIT(b *testing.B) {
	b.ReportAllocs()
	for i := range b.N {
		buildINIT(sctpClassic4.srcPort(uint16(i)), 80, sctpClassic4.isn(uint16(i)))
	}
}
