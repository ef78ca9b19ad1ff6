package analyze

import (
	"fmt"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"net/netip"
)

// nonPublic are the ranges that never leave the client's own network: RFC 1918, CGNAT (RFC 6598),
// link-local, loopback and IPv6 unique-local. The benchmarking (198.18.0.0/15) and documentation
// (2001:db8::/32) ranges are deliberately not here: the network labs use them as stand-ins for
// the internet, and a lab path must read like a real one.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("::1/128"),
}

// Private reports whether a is an address of the client's own network rather than the internet's.
func Private(a netip.Addr) bool {
	a = a.Unmap()
	if vocab.IsMasked(a) {
		return true // --privacy hides only the user's own network
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// regions assigns each hop its region. Region A is every non-public hop and the hops up to and
// including the first public one (the local carrier's edge, as the guide's "local carrier
// networks"). Region C is the target and, when AS numbers are known, every hop in the target's
// AS; without them, the hops in the target's own subnet (/24, /64), since a carrier's router
// rarely shares one with a server. Everything else public is region B.
func regions(in Input) []Region {
	hops := in.Snapshot.Hops
	out := make([]Region, len(hops))
	target := in.Snapshot.Target
	tAS, tKnown := in.AS[target]
	publicSeen := false
	for i := range hops {
		if !hops[i].Known() {
			continue
		}
		a := hops[i].Addr()
		switch {
		case a == target:
			out[i] = RegionDest
		case Private(a):
			out[i] = RegionLocal
		case tKnown && tAS.ASN != 0 && in.AS[a].ASN == tAS.ASN:
			out[i] = RegionDest
		case !tKnown && target.IsValid() && sameSubnet(a, target):
			out[i] = RegionDest
		case !publicSeen:
			out[i] = RegionLocal
		default:
			out[i] = RegionBackbone
		}
		if !Private(a) {
			publicSeen = true
		}
	}
	return out
}

func sameSubnet(a, b netip.Addr) bool {
	a, b = a.Unmap(), b.Unmap()
	bits := 64
	if a.Is4() {
		bits = 24
	}
	if a.Is4() != b.Is4() {
		return false
	}
	pa, _ := a.Prefix(bits)
	return pa.Contains(b)
}

// contact says whom to tell about a problem at hop i.
func (x *analyzer) contact(i int) string {
	h := &x.hops[i]
	if !h.Known() {
		return "the carrier that runs this part of the path (see the hops around it)"
	}
	a := h.Addr()
	as := x.asText(a)
	switch x.region[i] {
	case RegionLocal:
		if Private(a) {
			return "your network administrator (LAN)"
		}
		return "your local carrier (ISP)" + as
	case RegionDest:
		if a == x.in.Snapshot.Target {
			return "the destination's administrator"
		}
		return "the destination's network provider" + as
	}
	if as != "" {
		return "the carrier that runs " + a.String() + as
	}
	return fmt.Sprintf("the carrier that runs %s (whois %s names it)", a, a)
}

func (x *analyzer) asText(a netip.Addr) string {
	info, ok := x.in.AS[a]
	if !ok || info.ASN == 0 {
		return ""
	}
	// The name comes from DNS: no control character of it reaches a report or a terminal.
	name := vocab.StripControl(info.Name)
	if name != "" {
		return fmt.Sprintf(", AS%d (%s)", info.ASN, name)
	}
	return fmt.Sprintf(", AS%d", info.ASN)
}
