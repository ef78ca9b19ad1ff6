package vocab

import (
	"net/netip"
	"testing"

	"github.com/mtr-go/mtr-go/stats"
)

func TestMask(t *testing.T) {
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	s := stats.Snapshot{Target: a("198.18.3.2"), First: 1, Hops: []stats.Hop{
		{TTL: 1, Sent: 5, Addrs: []stats.Addr{{IP: a("192.168.1.1"), Count: 5}}},
		{TTL: 2, Sent: 5, Addrs: []stats.Addr{{IP: a("2001:db8::1"), Count: 3}, {IP: a("2001:db8::2"), Count: 2}}},
		{TTL: 3, Sent: 5},
		{TTL: 4, Sent: 5, Addrs: []stats.Addr{{IP: a("198.18.3.2"), Count: 5}}},
	}}
	m := Mask(s, 3)
	want := []string{"0.0.1.0", "100::2:0", "100::2:1"}
	got := []string{m.Hops[0].Addrs[0].IP.String(), m.Hops[1].Addrs[0].IP.String(), m.Hops[1].Addrs[1].IP.String()}
	for i := range want {
		if got[i] != want[i] || !IsMasked(netip.MustParseAddr(got[i])) || AddrText(netip.MustParseAddr(got[i])) != Hidden {
			t.Errorf("stand-in %d = %s, want %s (masked, shown as %s)", i, got[i], want[i], Hidden)
		}
	}
	if m.Hops[1].Addrs[1].Count != 2 || m.Hops[0].Sent != 5 || m.Hops[2].Known() {
		t.Errorf("structure changed: %+v", m.Hops[:3])
	}
	if m.Hops[3].Addr() != a("198.18.3.2") || m.Target != s.Target {
		t.Errorf("hop 4 or the target masked: %v %v", m.Hops[3].Addr(), m.Target)
	}
	if s.Hops[0].Addr() != a("192.168.1.1") {
		t.Error("Mask changed its input")
	}
	if Mask(s, 0).Hops[0].Addr() != a("192.168.1.1") {
		t.Error("Mask(s, 0) masked")
	}
	for _, x := range []string{"198.18.0.1", "2001:db8::1", "100:0:0:1::1", "1.0.0.0"} {
		if IsMasked(a(x)) {
			t.Errorf("IsMasked(%s)", x)
		}
	}
	if MaskAddr(a("198.18.0.1"), 2, 1) != a("198.18.0.1") || !IsMasked(MaskAddr(a("198.18.0.1"), 1, 1)) {
		t.Error("MaskAddr by TTL")
	}
	if HostText(MaskAddr(a("198.18.0.1"), 1, 1), "gw.home", true) != Hidden {
		t.Error("HostText of a stand-in shows more than " + Hidden)
	}
}
