package analyze

import (
	"net/netip"
	"strings"
	"testing"
)

func TestRegions(t *testing.T) {
	ip := netip.MustParseAddr
	steady := []float64{1, 1.1}
	tests := []struct {
		name string
		hops []hop
		as   map[netip.Addr]ASInfo
		want []Region
	}{
		{
			name: "LAN, CGNAT and link-local are the client's; so is the first public hop",
			hops: []hop{h("192.168.1.1", 5, 0, steady...), h("100.64.0.1", 5, 0, steady...),
				h("169.254.3.1", 5, 0, steady...), h("203.0.113.1", 5, 0, steady...),
				h("198.51.100.7", 5, 0, steady...), h(dest, 5, 0, steady...)},
			want: []Region{RegionLocal, RegionLocal, RegionLocal, RegionLocal, RegionBackbone, RegionDest},
		},
		{
			name: "IPv6 unique-local and link-local",
			hops: []hop{h("fd00::1", 5, 0, steady...), h("fe80::1", 5, 0, steady...), h("2001:db8:1::2", 5, 0, steady...),
				h("2001:db8:2::2", 5, 0, steady...)},
			want: []Region{RegionLocal, RegionLocal, RegionLocal, RegionDest}, // the last hop is the target
		},
		{
			name: "without AS data the target's /24 is its network",
			hops: []hop{h("198.18.0.2", 5, 0, steady...), h("198.18.1.2", 5, 0, steady...), h("198.18.9.1", 5, 0, steady...),
				silent(5), h(dest, 5, 0, steady...)},
			want: []Region{RegionLocal, RegionBackbone, RegionDest, RegionUnknown, RegionDest},
		},
		{
			name: "with AS data the target's AS is its network, its subnet no longer counts",
			hops: []hop{h("198.18.0.2", 5, 0, steady...), h("198.18.1.2", 5, 0, steady...), h("198.18.9.1", 5, 0, steady...),
				h(dest, 5, 0, steady...)},
			as:   map[netip.Addr]ASInfo{ip("198.18.1.2"): {ASN: 64500}, ip("198.18.9.1"): {ASN: 64511}, ip(dest): {ASN: 64500}},
			want: []Region{RegionLocal, RegionDest, RegionBackbone, RegionDest},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := dest
			if tt.hops[len(tt.hops)-1].addrs[0] != dest {
				target = tt.hops[len(tt.hops)-1].addrs[0]
			}
			a := Analyze(Input{Snapshot: path(target, tt.hops...), AS: tt.as})
			for i, r := range a.Regions {
				if r.Region != tt.want[i] {
					t.Errorf("hop %d (%s): region %s, want %s", r.TTL, r.Addr, r.Region, tt.want[i])
				}
			}
		})
	}
}

func TestContactsNameTheAS(t *testing.T) {
	ip := netip.MustParseAddr
	s := path(dest, h("198.18.0.2", 50, 0, 1), h("198.18.1.2", 50, 0, 2), h("198.18.2.2", 50, 10, 3),
		h("198.18.3.2", 50, 10, 4), h(dest, 50, 10, 5))
	a := Analyze(Input{Snapshot: s, AS: map[netip.Addr]ASInfo{ip("198.18.2.2"): {64501, "TRANSIT-EXAMPLE"}},
		Local: ip("198.18.0.1")})
	if len(a.Findings) != 1 || a.Findings[0].Kind != LossStarts {
		t.Fatalf("findings %v", got(a))
	}
	if c := a.Findings[0].Contact; c != "the carrier that runs 198.18.2.2, AS64501 (TRANSIT-EXAMPLE)" {
		t.Errorf("contact %q", c)
	}
	if a.Reverse != "mtr -r -c 100 198.18.0.1" {
		t.Errorf("reverse %q", a.Reverse)
	}
	if c := Analyze(Input{Snapshot: s, Local: ip("192.168.1.20")}); c.Reverse != "mtr -r -c 100 <this host's public address>" {
		t.Errorf("reverse with a private local address %q", c.Reverse)
	}
	b := Analyze(Input{Snapshot: s})
	if c := b.Findings[0].Contact; !strings.Contains(c, "whois 198.18.2.2") {
		t.Errorf("contact without AS data %q", c)
	}
	if b.Reverse != "mtr -r -c 100 <this host's public address>" {
		t.Errorf("reverse without a local address %q", b.Reverse)
	}
}
