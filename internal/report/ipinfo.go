package report

import (
	"net/netip"

	"github.com/mtr-go/mtr-go/internal/asinfo"
	"github.com/mtr-go/mtr-go/internal/vocab"
)

// IPInfo is what -y/-z add to the formats mtr 0.95 adds them to: the chosen field before each
// host of the text report, and with field 0 (-z) "ASN" in JSON hubs and an "Asn" column in CSV.
type IPInfo struct {
	Field  int                                  // asinfo.FieldAS … asinfo.FieldAllocated
	Lookup func(netip.Addr) (asinfo.Info, bool) // never blocks: ok is false until known
}

// text is field Field of a as the report prints it, padded to the field's width; an address
// that is not valid (a hop that never answered) shows AS??? as in mtr.
func (ii *IPInfo) text(a netip.Addr) string {
	info, ok := ii.info(a)
	return asinfo.Format(info, ok, ii.Field)
}

// asn is the AS field without padding, "AS64500" or "AS???", for JSON and CSV.
func (ii *IPInfo) asn(a netip.Addr) string {
	info, ok := ii.info(a)
	return asinfo.Compact(info, ok, asinfo.FieldAS)
}

func (ii *IPInfo) info(a netip.Addr) (asinfo.Info, bool) {
	if !a.IsValid() || ii.Lookup == nil || vocab.IsMasked(a) {
		return asinfo.Info{}, false
	}
	return ii.Lookup(a)
}

// asnColumn reports whether JSON and CSV carry the AS: mtr adds them only for field 0.
func (ii *IPInfo) asnColumn() bool { return ii != nil && ii.Field == asinfo.FieldAS }
