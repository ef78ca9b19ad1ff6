package probe

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// fakeProber is a Prober without sockets that records its sends.
type fakeProber struct {
	proto   Protocol
	replies chan Reply
	sent    []uint16
}

func (f *fakeProber) Send(seq uint16, ttl int) (time.Time, error) {
	f.sent = append(f.sent, seq)
	return time.Now(), nil
}
func (f *fakeProber) Replies() <-chan Reply { return f.replies }
func (f *fakeProber) LocalAddr() netip.Addr { return netip.Addr{} }
func (f *fakeProber) Close() error {
	close(f.replies)
	return nil
}

// TestNewSwitchFrom: every prober of the Switch, the first, the early ones and those opened by a
// later switch of protocol, comes from the open function it was given (a Mux's Open).
func TestNewSwitchFrom(t *testing.T) {
	var opened []Protocol
	probers := map[Protocol]*fakeProber{}
	open := func(cfg Config) (Prober, error) {
		opened = append(opened, cfg.Protocol)
		if cfg.Protocol == TCPProbes {
			return nil, errors.New("no TCP here")
		}
		p := &fakeProber{proto: cfg.Protocol, replies: make(chan Reply, 1)}
		probers[cfg.Protocol] = p
		return p, nil
	}
	s, err := NewSwitchFrom(open, Config{Target: target4, Protocol: UDPProbes}, ICMPProbes, TCPProbes)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Protocol{UDPProbes, ICMPProbes, TCPProbes}; !slices.Equal(opened, want) {
		t.Fatalf("opened %v; want %v", opened, want)
	}
	if _, err := s.Send(1, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProtocol(ICMPProbes); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(2, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProtocol(TCPProbes); err == nil || len(opened) != 4 {
		t.Fatalf("switch to TCP: %v after opening %v; want the open function's error", err, opened)
	}
	if !slices.Equal(probers[UDPProbes].sent, []uint16{1}) || !slices.Equal(probers[ICMPProbes].sent, []uint16{2}) {
		t.Errorf("sends: UDP %v, ICMP %v", probers[UDPProbes].sent, probers[ICMPProbes].sent)
	}
	probers[ICMPProbes].replies <- Reply{Seq: 2}
	if r := <-s.Replies(); r.Seq != 2 {
		t.Errorf("reply %+v", r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
