package report

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/asinfo"
)

// labAS knows hops 1 and 3 and the destination of lab(); hop 2 (198.18.1.2) has no record.
func labAS(field int) *IPInfo {
	m := map[string]asinfo.Info{
		"198.18.0.2":   {AS: "64501", Prefix: "198.18.0.0/24", Country: "ZZ", Registry: "other", Allocated: "2026-01-01"},
		"198.18.2.2":   {AS: "4200000001", Prefix: "198.18.2.0/24"},
		"198.18.3.2":   {AS: "64999", Prefix: "198.18.3.0/24", Country: "ZZ"},
		"198.18.100.2": {AS: "64502"},
	}
	return &IPInfo{Field: field, Lookup: func(a netip.Addr) (asinfo.Info, bool) {
		i, ok := m[a.String()]
		return i, ok
	}}
}

// The layouts are mtr 0.95's, checked against it on the lab (TestLabASLookupMatchesMtr): the
// field takes the place of "|-- " and cuts the name at the host column, or with -w widens it.
func TestTextIPInfoGolden(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		names Names
	}{
		{"aslookup", Options{LocalHost: "vm", IPInfo: labAS(asinfo.FieldAS)}, nil},
		{"aslookup names cut", Options{LocalHost: "vm", IPInfo: labAS(asinfo.FieldAS)}, labNames()},
		{"aslookup wide", Options{LocalHost: "vm", Wide: true, IPInfo: labAS(asinfo.FieldAS)}, labNames()},
		{"ipinfo prefix", Options{LocalHost: "vm", IPInfo: labAS(asinfo.FieldPrefix)}, nil},
		{"ipinfo country wide", Options{LocalHost: "vm", Wide: true, IPInfo: labAS(asinfo.FieldCountry)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Text(&buf, lab().snapshot(), tc.names, tc.opts); err != nil {
				t.Fatal(err)
			}
			checkAligned(t, buf.String())
			golden(t, strings.ReplaceAll(tc.name, " ", "-")+".golden", buf.Bytes())
		})
	}
}

func TestTextIPInfoExtraAddresses(t *testing.T) {
	var buf bytes.Buffer
	if err := Text(&buf, ecmp().snapshot(), nil, Options{LocalHost: "vm", IPInfo: labAS(asinfo.FieldAS)}); err != nil {
		t.Fatal(err)
	}
	golden(t, "aslookup-ecmp.golden", buf.Bytes())
}

func TestJSONAndCSVCarryASNWithAslookupOnly(t *testing.T) {
	snap := lab().snapshot()
	m := Meta{Target: "198.18.3.2"}
	for _, tc := range []struct {
		ii   *IPInfo
		want bool
	}{{nil, false}, {labAS(asinfo.FieldAS), true}, {labAS(asinfo.FieldCountry), false}} {
		var j, c bytes.Buffer
		if err := JSON(&j, snap, nil, m, Options{IPInfo: tc.ii}); err != nil {
			t.Fatal(err)
		}
		if err := CSV(&c, snap, nil, m, Options{IPInfo: tc.ii}, true); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"ASN": "AS64501"`, `"ASN": "AS???"`, `"ASN": "AS64999"`} {
			if strings.Contains(j.String(), want) != tc.want {
				t.Errorf("field %v: JSON has %s: %v, want %v\n%s", tc.ii, want, !tc.want, tc.want, j.String())
			}
		}
		lines := strings.Split(c.String(), "\n")
		if got := strings.HasPrefix(lines[0], "Mtr_Version,Start_Time,Status,Host,Hop,Ip,Asn,Loss%"); got != tc.want {
			t.Errorf("field %v: CSV header %q", tc.ii, lines[0])
		}
		if got := strings.Contains(lines[1], ",1,198.18.0.2,AS64501,") && strings.Contains(lines[2], ",198.18.1.2,AS???,"); got != tc.want {
			t.Errorf("field %v: CSV rows %q", tc.ii, lines[1:3])
		}
	}
}
