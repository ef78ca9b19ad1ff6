package asinfo

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

func TestForAnalysis(t *testing.T) {
	r1, r2, dst := netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("198.18.2.2")
	p := stats.NewPath(dst, 1, 30)
	for ttl, a := range []netip.Addr{r1, r2, dst} {
		p.Sent(ttl+1, uint16(ttl))
		p.Reply(ttl+1, uint16(ttl), a, time.Millisecond, "")
	}
	known := map[netip.Addr]Info{
		r1:  {AS: "64501", Name: "LAB-CARRIER-1"},
		dst: {AS: "64999 65000", Name: "LAB-DEST"}, // several origins: the first counts
		r2:  {AS: ""},                              // looked up, no AS: left out
	}
	got := ForAnalysis(p.Snapshot(), func(a netip.Addr) (Info, bool) { i, ok := known[a]; return i, ok })
	want := map[netip.Addr]analyze.ASInfo{r1: {ASN: 64501, Name: "LAB-CARRIER-1"}, dst: {ASN: 64999, Name: "LAB-DEST"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for a, w := range want {
		if got[a] != w {
			t.Errorf("%v: %+v, want %+v", a, got[a], w)
		}
	}
	// With hop 1 masked (--privacy 1) its stand-in is never asked about.
	ForAnalysis(vocab.Mask(p.Snapshot(), 1), func(a netip.Addr) (Info, bool) {
		if vocab.IsMasked(a) {
			t.Errorf("looked up the stand-in %v", a)
		}
		return Info{}, false
	})
	if ForAnalysis(p.Snapshot(), nil) != nil {
		t.Error("no lookups, yet a map")
	}
}
