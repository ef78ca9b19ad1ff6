package probe

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// TestTCPRawLoopback sends real SYNs to loopback only: an open port answers SYN-ACK, a closed
// one RST, and each answer comes back as Reached with the probe's sequence. Two probers at once
// (classic and Paris) each get only their own answers.
func TestTCPRawLoopback(t *testing.T) {
	requireRoot(t)
	for _, target := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()} {
		ln, err := net.Listen("tcp", net.JoinHostPort(target.String(), "0"))
		if err != nil {
			t.Skipf("listen on %v: %v", target, err)
		}
		open := ln.Addr().(*net.TCPAddr).Port
		ln2, err := net.Listen("tcp", net.JoinHostPort(target.String(), "0"))
		if err != nil {
			t.Fatal(err)
		}
		closed := ln2.Addr().(*net.TCPAddr).Port
		ln2.Close()
		for _, c := range []struct {
			port  int
			paris bool
		}{{open, false}, {closed, false}, {open, true}} {
			t.Run(target.String()+"/"+strconv.Itoa(c.port)+"/paris="+strconv.FormatBool(c.paris), func(t *testing.T) {
				p, err := OpenTCPRaw(Config{Target: target, Port: c.port, Paris: c.paris, ID: 0x7431})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				other, err := OpenTCPRaw(Config{Target: target, Port: c.port, Paris: !c.paris, ID: 0x7432})
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				want := map[uint16]bool{}
				for _, seq := range []uint16{3, 16383, 40000} {
					if !c.paris && seq >= tcpClassicPorts {
						continue
					}
					if _, err := p.Send(seq, 64); err != nil {
						t.Fatal(err)
					}
					want[seq] = true
				}
				timeout := time.After(5 * time.Second)
				for len(want) > 0 {
					select {
					case r := <-p.Replies():
						if !want[r.Seq] || r.Kind != Reached || r.From != target || r.At.IsZero() {
							t.Fatalf("unexpected %+v (waiting for %v)", r, want)
						}
						delete(want, r.Seq)
					case r := <-other.Replies():
						t.Fatalf("the other prober got %+v", r)
					case <-timeout:
						t.Fatalf("no answer to %v", want)
					}
				}
			})
		}
		ln.Close()
	}
}

func TestTCPRawSequences(t *testing.T) {
	requireRoot(t)
	lo := netip.MustParseAddr("127.0.0.1")
	classic, err := OpenTCPRaw(Config{Target: lo})
	if err != nil {
		t.Fatal(err)
	}
	defer classic.Close()
	paris, err := OpenTCPRaw(Config{Target: lo, Paris: true})
	if err != nil {
		t.Fatal(err)
	}
	defer paris.Close()
	if classic.Sequences() != tcpClassicPorts || paris.Sequences() != 1<<16 {
		t.Errorf("Sequences: classic %d, Paris %d; want %d, %d", classic.Sequences(), paris.Sequences(), tcpClassicPorts, 1<<16)
	}
}

// TestSwitchSequences: a Switch offers its current prober's space, so a switch to classic TCP
// shrinks it at once (the scheduler asks before every probe).
func TestSwitchSequences(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for _, c := range []struct {
		cfg      Config
		want     int
		afterTCP int // after the UI switched to TCP probes (raw, as root)
	}{
		{Config{Target: lo, Protocol: UDPProbes}, udpSeqs, tcpClassicPorts},
		{Config{Target: lo, Protocol: UDPProbes, Paris: true}, 1 << 16, 1 << 16},
		{Config{Target: lo, Protocol: UDPProbes, Port: 53}, 1 << 16, tcpClassicPorts},
	} {
		s, err := NewSwitch(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Sequences(); got != c.want {
			t.Errorf("%+v: Sequences %d, want %d", c.cfg, got, c.want)
		}
		if err := s.SetProtocol(TCPProbes); err != nil {
			t.Fatal(err)
		}
		if got := s.Sequences(); got != c.afterTCP {
			t.Errorf("%+v, then TCP: Sequences %d, want %d", c.cfg, got, c.afterTCP)
		}
		if err := s.SetProtocol(UDPProbes); err != nil {
			t.Fatal(err)
		}
		if got := s.Sequences(); got != c.want {
			t.Errorf("%+v, back to UDP: Sequences %d, want %d", c.cfg, got, c.want)
		}
		s.Close()
	}
}
