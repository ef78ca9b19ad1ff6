package report

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// BenchmarkText formats a 30-hop report, two addresses on every hop, default fields.
func BenchmarkText(b *testing.B) {
	target := netip.MustParseAddr("198.18.30.2")
	p := stats.NewPath(target, 1, 30)
	for ttl := 1; ttl <= 30; ttl++ {
		for i := range 10 {
			seq := uint16(ttl*100 + i)
			p.Sent(ttl, seq)
			a := netip.AddrFrom4([4]byte{198, 18, byte(ttl - 1), byte(2 + i%2)})
			if ttl == 30 {
				a = target
			}
			p.Reply(ttl, seq, a, time.Duration(ttl*1000+i*37)*time.Microsecond, "")
		}
	}
	snap := p.Snapshot()
	names := func(netip.Addr) string { return "" }
	opts := Options{Fields: vocab.DefaultFields, LocalHost: "bench"}
	for b.Loop() {
		if err := Text(io.Discard, snap, names, opts); err != nil {
			b.Fatal(err)
		}
	}
}
