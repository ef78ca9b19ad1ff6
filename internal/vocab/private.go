package vocab

import (
	"net/netip"

	"github.com/mtr-go/mtr-go/stats"
)

// Hidden is what every view and format shows instead of an address or a name that --privacy
// masks, and instead of the local host's name.
const Hidden = "(hidden)"

// Masked hops keep their structure (how many addresses answered, and how often) but their
// addresses are replaced by stand-ins from ranges that never answer a probe: 0.0.0.0/8 ("this
// network", RFC 791) and 100::/64 (discard-only, RFC 6666). A writer that prints a stand-in as it
// is still leaks nothing, so masking is safe even where a format forgets to say Hidden.
var (
	maskV4 = netip.MustParsePrefix("0.0.0.0/8")
	maskV6 = netip.MustParsePrefix("100::/64")
)

// IsMasked reports whether a is a stand-in for a masked address.
func IsMasked(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && (maskV4.Contains(a) || maskV6.Contains(a))
}

// AddrText is an address as the formats print it: the address, or Hidden for a stand-in.
func AddrText(a netip.Addr) string {
	if IsMasked(a) {
		return Hidden
	}
	return a.String()
}

// standIn is the stand-in for the i-th address of hop ttl: distinct per hop and address, so
// load-balanced hops still show how many addresses answered, and of a's family.
func standIn(a netip.Addr, ttl, i int) netip.Addr {
	if a.Unmap().Is4() {
		return netip.AddrFrom4([4]byte{0, byte(ttl >> 8), byte(ttl), byte(i)})
	}
	b := maskV6.Addr().As16()
	b[12], b[13], b[14], b[15] = byte(ttl>>8), byte(ttl), byte(i>>8), byte(i)
	return netip.AddrFrom16(b)
}

// Mask returns s with the addresses of hops 1..n replaced by stand-ins (see IsMasked); s itself,
// which may be shared with the scheduler, is not changed. n <= 0 returns s as it is.
func Mask(s stats.Snapshot, n int) stats.Snapshot {
	if n <= 0 {
		return s
	}
	hops := make([]stats.Hop, len(s.Hops))
	copy(hops, s.Hops)
	for i := range hops {
		h := &hops[i]
		if h.TTL > n || len(h.Addrs) == 0 {
			continue
		}
		addrs := make([]stats.Addr, len(h.Addrs))
		for j, a := range h.Addrs {
			addrs[j] = stats.Addr{IP: standIn(a.IP, h.TTL, j), Count: a.Count, MPLS: a.MPLS}
		}
		h.Addrs = addrs
	}
	// The target stays: the user chose it, and the ticket is about the path to it.
	s.Hops = hops
	return s
}

// MaskAddr is a for hop ttl when --privacy n masks that hop (a stand-in), else a.
func MaskAddr(a netip.Addr, ttl, n int) netip.Addr {
	if ttl > n || !a.IsValid() {
		return a
	}
	return standIn(a, ttl, 0)
}
