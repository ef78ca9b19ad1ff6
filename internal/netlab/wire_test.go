package netlab

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

var (
	client4 = netip.MustParseAddr("198.18.0.1")
	router4 = netip.MustParseAddr("198.18.1.2")
	dest4   = netip.MustParseAddr("198.18.5.2")
	client6 = netip.MustParseAddr("2001:db8::1")
	router6 = netip.MustParseAddr("2001:db8:1::2")
	dest6   = netip.MustParseAddr("2001:db8:5::2")
)

// v4 wraps a transport payload in an IPv4 header (x/net's Marshal) with this TTL.
func v4(t testing.TB, src, dst netip.Addr, proto, ttl int, payload []byte) []byte {
	t.Helper()
	h := ipv4.Header{Version: 4, Len: 20, TotalLen: 20 + len(payload), TTL: ttl, Protocol: proto,
		Src: net.IP(src.AsSlice()), Dst: net.IP(dst.AsSlice())}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append(b, payload...)
}

// v6 wraps a payload in an IPv6 header (x/net has no IPv6 header Marshal).
func v6(src, dst netip.Addr, next, hops int, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 6 << 4
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6], b[7] = byte(next), byte(hops)
	s, d := src.As16(), dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	return append(b, payload...)
}

func icmpMsg(t testing.TB, typ icmp.Type, body icmp.MessageBody) []byte {
	t.Helper()
	b, err := (&icmp.Message{Type: typ, Body: body}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func udp(sport, dport, sum uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b, sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	binary.BigEndian.PutUint16(b[6:], sum)
	return append(b, payload...)
}

func TestProbeAndAnswerKeys(t *testing.T) {
	echo4 := icmpMsg(t, ipv4.ICMPTypeEcho, &icmp.Echo{ID: 0x1234, Seq: 7, Data: []byte("probe")})
	probe4 := v4(t, client4, dest4, 1, 3, echo4)
	echo6 := icmpMsg(t, ipv6.ICMPTypeEchoRequest, &icmp.Echo{ID: 0x1234, Seq: 7, Data: []byte("probe")})
	probe6 := v6(client6, dest6, 58, 3, echo6)
	udp4 := v4(t, client4, dest4, 17, 2, udp(40000, 33434, 0xabcd, []byte("x")))
	udp6 := v6(client6, dest6, 17, 2, udp(40000, 33434, 0xabcd, []byte("x")))
	dns4 := v4(t, client4, dest4, 17, 64, udp(40000, 53, 1, nil))
	key4 := FlowKey{Dst: dest4, Proto: 1, A: 0x1234, B: 7}
	key6 := FlowKey{Dst: dest6, Proto: 58, A: 0x1234, B: 7}
	keyU4 := FlowKey{Dst: dest4, Proto: 17, A: 40000, B: 33434, Sum: 0xabcd}
	keyU6 := FlowKey{Dst: dest6, Proto: 17, A: 40000, B: 33434, Sum: 0xabcd}

	for _, tc := range []struct {
		name string
		b    []byte
		key  FlowKey
		ttl  int
		ok   bool
	}{
		{"ICMP echo", probe4, key4, 3, true},
		{"ICMPv6 echo", probe6, key6, 3, true},
		{"UDP", udp4, keyU4, 2, true},
		{"UDPv6", udp6, keyU6, 2, true},
		{"DNS is not a probe", dns4, FlowKey{}, 0, false},
		{"echo reply is not a probe", v4(t, client4, dest4, 1, 64, icmpMsg(t, ipv4.ICMPTypeEchoReply, &icmp.Echo{ID: 1, Seq: 1})), FlowKey{}, 0, false},
		{"ICMPv4 echo type in ICMPv6", v6(client6, dest6, 58, 3, echo4), FlowKey{}, 0, false},
		{"truncated", probe4[:26], FlowKey{}, 0, false},
		{"bad IHL", append([]byte{0x41}, probe4[1:]...), FlowKey{}, 0, false},
		{"empty", nil, FlowKey{}, 0, false},
	} {
		k, ttl, ok := probeKey(tc.b)
		if k != tc.key || ttl != tc.ttl || ok != tc.ok {
			t.Errorf("probeKey %s: %+v %d %v; want %+v %d %v", tc.name, k, ttl, ok, tc.key, tc.ttl, tc.ok)
		}
	}

	for _, tc := range []struct {
		name string
		b    []byte
		key  FlowKey
		ok   bool
	}{
		{"echo reply", v4(t, dest4, client4, 1, 62, icmpMsg(t, ipv4.ICMPTypeEchoReply, &icmp.Echo{ID: 0x1234, Seq: 7, Data: []byte("probe")})), key4, true},
		{"ICMPv6 echo reply", v6(dest6, client6, 58, 62, icmpMsg(t, ipv6.ICMPTypeEchoReply, &icmp.Echo{ID: 0x1234, Seq: 7})), key6, true},
		// Routers quote the probe as it reached them: TTL 1, only 8 bytes past the header.
		{"time exceeded quoting an echo", v4(t, router4, client4, 1, 64, icmpMsg(t, ipv4.ICMPTypeTimeExceeded, &icmp.TimeExceeded{Data: v4(t, client4, dest4, 1, 1, echo4[:8])})), key4, true},
		{"ICMPv6 time exceeded", v6(router6, client6, 58, 64, icmpMsg(t, ipv6.ICMPTypeTimeExceeded, &icmp.TimeExceeded{Data: probe6})), key6, true},
		{"port unreachable quoting UDP", v4(t, dest4, client4, 1, 64, icmpMsg(t, ipv4.ICMPTypeDestinationUnreachable, &icmp.DstUnreach{Data: udp4})), keyU4, true},
		{"ICMPv6 port unreachable", v6(dest6, client6, 58, 64, icmpMsg(t, ipv6.ICMPTypeDestinationUnreachable, &icmp.DstUnreach{Data: udp6})), keyU6, true},
		{"quote cut short", v4(t, router4, client4, 1, 64, icmpMsg(t, ipv4.ICMPTypeTimeExceeded, &icmp.TimeExceeded{Data: v4(t, client4, dest4, 1, 1, echo4[:7])})), FlowKey{}, false},
		{"quoting an echo reply", v4(t, router4, client4, 1, 64, icmpMsg(t, ipv4.ICMPTypeTimeExceeded, &icmp.TimeExceeded{Data: v4(t, client4, dest4, 1, 1, icmpMsg(t, ipv4.ICMPTypeEchoReply, &icmp.Echo{ID: 1, Seq: 1}))})), FlowKey{}, false},
		{"IPv6 quote in ICMPv4", v4(t, router4, client4, 1, 64, icmpMsg(t, ipv4.ICMPTypeTimeExceeded, &icmp.TimeExceeded{Data: probe6})), FlowKey{}, false},
		{"a probe is not an answer", probe4, FlowKey{}, false},
		{"UDP is not an answer", udp4, FlowKey{}, false},
	} {
		k, ok := answerKey(tc.b)
		if k != tc.key || ok != tc.ok {
			t.Errorf("answerKey %s: %+v %v; want %+v %v", tc.name, k, ok, tc.key, tc.ok)
		}
	}
}

func TestRTTsByTTL(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	echo := func(seq int) []byte {
		return icmpMsg(t, ipv4.ICMPTypeEcho, &icmp.Echo{ID: 9, Seq: seq})
	}
	probe := func(seq, ttl int) []byte { return v4(t, client4, dest4, 1, ttl, echo(seq)) }
	exceeded := func(seq int) []byte {
		return v4(t, router4, client4, 1, 64, icmpMsg(t, ipv4.ICMPTypeTimeExceeded, &icmp.TimeExceeded{Data: v4(t, client4, dest4, 1, 1, echo(seq)[:8])}))
	}
	reply := func(seq int) []byte {
		return v4(t, dest4, client4, 1, 60, icmpMsg(t, ipv4.ICMPTypeEchoReply, &icmp.Echo{ID: 9, Seq: seq}))
	}
	pkts := []Packet{
		{At: at(0), Out: true, Data: probe(1, 1)},
		{At: at(10), Out: true, Data: probe(2, 2)},
		{At: at(40), Data: exceeded(2)}, // 30 µs, TTL 2
		{At: at(25), Data: exceeded(1)}, // out of order in the list: 25 µs, TTL 1
		{At: at(50), Data: exceeded(1)}, // duplicate
		{At: at(60), Data: reply(3)},    // no such probe (yet)
		{At: at(70), Out: true, Data: probe(3, 3)},
		{At: at(120), Data: reply(3)}, // 50 µs, TTL 3
		{At: at(130), Out: true, Data: probe(4, 1)},
		{At: at(145), Data: exceeded(4)},            // 15 µs, TTL 1
		{At: at(150), Out: true, Data: probe(5, 3)}, // never answered
	}
	got := RTTsByTTL(pkts, nil)
	want := map[int][]time.Duration{1: {25 * time.Microsecond, 15 * time.Microsecond}, 2: {30 * time.Microsecond}, 3: {50 * time.Microsecond}}
	if len(got) != len(want) {
		t.Fatalf("got %v; want %v", got, want)
	}
	for ttl, w := range want {
		if g := got[ttl]; len(g) != len(w) || (len(w) > 0 && g[0] != w[0]) || (len(w) > 1 && g[1] != w[1]) {
			t.Errorf("TTL %d: got %v; want %v", ttl, g, w)
		}
	}
	if got := RTTsByTTL(pkts, func(k FlowKey) bool { return k.B != 1 }); len(got[1]) != 1 {
		t.Errorf("keep: TTL 1 got %v; want only probe 4's", got[1])
	}
}

func FuzzWireKeys(f *testing.F) {
	f.Add(v4(f, client4, dest4, 1, 3, icmpMsg(f, ipv4.ICMPTypeEcho, &icmp.Echo{ID: 1, Seq: 2})))
	f.Add(v4(f, router4, client4, 1, 64, icmpMsg(f, ipv4.ICMPTypeTimeExceeded, &icmp.TimeExceeded{Data: v4(f, client4, dest4, 17, 1, udp(1, 2, 3, nil))})))
	f.Add(v6(router6, client6, 58, 64, icmpMsg(f, ipv6.ICMPTypeTimeExceeded, &icmp.TimeExceeded{Data: v6(client6, dest6, 58, 1, icmpMsg(f, ipv6.ICMPTypeEchoRequest, &icmp.Echo{ID: 1, Seq: 2}))})))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, ttl, ok := probeKey(b); ok && (!k.Dst.IsValid() || ttl < 0 || ttl > 255) {
			t.Fatalf("probe %+v ttl %d from % x", k, ttl, b)
		} else if !ok && (k != FlowKey{} || ttl != 0) {
			t.Fatalf("rejected probe but returned %+v %d", k, ttl)
		}
		if k, ok := answerKey(b); ok && (!k.Dst.IsValid() || (k.Proto != 1 && k.Proto != 58 && k.Proto != 17)) {
			t.Fatalf("answer %+v from % x", k, b)
		}
		RTTsByTTL([]Packet{{Out: true, Data: b}, {Data: b}}, nil)
	})
}
