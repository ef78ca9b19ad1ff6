package probe

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// A ping socket gets every echo reply that carries its identifier, whoever sent it: the
// prober must take the sender from recvmsg and keep only replies from the target.
func TestDgramEchoReplySender(t *testing.T) {
	const cookie, kernelID = 0x5a5a, 0x0777
	ll := netip.MustParseAddr("fe80::7%eth0")
	reply := func(is6 bool, seq, cookie uint16) []byte {
		var typ icmp.Type = ipv4.ICMPTypeEchoReply
		if is6 {
			typ = ipv6.ICMPTypeEchoReply
		}
		b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: kernelID, Seq: int(seq),
			Data: probePayload(36, 0, cookie, seq)}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		name   string
		target netip.Addr
		from   netip.Addr
		data   []byte
		ok     bool
	}{
		{"v4 from the target", target4, target4, reply(false, 7, cookie), true},
		{"v4 from another host", target4, other4, reply(false, 7, cookie), false},
		{"v4 from a router", target4, router4, reply(false, 7, cookie), false},
		{"v4 no sender given", target4, netip.Addr{}, reply(false, 7, cookie), false},
		{"v4 from the target, other cookie", target4, target4, reply(false, 7, cookie+1), false},
		{"v6 from the target", target6, target6, reply(true, 9, cookie), true},
		{"v6 from another host", target6, other6, reply(true, 9, cookie), false},
		{"v6 link-local from the target", ll, ll, reply(true, 9, cookie), true},
		{"v6 link-local, same address on another link", ll, netip.MustParseAddr("fe80::7%eth1"), reply(true, 9, cookie), false},
		{"v4 reply type to a v6 target", target6, target6, reply(false, 9, cookie), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &Dgram{cfg: Config{Target: tt.target, ID: cookie}}
			d.udpConn.init(tt.target)
			at := time.Now()
			d.handle(sockMsg{data: tt.data, from: tt.from, at: at})
			select {
			case r := <-d.Replies():
				if !tt.ok {
					t.Fatalf("accepted %+v", r)
				}
				want := Reply{Seq: r.Seq, From: tt.from, Kind: EchoReply, At: at}
				if r.Seq != 7 && r.Seq != 9 || r.From != want.From || r.Kind != want.Kind || !r.At.Equal(at) {
					t.Errorf("got %+v; want From %v, an echo reply", r, tt.from)
				}
			default:
				if tt.ok {
					t.Fatal("rejected")
				}
			}
		})
	}
}
