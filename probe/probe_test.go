package probe

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Addresses from the documentation ranges; nothing here touches a network.
var (
	target4 = netip.MustParseAddr("198.51.100.7")
	router4 = netip.MustParseAddr("192.0.2.1")
	source4 = netip.MustParseAddr("203.0.113.5")
	other4  = netip.MustParseAddr("198.51.100.8")
	target6 = netip.MustParseAddr("2001:db8:7::7")
	router6 = netip.MustParseAddr("2001:db8:1::1")
	source6 = netip.MustParseAddr("2001:db8:5::5")
	other6  = netip.MustParseAddr("2001:db8:7::8")
)

const (
	ourID   = 0x4d54
	otherID = 0x1234
)

// icmpMsg builds an ICMP(v6) message: type, code, a zero "unused" word, body.
func icmpMsg(typ, code byte, body []byte) []byte {
	return append([]byte{typ, code, 0, 0, 0, 0, 0, 0}, body...)
}

// echoMsg builds an echo request or reply with the given id and seq.
func echoMsg(typ byte, id, seq uint16, payload []byte) []byte {
	b := []byte{typ, 0, 0, 0, byte(id >> 8), byte(id), byte(seq >> 8), byte(seq)}
	return append(b, payload...)
}

// ipv4Hdr builds a wire-format IPv4 header (with optionWords*4 bytes of
// options) in front of payload, as a router quotes it.
func ipv4Hdr(proto byte, src, dst netip.Addr, fragOff uint16, optionWords int, payload []byte) []byte {
	ihl := 5 + optionWords
	h := make([]byte, ihl*4)
	h[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)+len(payload)))
	binary.BigEndian.PutUint16(h[6:], fragOff)
	h[8] = 1 // the TTL that expired
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	for i := 20; i < len(h); i++ {
		h[i] = 1 // NOP options
	}
	return append(h, payload...)
}

// ipv6Hdr builds a wire-format IPv6 header in front of payload.
func ipv6Hdr(next byte, src, dst netip.Addr, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = 1
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

func pattern(n int, b byte) []byte { return []byte(strings.Repeat(string([]byte{b}), n)) }

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		EchoReply: "echo reply", TimeExceeded: "time exceeded", Unreachable: "unreachable", 0: "Kind(0)", 9: "Kind(9)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q; want %q", uint8(k), got, want)
		}
	}
}

func TestUnreachableText(t *testing.T) {
	tests := []struct {
		code uint8
		is6  bool
		want string
	}{
		{0, false, "network unreachable"},
		{1, false, "no route to host"},
		{3, false, "port unreachable"},
		{4, false, "fragmentation needed"},
		{9, false, "network prohibited"},
		{10, false, "host prohibited"},
		{13, false, "admin prohibited"},
		{15, false, "precedence cutoff"},
		{16, false, "unreachable code 16"},
		{255, false, "unreachable code 255"},
		{0, true, "no route to host"},
		{1, true, "admin prohibited"},
		{3, true, "address unreachable"},
		{4, true, "port unreachable"},
		{6, true, "reject route"},
		{9, true, "unreachable code 9"},
	}
	for _, tt := range tests {
		if got := UnreachableText(tt.code, tt.is6); got != tt.want {
			t.Errorf("UnreachableText(%d, %v) = %q; want %q", tt.code, tt.is6, got, tt.want)
		}
	}
}

func TestBuildEchoV4(t *testing.T) {
	for _, n := range []int{0, 1, 36, 1000} {
		b := buildEcho(false, ourID, 33000, pattern(n, 0xa5))
		if len(b) != 8+n {
			t.Fatalf("payload %d: len = %d; want %d", n, len(b), 8+n)
		}
		if checksum(b) != 0 {
			t.Errorf("payload %d: checksum does not verify", n)
		}
		m, err := icmp.ParseMessage(protoICMP, b)
		if err != nil {
			t.Fatalf("payload %d: x/net cannot parse it: %v", n, err)
		}
		e, ok := m.Body.(*icmp.Echo)
		if m.Type != ipv4.ICMPTypeEcho || !ok || e.ID != ourID || e.Seq != 33000 || len(e.Data) != n {
			t.Errorf("payload %d: got %v %+v", n, m.Type, m.Body)
		}
	}
}

func TestBuildEchoV6(t *testing.T) {
	b := buildEcho(true, ourID, 7, pattern(16, 0))
	m, err := icmp.ParseMessage(protoICMPv6, b)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := m.Body.(*icmp.Echo)
	if m.Type != ipv6.ICMPTypeEchoRequest || !ok || e.ID != ourID || e.Seq != 7 || len(e.Data) != 16 {
		t.Errorf("got %v %+v", m.Type, m.Body)
	}
	if b[2] != 0 || b[3] != 0 {
		t.Errorf("checksum = %#x; want 0, the kernel fills it in", b[2:4])
	}
}

// TestBuildEchoMatchesX checks our checksum against x/net's Marshal.
func TestBuildEchoMatchesX(t *testing.T) {
	for _, n := range []int{0, 7, 36} {
		want, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: ourID, Seq: 513, Data: pattern(n, 0x3c)}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := buildEcho(false, ourID, 513, pattern(n, 0x3c)); string(got) != string(want) {
			t.Errorf("payload %d: got % x; want % x", n, got, want)
		}
	}
}

func TestPacketSize(t *testing.T) {
	tests := []struct {
		name   string
		target netip.Addr
		size   int
		wantIP int // bytes after the IP header: what buildEcho must produce
	}{
		{"v4 default", target4, 0, 64 - 20},
		{"v4 64", target4, 64, 44},
		{"v4 1500", target4, 1500, 1480},
		{"v4 exactly headers", target4, 28, 8},
		{"v4 below headers", target4, 10, 8},
		{"v4 max", target4, 65000, 64980},
		{"v6 default", target6, 0, 64 - 40},
		{"v6 1280", target6, 1280, 1240},
		{"v6 below headers", target6, 40, 8},
	}
	for _, tt := range tests {
		cfg, err := Config{Target: tt.target, Size: tt.size}.normalize()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		b := buildEcho(tt.target.Is6(), cfg.ID, 1, make([]byte, cfg.payloadLen()))
		if len(b) != tt.wantIP {
			t.Errorf("%s: ICMP message is %d bytes; want %d", tt.name, len(b), tt.wantIP)
		}
	}
}

// A negative size (mtr's -s -N) draws each probe's size from the smallest echo up to N bytes:
// every draw is in range, and over many draws both ends and more than a handful of sizes occur.
func TestRandomSize(t *testing.T) {
	cfg, err := Config{Target: target4, Size: -40}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	sh := shape{cfg: &cfg}
	seen := map[int]int{}
	for range 4000 {
		n, _ := sh.current()
		if n < 0 || n > 40-hdrLenV4 {
			t.Fatalf("payload of %d bytes; want 0 to %d", n, 40-hdrLenV4)
		}
		seen[n]++
	}
	// 13 sizes, 4000 draws: a size missing by chance has probability about 13*(12/13)^4000.
	if len(seen) != 40-hdrLenV4+1 {
		t.Errorf("drew %d distinct sizes; want all %d: %v", len(seen), 40-hdrLenV4+1, seen)
	}
	if got := DrawSize(64); got != 64 {
		t.Errorf("DrawSize(64) = %d; a positive size is kept", got)
	}
	if got := DrawSize(-10); got != MinRandomSize {
		t.Errorf("DrawSize(-10) = %d; below the smallest echo it is %d", got, MinRandomSize)
	}
}

func TestConfigNormalize(t *testing.T) {
	good := []Config{
		{Target: target4},
		{Target: netip.MustParseAddr("::ffff:198.51.100.7"), Source: source4},
		{Target: target6, Source: source6, Size: 65000, Pattern: 256, TOS: 255},
	}
	for _, cfg := range good {
		n, err := cfg.normalize()
		if err != nil {
			t.Errorf("%+v: %v", cfg, err)
			continue
		}
		if n.ID == 0 {
			t.Errorf("%+v: no random ID drawn", cfg)
		}
		if n.Target.Is4In6() {
			t.Errorf("%+v: target left v4-mapped", cfg)
		}
	}
	if n, _ := (Config{Target: target4, ID: 77}).normalize(); n.ID != 77 {
		t.Errorf("explicit ID replaced by %d", n.ID)
	}
	if n, _ := (Config{Target: netip.MustParseAddr("2001:db8::1%eth0")}).normalize(); n.Target.Zone() != "" {
		t.Errorf("zone kept on a global target: %v", n.Target)
	}
	if n, _ := (Config{Target: netip.MustParseAddr("fe80::1%eth0")}).normalize(); n.Target.Zone() != "eth0" {
		t.Errorf("zone dropped from a link-local target: %v", n.Target)
	}
	bad := map[string]Config{
		"no target":        {},
		"family mismatch":  {Target: target4, Source: source6},
		"huge size":        {Target: target4, Size: 65001},
		"huge random size": {Target: target4, Size: -65001},
		"negative bits":    {Target: target4, Pattern: -1},
		"TOS too big":      {Target: target4, TOS: 256},
		"negative TOS":     {Target: target6, TOS: -1},
	}
	for name, cfg := range bad {
		if _, err := cfg.normalize(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReceiveTime(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		kernel time.Time
		want   time.Duration // At - now
	}{
		{"no kernel stamp", time.Time{}, 0},
		{"kernel 5ms earlier", now.Round(0).Add(-5 * time.Millisecond), -5 * time.Millisecond},
		{"kernel 1s earlier", now.Round(0).Add(-time.Second), -time.Second},
		{"kernel too old: clock stepped", now.Round(0).Add(-2 * time.Second), 0},
		{"kernel in the future: clock stepped", now.Round(0).Add(time.Millisecond), 0},
	}
	for _, tt := range tests {
		at := receiveTime(now, tt.kernel)
		if got := at.Sub(now); got != tt.want {
			t.Errorf("%s: At-now = %v; want %v", tt.name, got, tt.want)
		}
		// String shows "m=" only while a monotonic reading is kept.
		if !strings.Contains(at.String(), "m=") {
			t.Errorf("%s: At lost its monotonic reading: %v", tt.name, at)
		}
	}
}

func TestStripIPv4Header(t *testing.T) {
	body := echoMsg(v4EchoReply, ourID, 1, nil)
	if got := stripIPv4Header(ipv4Hdr(protoICMP, target4, source4, 0, 0, body)); string(got) != string(body) {
		t.Errorf("plain header: got % x", got)
	}
	if got := stripIPv4Header(ipv4Hdr(protoICMP, target4, source4, 0, 10, body)); string(got) != string(body) {
		t.Errorf("header with 40 bytes of options: got % x", got)
	}
	for name, b := range map[string][]byte{
		"empty":        nil,
		"short":        make([]byte, 19),
		"version 6":    append([]byte{0x65}, make([]byte, 30)...),
		"IHL 4":        append([]byte{0x44}, make([]byte, 30)...),
		"IHL past end": append([]byte{0x4f}, make([]byte, 30)...),
	} {
		if got := stripIPv4Header(b); got != nil {
			t.Errorf("%s: got % x; want nil", name, got)
		}
	}
}

// echoCase is a parseCase whose sender matters: echo replies count only from the target.
type echoCase struct {
	parseCase
	from netip.Addr
}

func v4EchoCases() []echoCase {
	return []echoCase{
		{parseCase{"echo reply ours", echoMsg(v4EchoReply, ourID, 33001, pattern(36, 0)), true,
			Reply{Seq: 33001, From: target4, Kind: EchoReply}}, target4},
		{parseCase{"echo reply header only", echoMsg(v4EchoReply, ourID, 9, nil), true,
			Reply{Seq: 9, From: target4, Kind: EchoReply}}, target4},
		{parseCase{"echo reply ours from a router", echoMsg(v4EchoReply, ourID, 33001, pattern(36, 0)), false, Reply{}}, router4},
		{parseCase{"echo reply ours from a neighbour", echoMsg(v4EchoReply, ourID, 33001, nil), false, Reply{}}, other4},
		{parseCase{"echo reply other ID", echoMsg(v4EchoReply, otherID, 33001, nil), false, Reply{}}, target4},
	}
}

func v6EchoCases() []echoCase {
	return []echoCase{
		{parseCase{"echo reply ours", echoMsg(v6EchoReply, ourID, 33001, pattern(16, 0)), true,
			Reply{Seq: 33001, From: target6, Kind: EchoReply}}, target6},
		{parseCase{"echo reply ours from a router", echoMsg(v6EchoReply, ourID, 33001, pattern(16, 0)), false, Reply{}}, router6},
		{parseCase{"echo reply ours from a neighbour", echoMsg(v6EchoReply, ourID, 33001, nil), false, Reply{}}, other6},
		{parseCase{"echo reply other ID", echoMsg(v6EchoReply, otherID, 33001, nil), false, Reply{}}, target6},
	}
}

type parseCase struct {
	name string
	b    []byte
	ok   bool
	want Reply // From, Kind, Code, Seq; At is never set by parsing
}

func v4Cases() []parseCase {
	probe := func(id, seq uint16, n int) []byte { return buildEcho(false, id, seq, pattern(n, 0)) }
	quote := func(dst netip.Addr, inner []byte) []byte { return ipv4Hdr(protoICMP, source4, dst, 0, 0, inner) }
	te := func(q []byte) []byte { return icmpMsg(v4TimeExceeded, 0, q) }
	return []parseCase{
		{"echo request (our own probe seen on loopback)", probe(ourID, 1, 36), false, Reply{}},
		{"time exceeded full quote", te(quote(target4, probe(ourID, 33002, 36))), true,
			Reply{Seq: 33002, From: router4, Kind: TimeExceeded}},
		{"time exceeded 8-byte quote (RFC 792)", te(quote(target4, probe(ourID, 65535, 36)[:8])), true,
			Reply{Seq: 65535, From: router4, Kind: TimeExceeded}},
		{"time exceeded code 1 (reassembly)", icmpMsg(v4TimeExceeded, 1, quote(target4, probe(ourID, 3, 0))), true,
			Reply{Seq: 3, From: router4, Kind: TimeExceeded, Code: 1}},
		{"time exceeded quote with IP options", te(ipv4Hdr(protoICMP, source4, target4, 0, 3, probe(ourID, 44, 0))), true,
			Reply{Seq: 44, From: router4, Kind: TimeExceeded}},
		{"time exceeded 7-byte quote", te(quote(target4, probe(ourID, 5, 36)[:7])), false, Reply{}},
		{"time exceeded header only", te(nil), false, Reply{}},
		{"time exceeded quote cut in IP header", te(quote(target4, nil)[:19]), false, Reply{}},
		{"time exceeded options cut", te(ipv4Hdr(protoICMP, source4, target4, 0, 3, nil)[:30]), false, Reply{}},
		{"wrong quoted dst", te(quote(other4, probe(ourID, 6, 0))), false, Reply{}},
		{"wrong quoted protocol (UDP)", te(ipv4Hdr(17, source4, target4, 0, 0, probe(ourID, 6, 0))), false, Reply{}},
		{"quoted other ID", te(quote(target4, probe(otherID, 6, 0))), false, Reply{}},
		{"quoted echo reply, not request", te(quote(target4, echoMsg(v4EchoReply, ourID, 6, nil))), false, Reply{}},
		{"quoted non-first fragment", te(ipv4Hdr(protoICMP, source4, target4, 185, 0, probe(ourID, 6, 0))), false, Reply{}},
		{"quoted first fragment, more to come", te(ipv4Hdr(protoICMP, source4, target4, 0x2000, 0, probe(ourID, 6, 0))), true,
			Reply{Seq: 6, From: router4, Kind: TimeExceeded}},
		{"quoted IPv6 header", te(ipv6Hdr(protoICMP, source6, target6, probe(ourID, 6, 0))), false, Reply{}},
		{"unreachable network", icmpMsg(v4Unreachable, 0, quote(target4, probe(ourID, 10, 36))), true,
			Reply{Seq: 10, From: router4, Kind: Unreachable, Code: 0}},
		{"unreachable host", icmpMsg(v4Unreachable, 1, quote(target4, probe(ourID, 11, 36))), true,
			Reply{Seq: 11, From: router4, Kind: Unreachable, Code: 1}},
		{"unreachable admin prohibited, 8-byte quote", icmpMsg(v4Unreachable, 13, quote(target4, probe(ourID, 12, 36)[:8])), true,
			Reply{Seq: 12, From: router4, Kind: Unreachable, Code: 13}},
		{"unreachable other ID", icmpMsg(v4Unreachable, 3, quote(target4, probe(otherID, 12, 0))), false, Reply{}},
		{"redirect", icmpMsg(5, 1, quote(target4, probe(ourID, 12, 0))), false, Reply{}},
		{"parameter problem", icmpMsg(12, 0, quote(target4, probe(ourID, 12, 0))), false, Reply{}},
		{"empty", nil, false, Reply{}},
		{"7 bytes of echo reply", echoMsg(v4EchoReply, ourID, 1, nil)[:7], false, Reply{}},
		{"garbage", []byte("\x0b\x00garbage that is not a datagram at all, really"), false, Reply{}},
	}
}

func v6Cases() []parseCase {
	probe := func(id, seq uint16, n int) []byte { return buildEcho(true, id, seq, pattern(n, 0)) }
	quote := func(dst netip.Addr, inner []byte) []byte { return ipv6Hdr(protoICMPv6, source6, dst, inner) }
	te := func(q []byte) []byte { return icmpMsg(v6TimeExceeded, 0, q) }
	return []parseCase{
		{"echo request (our own probe seen on loopback)", probe(ourID, 1, 16), false, Reply{}},
		{"ICMPv4 echo reply type", echoMsg(v4EchoReply, ourID, 1, nil), false, Reply{}},
		{"time exceeded full quote", te(quote(target6, probe(ourID, 33002, 16))), true,
			Reply{Seq: 33002, From: router6, Kind: TimeExceeded}},
		{"time exceeded 8-byte quote", te(quote(target6, probe(ourID, 2, 16)[:8])), true,
			Reply{Seq: 2, From: router6, Kind: TimeExceeded}},
		{"time exceeded 7-byte quote", te(quote(target6, probe(ourID, 2, 16)[:7])), false, Reply{}},
		{"time exceeded quote cut in IP header", te(quote(target6, nil)[:39]), false, Reply{}},
		{"wrong quoted dst", te(quote(other6, probe(ourID, 3, 0))), false, Reply{}},
		{"wrong quoted next header (UDP)", te(ipv6Hdr(17, source6, target6, probe(ourID, 3, 0))), false, Reply{}},
		{"quoted extension header", te(ipv6Hdr(0, source6, target6, append([]byte{58, 0, 1, 4, 0, 0, 0, 0}, probe(ourID, 3, 0)...))), false, Reply{}},
		{"quoted other ID", te(quote(target6, probe(otherID, 3, 0))), false, Reply{}},
		{"quoted IPv4 header", te(ipv4Hdr(protoICMPv6, source4, target4, 0, 0, append(probe(ourID, 3, 0), make([]byte, 20)...))), false, Reply{}},
		{"unreachable no route", icmpMsg(v6Unreachable, 0, quote(target6, probe(ourID, 4, 16))), true,
			Reply{Seq: 4, From: router6, Kind: Unreachable, Code: 0}},
		{"unreachable admin prohibited", icmpMsg(v6Unreachable, 1, quote(target6, probe(ourID, 5, 16))), true,
			Reply{Seq: 5, From: router6, Kind: Unreachable, Code: 1}},
		{"unreachable address", icmpMsg(v6Unreachable, 3, quote(target6, probe(ourID, 6, 16)[:8])), true,
			Reply{Seq: 6, From: router6, Kind: Unreachable, Code: 3}},
		{"packet too big", icmpMsg(v6PacketTooBig, 0, quote(target6, probe(ourID, 7, 16))), false, Reply{}},
		{"empty", nil, false, Reply{}},
		{"garbage", []byte("\x03\x00garbage that is not a datagram at all, really, honest"), false, Reply{}},
	}
}

func TestParseV4(t *testing.T) {
	for _, tt := range v4Cases() {
		got, ok := parseV4(tt.b, router4, ourID, target4)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range v4EchoCases() {
		got, ok := parseV4(tt.b, tt.from, ourID, target4)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseV6(t *testing.T) {
	for _, tt := range v6Cases() {
		got, ok := parseV6(tt.b, router6, ourID, target6)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range v6EchoCases() {
		got, ok := parseV6(tt.b, tt.from, ourID, target6)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseV4MappedFrom(t *testing.T) {
	from := netip.AddrFrom16(target4.As16()) // how net.IP often hands IPv4 over
	got, ok := parseV4(echoMsg(v4EchoReply, ourID, 1, nil), from, ourID, target4)
	if !ok || got.From != target4 {
		t.Errorf("got %v, %v; want From %v", got.From, ok, target4)
	}
}

// A link-local target is one host on one link: an echo reply from its address on another
// interface is not an answer to us.
func TestParseV6LinkLocalEchoReply(t *testing.T) {
	reply := echoMsg(v6EchoReply, ourID, 5, nil)
	for _, tt := range []struct {
		from, target string
		ok           bool
	}{
		{"fe80::7%eth0", "fe80::7%eth0", true},
		{"fe80::7%eth1", "fe80::7%eth0", false},
		{"fe80::8%eth0", "fe80::7%eth0", false},
		{"fe80::7", "fe80::7%eth0", true}, // the kernel gave no scope id
		{"fe80::7%eth0", "fe80::7", true}, // the user gave no zone
		{"fe80::7", "fe80::7", true},
	} {
		from, target := netip.MustParseAddr(tt.from), netip.MustParseAddr(tt.target)
		got, ok := parseV6(reply, from, ourID, target)
		if ok != tt.ok || (ok && (got.From != from || got.Seq != 5 || got.Kind != EchoReply)) {
			t.Errorf("from %v to %v: got %+v, %v; want ok %v", from, target, got, ok, tt.ok)
		}
	}
}

// TestRoundTrip wraps what buildEcho makes in the answers a kernel or router
// would build, using x/net's Marshal for the outer message.
func TestRoundTrip(t *testing.T) {
	payload := pattern(36, 0xff)
	req4 := buildEcho(false, ourID, 40000, payload)
	req6 := buildEcho(true, ourID, 40001, payload)

	marshal := func(m *icmp.Message) []byte {
		t.Helper()
		b, err := m.Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The destination answers by turning the request around.
	reply4 := append([]byte{v4EchoReply, 0, 0, 0}, req4[4:]...)
	if r, ok := parseV4(reply4, target4, ourID, target4); !ok || r.Seq != 40000 || r.Kind != EchoReply || r.From != target4 {
		t.Errorf("v4 echo reply: got %+v, %v", r, ok)
	}
	reply6 := append([]byte{v6EchoReply, 0, 0, 0}, req6[4:]...)
	if r, ok := parseV6(reply6, target6, ourID, target6); !ok || r.Seq != 40001 || r.Kind != EchoReply || r.From != target6 {
		t.Errorf("v6 echo reply: got %+v, %v", r, ok)
	}

	te4 := marshal(&icmp.Message{Type: ipv4.ICMPTypeTimeExceeded, Body: &icmp.TimeExceeded{
		Data: ipv4Hdr(protoICMP, source4, target4, 0, 0, req4)}})
	if r, ok := parseV4(te4, router4, ourID, target4); !ok || r.Seq != 40000 || r.Kind != TimeExceeded {
		t.Errorf("v4 time exceeded: got %+v, %v", r, ok)
	}
	// RFC 4884 pads the quote and appends extensions (MPLS); the match keys
	// are still at the start.
	te4ext := marshal(&icmp.Message{Type: ipv4.ICMPTypeTimeExceeded, Body: &icmp.TimeExceeded{
		Data: ipv4Hdr(protoICMP, source4, target4, 0, 0, req4),
		Extensions: []icmp.Extension{&icmp.MPLSLabelStack{Class: 1, Type: 1,
			Labels: []icmp.MPLSLabel{{Label: 16014, TC: 0, S: true, TTL: 1}}}}}})
	if r, ok := parseV4(te4ext, router4, ourID, target4); !ok || r.Seq != 40000 || r.Kind != TimeExceeded {
		t.Errorf("v4 time exceeded with MPLS: got %+v, %v", r, ok)
	}
	du4 := marshal(&icmp.Message{Type: ipv4.ICMPTypeDestinationUnreachable, Code: 10, Body: &icmp.DstUnreach{
		Data: ipv4Hdr(protoICMP, source4, target4, 0, 0, req4[:8])}})
	if r, ok := parseV4(du4, router4, ourID, target4); !ok || r.Seq != 40000 || r.Kind != Unreachable || r.Code != 10 {
		t.Errorf("v4 unreachable: got %+v, %v", r, ok)
	}
	te6 := marshal(&icmp.Message{Type: ipv6.ICMPTypeTimeExceeded, Body: &icmp.TimeExceeded{
		Data: ipv6Hdr(protoICMPv6, source6, target6, req6)}})
	if r, ok := parseV6(te6, router6, ourID, target6); !ok || r.Seq != 40001 || r.Kind != TimeExceeded {
		t.Errorf("v6 time exceeded: got %+v, %v", r, ok)
	}
	du6 := marshal(&icmp.Message{Type: ipv6.ICMPTypeDestinationUnreachable, Code: 4, Body: &icmp.DstUnreach{
		Data: ipv6Hdr(protoICMPv6, source6, target6, req6)}})
	if r, ok := parseV6(du6, router6, ourID, target6); !ok || r.Seq != 40001 || r.Kind != Unreachable || r.Code != 4 {
		t.Errorf("v6 unreachable: got %+v, %v", r, ok)
	}
}

func TestSequencesPerProtocol(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want int
	}{
		{"ICMP", Config{Protocol: ICMPProbes}, 65536},
		{"classic UDP: the port carries it", Config{Protocol: UDPProbes}, 65535 - 33434 + 1},
		{"UDP to a fixed port: the payload carries it", Config{Protocol: UDPProbes, Port: 53}, 65536},
		{"Paris UDP", Config{Protocol: UDPProbes, Paris: true}, 65536},
		{"classic TCP: raw SYNs carry it in the source port", Config{Protocol: TCPProbes}, tcpClassicPorts},
		{"Paris TCP: the SYN's sequence number carries it", Config{Protocol: TCPProbes, Paris: true}, 65536},
	} {
		if got := tc.cfg.sequences(); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
