package probe

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// TestLabTxStampsAfterFailedSends: the client's firewall drops every probe with TTL 2 after the
// kernel built it (sendmsg fails with EPERM, and the socket's OPT_ID counter has counted it).
// Every other probe still gets its own send stamp: with per-packet keys, and with the counter
// (as on kernels before 6.13), which has to find its place again after each failure.
func TestLabTxStampsAfterFailedSends(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 3})
	rules := "table inet txtest {\n chain out {\n  type filter hook output priority 0;\n  ip ttl 2 drop\n  ip6 hoplimit 2 drop\n }\n}\n"
	cmd := exec.Command("ip", "netns", "exec", lab.Client, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	for _, tc := range []struct {
		name    string
		target  netip.Addr
		proto   Protocol
		counted bool
	}{
		{"ICMP keyed", lab.Target4, ICMPProbes, false},
		{"ICMP counted", lab.Target4, ICMPProbes, true},
		{"ICMPv6 counted", lab.Target6, ICMPProbes, true},
		{"UDP keyed", lab.Target4, UDPProbes, false},
		{"UDP counted", lab.Target4, UDPProbes, true},
		{"UDPv6 counted", lab.Target6, UDPProbes, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Prober
			var st *txStamper
			err := lab.Run(func() error {
				var err error
				switch tc.proto {
				case ICMPProbes:
					var q *ICMP
					q, err = Open(Config{Target: tc.target})
					p, st = q, &q.txStamper
				case UDPProbes:
					var q *UDP
					q, err = OpenUDP(Config{Target: tc.target})
					p, st = q, &q.txStamper
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if tc.counted {
				st.counted.Store(true)
				st.stamps.useCounter()
			}
			sent := map[uint16]time.Time{}
			failed := 0
			for seq := uint16(1); seq <= 40; seq++ {
				ttl := 1 + int(seq%4)
				at, err := p.Send(seq, ttl)
				if ttl == 2 {
					if !errors.Is(err, syscall.EPERM) {
						t.Fatalf("seq %d TTL 2: got %v; want EPERM from the firewall", seq, err)
					}
					failed++
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				sent[seq] = at
				time.Sleep(2 * time.Millisecond) // a stamp of the wrong probe is then ms off
			}
			deadline := time.After(5 * time.Second)
			for len(sent) > 0 {
				select {
				case r := <-p.Replies():
					user, ok := sent[r.Seq]
					if !ok {
						continue // a late duplicate
					}
					delete(sent, r.Seq)
					if r.Sent.IsZero() {
						t.Errorf("seq %d: no kernel send time", r.Seq)
						continue
					}
					// The user-space time is taken just before sendmsg; a loaded machine may run
					// the send late, but not by a probe interval (another probe's stamp).
					if d := r.Sent.Sub(user); d < 0 || d > 50*time.Millisecond {
						t.Errorf("seq %d: kernel send time %v after the user-space one: another probe's stamp", r.Seq, d)
					}
				case <-deadline:
					t.Fatalf("no answer to %d probes", len(sent))
				}
			}
			if failed != 10 {
				t.Errorf("%d sends failed; want 10", failed)
			}
		})
	}
}
