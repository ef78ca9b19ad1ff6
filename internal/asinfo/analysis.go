package asinfo

import (
	"net/netip"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// ForAnalysis gathers what info knows of the addresses of snap (the target's and every hop's) in
// the form the analysis reads; nil when info is nil. Addresses not looked up yet are left out.
func ForAnalysis(snap stats.Snapshot, info func(netip.Addr) (Info, bool)) map[netip.Addr]analyze.ASInfo {
	if info == nil {
		return nil
	}
	m := make(map[netip.Addr]analyze.ASInfo)
	add := func(a netip.Addr) {
		if vocab.IsMasked(a) {
			return // a --privacy stand-in: nothing to look up, nothing to reveal
		}
		if i, ok := info(a); ok && i.Number() != 0 {
			m[a] = analyze.ASInfo{ASN: i.Number(), Name: i.Name}
		}
	}
	add(snap.Target)
	for _, h := range snap.Hops {
		for _, a := range h.Addrs {
			add(a.IP)
		}
	}
	return m
}
