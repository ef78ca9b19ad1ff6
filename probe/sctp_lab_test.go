package probe

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// TestLabOpenProberSCTP: OpenProber's SCTP prober, a Mux of its own, traces the lab's path (the
// destination, without SCTP, answers protocol unreachable), tells classic probes apart by their
// source ports only as far as those go, and leaves no socket open once closed.
func TestLabOpenProberSCTP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	before := openSockets(t)
	for _, fam := range [][]netip.Addr{lab.Hops4, lab.Hops6} {
		for _, paris := range []bool{false, true} {
			target := fam[len(fam)-1]
			var p Prober
			err := lab.Run(func() (err error) {
				p, err = OpenProber(Config{Target: target, Protocol: SCTPProbes, Paris: paris})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]int{false: tcpClassicPorts, true: 1 << 16}[paris]
			if n := p.(Sequencer).Sequences(); n != want {
				t.Errorf("%v paris=%v: %d sequences, want %d", target, paris, n, want)
			}
			for ttl := 1; ttl <= len(fam); ttl++ {
				if _, err := p.Send(uint16(100+ttl), ttl); err != nil {
					t.Fatal(err)
				}
			}
			got := map[uint16]string{}
			for len(got) < len(fam) {
				select {
				case r := <-p.Replies():
					got[r.Seq] = fmt.Sprintf("%v %v", r.From, r.Kind)
				case <-time.After(5 * time.Second):
					t.Fatalf("%v paris=%v: answers %v, want %d", target, paris, got, len(fam))
				}
			}
			for ttl, hop := range fam {
				kind := TimeExceeded
				if ttl == len(fam)-1 {
					kind = Reached
				}
				if w := fmt.Sprintf("%v %v", hop, kind); got[uint16(101+ttl)] != w {
					t.Errorf("%v paris=%v ttl %d: %q, want %q", target, paris, ttl+1, got[uint16(101+ttl)], w)
				}
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if after := openSockets(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("sockets after Close %v; before %v", after, before)
	}
}
