package probe

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

var (
	classicFlow4 = tcpFlow{target: target4, port: 443, cookie: ourID}
	parisFlow4   = tcpFlow{target: target4, port: 443, cookie: ourID, paris: 40123}
	classicFlow6 = tcpFlow{target: target6, port: 80, cookie: ourID}
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBuildSYNMatchesTcpdump compares buildSYN with SYNs mtr-go sent in a lab and tcpdump -vv
// checked ("cksum 0xc314 (correct)", "cksum 0x2249 (correct)"): tcpdump's checksum code is the
// known-good implementation, and the bytes are what went on the wire.
func TestBuildSYNMatchesTcpdump(t *testing.T) {
	for _, c := range []struct {
		src, dst string
		sport    uint16
		isn      uint32
		wire     string
	}{
		{"198.18.0.1", "198.18.8.2", 0x5502, 0x1ba4d502, "5502 0050 1ba4 d502 0000 0000 6002 faf0 c314 0000 0204 05b4"},
		{"2001:db8::1", "2001:db8:8::2", 0x6a28, 0xcae2ea28, "6a28 0050 cae2 ea28 0000 0000 6002 faf0 2249 0000 0204 05a0"},
	} {
		got := buildSYN(netip.MustParseAddr(c.src), netip.MustParseAddr(c.dst), c.sport, 80, c.isn)
		if want := unhex(t, c.wire); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: buildSYN\n% x, want\n% x", c.dst, got, want)
		}
	}
}

// sum16 is the ones' complement sum of b written independently of checksum: 32-bit words added
// into 64 bits, folded at the end.
func sum16(b []byte) uint16 {
	var s uint64
	for len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) > 0 {
		var tail [4]byte
		copy(tail[:], b)
		s += uint64(binary.BigEndian.Uint32(tail[:]))
	}
	for s>>16 != 0 {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// TestTCPChecksumPseudoHeaders checks every SYN the builder makes against a pseudo-header laid
// out by hand (RFC 793 for IPv4, RFC 8200 section 8.1 for IPv6) and summed independently.
func TestTCPChecksumPseudoHeaders(t *testing.T) {
	for _, c := range []struct{ src, dst netip.Addr }{
		{source4, target4}, {netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("0.0.0.1")},
		{source6, target6}, {netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ffff::ffff")},
	} {
		for _, seq := range []uint16{0, 1, 0x7fff, 0xffff} {
			f := tcpFlow{target: c.dst, port: 65535, cookie: 0xffff}
			seg := buildSYN(c.src, c.dst, f.srcPort(seq), f.port, f.isn(seq))
			var ph []byte
			if c.src.Is4() {
				s, d := c.src.As4(), c.dst.As4()
				ph = append(append(ph, s[:]...), d[:]...)
				ph = append(ph, 0, 6, 0, byte(len(seg)))
			} else {
				s, d := c.src.As16(), c.dst.As16()
				ph = append(append(ph, s[:]...), d[:]...)
				ph = append(ph, 0, 0, 0, byte(len(seg)), 0, 0, 0, 6)
			}
			if s := sum16(append(ph, seg...)); s != 0xffff {
				t.Errorf("%v -> %v seq %d: sum with checksum %#04x, want 0xffff\n% x", c.src, c.dst, seq, s, seg)
			}
			if got := tcpChecksum(c.src, c.dst, seg); got != 0 {
				t.Errorf("%v -> %v seq %d: tcpChecksum over a finished segment = %#04x, want 0", c.src, c.dst, seq, got)
			}
		}
	}
}

func TestTCPFlowPortsAndSequenceNumbers(t *testing.T) {
	for _, c := range []struct {
		f     tcpFlow
		seq   uint16
		sport uint16
	}{
		{classicFlow4, 0, tcpClassicBase},
		{classicFlow4, tcpClassicPorts - 1, tcpClassicBase + tcpClassicPorts - 1},
		{classicFlow4, tcpClassicPorts, tcpClassicBase}, // wraps: the scheduler keeps below Sequences
		{withOffset(classicFlow4, 100), 0, tcpClassicBase + 100},
		{withOffset(classicFlow4, 100), tcpClassicPorts - 100, tcpClassicBase}, // the ports wrap, not the sequence
		{withOffset(classicFlow4, tcpClassicPorts-1), 1, tcpClassicBase},
		{parisFlow4, 0, 40123},
		{parisFlow4, 65535, 40123},
	} {
		if got := c.f.srcPort(c.seq); got != c.sport {
			t.Errorf("%+v seq %d: source port %d, want %d", c.f, c.seq, got, c.sport)
		}
		isn := c.f.isn(c.seq)
		if isn>>16 != ourID || uint16(isn) != c.seq {
			t.Errorf("seq %d: sequence number %#x, want cookie %#x and seq", c.seq, isn, ourID)
		}
		if seq, ok := c.f.match(c.sport, c.f.port, isn); !ok || seq != c.seq {
			t.Errorf("seq %d: match = %d, %v", c.seq, seq, ok)
		}
	}
	// Classic: a source port that is not the sequence's is someone else's SYN.
	if _, ok := classicFlow4.match(tcpClassicBase+1, 443, classicFlow4.isn(0)); ok {
		t.Error("classic match accepted the wrong source port")
	}
}

func withOffset(f tcpFlow, offset uint16) tcpFlow {
	f.offset = offset
	return f
}

// TestPortOffsetsDistinct: the offsets of distinct cookies never coincide.
func TestPortOffsetsDistinct(t *testing.T) {
	seen := map[uint16]uint16{}
	for c := range uint16(tcpClassicPorts) {
		o := portOffset(c)
		if o >= tcpClassicPorts {
			t.Fatalf("cookie %d: offset %d out of range", c, o)
		}
		if prev, ok := seen[o]; ok {
			t.Fatalf("cookies %d and %d: one offset %d", prev, c, o)
		}
		seen[o] = c
	}
	if d := int(portOffset(2)) - int(portOffset(1)); d > -1000 && d < 1000 {
		t.Errorf("consecutive cookies' offsets %d apart", d)
	}
}

// synAnswer builds the destination's answer to SYN seg: flags, and ack = its sequence + 1.
func synAnswer(seg []byte, flags byte, ackDelta uint32) []byte {
	b := make([]byte, tcpHdrLen)
	copy(b[0:], seg[2:4]) // ports swapped
	copy(b[2:], seg[0:2])
	binary.BigEndian.PutUint32(b[4:], 0xdeadbeef)
	binary.BigEndian.PutUint32(b[8:], binary.BigEndian.Uint32(seg[4:])+ackDelta)
	b[12] = 5 << 4
	b[13] = flags
	return b
}

type segCase struct {
	name string
	b    []byte
	from netip.Addr
	f    tcpFlow
	seq  uint16 // when ok
	ok   bool
}

func segCases() []segCase {
	f := classicFlow4
	syn := buildSYN(source4, target4, f.srcPort(1234), f.port, f.isn(1234))
	p := parisFlow4
	psyn := buildSYN(source4, target4, p.srcPort(9), p.port, p.isn(9))
	f6 := classicFlow6
	syn6 := buildSYN(source6, target6, f6.srcPort(77), f6.port, f6.isn(77))
	otherCookie := tcpFlow{target: target4, port: 443, cookie: otherID}
	return []segCase{
		{"SYN-ACK", synAnswer(syn, tcpFlagSYN|tcpFlagACK, 1), target4, f, 1234, true},
		{"RST-ACK (closed port)", synAnswer(syn, tcpFlagRST|tcpFlagACK, 1), target4, f, 1234, true},
		{"paris SYN-ACK", synAnswer(psyn, tcpFlagSYN|tcpFlagACK, 1), target4, p, 9, true},
		{"IPv6 SYN-ACK", synAnswer(syn6, tcpFlagSYN|tcpFlagACK, 1), target6, f6, 77, true},
		{"RST without ACK", synAnswer(syn, tcpFlagRST, 1), target4, f, 0, false},
		{"bare ACK (a connection's data)", synAnswer(syn, tcpFlagACK, 1), target4, f, 0, false},
		{"ack not our sequence + 1", synAnswer(syn, tcpFlagSYN|tcpFlagACK, 0), target4, f, 0, false},
		{"other cookie", synAnswer(syn, tcpFlagSYN|tcpFlagACK, 1), target4, otherCookie, 0, false},
		{"from another host", synAnswer(syn, tcpFlagSYN|tcpFlagACK, 1), other4, f, 0, false},
		{"to another port of ours", synAnswer(buildSYN(source4, target4, 5000, 443, f.isn(1234)), tcpFlagSYN|tcpFlagACK, 1), target4, f, 0, false},
		{"from another port", synAnswer(buildSYN(source4, target4, f.srcPort(1234), 444, f.isn(1234)), tcpFlagSYN|tcpFlagACK, 1), target4, f, 0, false},
		{"19 bytes", synAnswer(syn, tcpFlagSYN|tcpFlagACK, 1)[:19], target4, f, 0, false},
		{"empty", nil, target4, f, 0, false},
	}
}

func TestParseTCPSegment(t *testing.T) {
	for _, c := range segCases() {
		r, ok := parseTCPSegment(c.b, c.from, c.f)
		if ok != c.ok || (ok && (r.Seq != c.seq || r.Kind != Reached || r.From != c.from)) {
			t.Errorf("%s: got %+v, %v; want seq %d, %v", c.name, r, ok, c.seq, c.ok)
		}
		if !ok && !reflect.DeepEqual(r, Reply{}) {
			t.Errorf("%s: rejected but returned %+v", c.name, r)
		}
	}
}

func marshalICMP(t testing.TB, m *icmp.Message) []byte {
	t.Helper()
	b, err := m.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type errCase struct {
	name string
	b    []byte
	f    tcpFlow
	want Reply // From router4/router6 when accepted
	ok   bool
	mpls int // labels parseMPLS finds
}

func tcpErrCasesV4(t testing.TB) []errCase {
	f, p := classicFlow4, parisFlow4
	syn := buildSYN(source4, target4, f.srcPort(4321), f.port, f.isn(4321))
	psyn := buildSYN(source4, target4, p.srcPort(65535), p.port, p.isn(65535))
	te := func(quote []byte, ext ...icmp.Extension) []byte {
		return marshalICMP(t, &icmp.Message{Type: ipv4.ICMPTypeTimeExceeded, Body: &icmp.TimeExceeded{Data: quote, Extensions: ext}})
	}
	hdr := func(proto byte, dst netip.Addr, frag uint16, seg []byte) []byte {
		h := &ipv4.Header{Version: 4, Len: 20, TotalLen: 20 + len(seg), TTL: 1, Protocol: int(proto), Src: source4.AsSlice(), Dst: dst.AsSlice(), FragOff: int(frag)}
		b, err := h.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return append(b, seg...)
	}
	mpls := &icmp.MPLSLabelStack{Class: 1, Type: 1, Labels: []icmp.MPLSLabel{{Label: 16014, S: true, TTL: 1}}}
	unreach := marshalICMP(t, &icmp.Message{Type: ipv4.ICMPTypeDestinationUnreachable, Code: 13, Body: &icmp.DstUnreach{Data: hdr(protoTCP, target4, 0, syn[:8])}})
	return []errCase{
		{"time exceeded, whole SYN quoted", te(hdr(protoTCP, target4, 0, syn)), f, Reply{Seq: 4321, Kind: TimeExceeded}, true, 0},
		{"time exceeded, RFC 792 8 bytes", te(hdr(protoTCP, target4, 0, syn[:8])), f, Reply{Seq: 4321, Kind: TimeExceeded}, true, 0},
		{"time exceeded with MPLS", te(hdr(protoTCP, target4, 0, syn), mpls), f, Reply{Seq: 4321, Kind: TimeExceeded}, true, 1},
		{"paris", te(hdr(protoTCP, target4, 0, psyn)), p, Reply{Seq: 65535, Kind: TimeExceeded}, true, 0},
		{"admin prohibited", unreach, f, Reply{Seq: 4321, Kind: Unreachable, Code: 13}, true, 0},
		{"7 quoted bytes", te(hdr(protoTCP, target4, 0, syn[:7])), f, Reply{}, false, 0},
		{"other cookie", te(hdr(protoTCP, target4, 0, syn)), tcpFlow{target: target4, port: 443, cookie: otherID}, Reply{}, false, 0},
		{"other destination port", te(hdr(protoTCP, target4, 0, syn)), tcpFlow{target: target4, port: 80, cookie: ourID}, Reply{}, false, 0},
		{"classic SYN seen by a paris prober", te(hdr(protoTCP, target4, 0, syn)), p, Reply{}, false, 0},
		{"other target", te(hdr(protoTCP, other4, 0, syn)), f, Reply{}, false, 0},
		{"UDP quoted", te(hdr(17, target4, 0, syn)), f, Reply{}, false, 0},
		{"later fragment", te(hdr(protoTCP, target4, 3, syn)), f, Reply{}, false, 0},
		{"echo reply", echoMsg(v4EchoReply, ourID, 4321, nil), f, Reply{}, false, 0},
		{"empty", nil, f, Reply{}, false, 0},
	}
}

func tcpErrCasesV6(t testing.TB) []errCase {
	f := classicFlow6
	syn := buildSYN(source6, target6, f.srcPort(77), f.port, f.isn(77))
	msg := func(typ icmp.Type, code int, quote []byte) []byte {
		var body icmp.MessageBody = &icmp.TimeExceeded{Data: quote}
		if typ == ipv6.ICMPTypeDestinationUnreachable {
			body = &icmp.DstUnreach{Data: quote}
		}
		return marshalICMP(t, &icmp.Message{Type: typ, Code: code, Body: body})
	}
	return []errCase{
		{"time exceeded", msg(ipv6.ICMPTypeTimeExceeded, 0, ipv6Hdr(protoTCP, source6, target6, syn)), f, Reply{Seq: 77, Kind: TimeExceeded}, true, 0},
		{"port unreachable, 8 bytes", msg(ipv6.ICMPTypeDestinationUnreachable, 4, ipv6Hdr(protoTCP, source6, target6, syn[:8])), f, Reply{Seq: 77, Kind: Unreachable, Code: 4}, true, 0},
		{"7 quoted bytes", msg(ipv6.ICMPTypeTimeExceeded, 0, ipv6Hdr(protoTCP, source6, target6, syn[:7])), f, Reply{}, false, 0},
		{"extension header quoted", msg(ipv6.ICMPTypeTimeExceeded, 0, ipv6Hdr(0, source6, target6, syn)), f, Reply{}, false, 0},
		{"other target", msg(ipv6.ICMPTypeTimeExceeded, 0, ipv6Hdr(protoTCP, source6, other6, syn)), f, Reply{}, false, 0},
		{"packet too big", msg(ipv6.ICMPTypePacketTooBig, 0, ipv6Hdr(protoTCP, source6, target6, syn)), f, Reply{}, false, 0},
	}
}

func TestParseTCPErrors(t *testing.T) {
	check := func(c errCase, from netip.Addr, parse func([]byte, netip.Addr, tcpFlow) (Reply, bool), v6 bool) {
		t.Helper()
		r, ok := parse(c.b, from, c.f)
		want := c.want
		if c.ok {
			want.From = from
		}
		if ok != c.ok || !reflect.DeepEqual(r, want) {
			t.Errorf("%s: got %+v, %v; want %+v, %v", c.name, r, ok, want, c.ok)
		}
		if ok {
			if n := len(parseMPLS(c.b, v6)); n != c.mpls {
				t.Errorf("%s: %d MPLS labels, want %d", c.name, n, c.mpls)
			}
		}
	}
	for _, c := range tcpErrCasesV4(t) {
		check(c, router4, parseTCPErrV4, false)
	}
	for _, c := range tcpErrCasesV6(t) {
		check(c, router6, parseTCPErrV6, true)
	}
}

func FuzzParseTCPSegment(f *testing.F) {
	for _, c := range segCases() {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fl := range []tcpFlow{classicFlow4, parisFlow4} {
			r, ok := parseTCPSegment(b, target4, fl)
			checkTCPParsed(t, b, r, ok, fl)
			if ok && (r.Kind != Reached || r.From != target4 || r.Code != 0) {
				t.Fatalf("accepted %+v from % x", r, b)
			}
		}
	})
}

func FuzzParseTCPErrV4(f *testing.F) {
	for _, c := range tcpErrCasesV4(f) {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fl := range []tcpFlow{classicFlow4, parisFlow4} {
			r, ok := parseTCPErrV4(b, router4, fl)
			checkTCPParsed(t, b, r, ok, fl)
			if ok && ((r.Kind != TimeExceeded && r.Kind != Unreachable) || r.From != router4 || r.Code != b[1]) {
				t.Fatalf("accepted %+v from % x", r, b)
			}
		}
	})
}

func FuzzParseTCPErrV6(f *testing.F) {
	for _, c := range tcpErrCasesV6(f) {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := parseTCPErrV6(b, router6, classicFlow6)
		checkTCPParsed(t, b, r, ok, classicFlow6)
		if ok && ((r.Kind != TimeExceeded && r.Kind != Unreachable) || r.From != router6 || r.Code != b[1]) {
			t.Fatalf("accepted %+v from % x", r, b)
		}
	})
}

// checkTCPParsed: a rejection returns nothing, and an acceptance is one of fl's probes, whose
// source port is the one that sequence's SYN had.
func checkTCPParsed(t *testing.T, b []byte, r Reply, ok bool, fl tcpFlow) {
	t.Helper()
	if !ok {
		if !reflect.DeepEqual(r, Reply{}) {
			t.Fatalf("rejected but returned %+v", r)
		}
		return
	}
	if !r.At.IsZero() || r.MPLS != nil {
		t.Fatalf("accepted %+v from % x", r, b)
	}
	if fl.paris == 0 && fl.srcPort(r.Seq) != tcpClassicBase+r.Seq%tcpClassicPorts {
		t.Fatalf("seq %d accepted with a port not its own", r.Seq)
	}
}

// TestTCPPortFilter runs the raw TCP socket's filter in x/net's BPF interpreter on what the
// kernel shows it: IPv4 packets from the IP header on (options shift the TCP header), IPv6
// segments from the TCP header on.
func TestTCPPortFilter(t *testing.T) {
	seg := func(sport uint16) []byte {
		return synAnswer(buildSYN(source4, target4, 20000, sport, 1), tcpFlagSYN|tcpFlagACK, 1)
	}
	for _, c := range []struct {
		name string
		is6  bool
		pkt  []byte
		keep bool
	}{
		{"IPv4 from the port", false, ipv4Hdr(protoTCP, target4, source4, 0, 0, seg(443)), true},
		{"IPv4 with options from the port", false, ipv4Hdr(protoTCP, target4, source4, 0, 3, seg(443)), true},
		{"IPv4 from another port", false, ipv4Hdr(protoTCP, target4, source4, 0, 0, seg(444)), false},
		{"IPv4 with options, another port", false, ipv4Hdr(protoTCP, target4, source4, 0, 3, seg(80)), false},
		{"IPv4 truncated", false, ipv4Hdr(protoTCP, target4, source4, 0, 0, nil), false},
		{"IPv6 from the port", true, seg(443), true},
		{"IPv6 from another port", true, seg(1443), false},
		{"IPv6 one byte", true, []byte{1}, false},
	} {
		vm, err := bpf.NewVM(tcpPortFilter(c.is6, 443))
		if err != nil {
			t.Fatal(err)
		}
		n, err := vm.Run(c.pkt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (n > 0) != c.keep {
			t.Errorf("%s: filter returned %d, want keep=%v", c.name, n, c.keep)
		}
	}
}
