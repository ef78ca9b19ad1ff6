package app

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
)

func TestEveryModeHasAView(t *testing.T) {
	for m := cli.ModeDefault; m <= cli.ModeHTML; m++ {
		if views[m] == nil {
			t.Errorf("mode %d has no view", m)
		}
	}
}

func TestWarnUnsentNamesTheHopsAndReason(t *testing.T) {
	p := stats.NewPath(netip.MustParseAddr("198.18.9.9"), 1, 30)
	for ttl := 1; ttl <= 4; ttl++ {
		p.Sent(ttl, uint16(ttl))
		p.Reply(ttl, uint16(ttl), netip.AddrFrom4([4]byte{198, 18, byte(ttl), 2}), time.Millisecond, "")
	}
	p.SendFailed(2, 12, "no route to host")
	p.SendFailed(3, 13, "no route to host")
	p.SendFailed(4, 14, "operation not permitted")
	var b strings.Builder
	warnUnsent(&b, p.Snapshot())
	want := "mtr-go: probes could not be sent (hops 2, 3): no route to host\n" +
		"mtr-go: probes could not be sent (hop 4): operation not permitted\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	q := stats.NewPath(netip.MustParseAddr("198.18.9.9"), 1, 30)
	q.Sent(1, 1)
	warnUnsent(&b, q.Snapshot())
	if b.Len() != 0 {
		t.Errorf("a path without send errors warned: %q", b.String())
	}
}

// switchFake is a prober whose protocol the UI switches; classic TCP tells 16384 probes apart.
type switchFake struct {
	proto   probe.Protocol
	replies chan probe.Reply
}

func (f *switchFake) Send(uint16, int) (time.Time, error) { return time.Now(), nil }
func (f *switchFake) Replies() <-chan probe.Reply         { return f.replies }
func (f *switchFake) SetSize(int) error                   { return nil }
func (f *switchFake) SetPattern(int) error                { return nil }
func (f *switchFake) SetTOS(int) error                    { return nil }
func (f *switchFake) Protocol() probe.Protocol            { return f.proto }
func (f *switchFake) SetProtocol(p probe.Protocol) error  { f.proto = p; return nil }
func (f *switchFake) Sequences() int {
	if f.proto == probe.TCPProbes {
		return 16384
	}
	return 1 << 16
}

func TestLiveProtocolSwitchRespectsTheIntervalFloor(t *testing.T) {
	f := &switchFake{proto: probe.ICMPProbes}
	// 10 ms over 30 TTLs with a 10 s timeout: fine for ICMP's 65536 numbers (floor 4.6 ms), too
	// short for classic TCP's 16384 (floor 18.3 ms).
	tr := trace.New(f, netip.MustParseAddr("198.18.9.9"), trace.Config{Interval: 10 * time.Millisecond})
	c := control{Tracer: tr, tunable: f, privileged: true}
	err := c.SetProtocol(probe.TCPProbes)
	if err == nil || !strings.Contains(err.Error(), "raise the interval") {
		t.Errorf("switch to TCP at -i 0.01: %v, want it refused", err)
	}
	if f.proto != probe.ICMPProbes {
		t.Errorf("after a refused switch the protocol is %v, want ICMP still", f.proto)
	}
	if err := c.SetProtocol(probe.UDPProbes); err != nil || f.proto != probe.UDPProbes {
		t.Errorf("switch to UDP: %v, protocol %v", err, f.proto)
	}
	if err := c.SetInterval(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.SetProtocol(probe.TCPProbes); err != nil || f.proto != probe.TCPProbes {
		t.Errorf("switch to TCP at -i 0.02: %v, protocol %v", err, f.proto)
	}
}

func TestDropWarning(t *testing.T) {
	if w := dropWarning(probe.MuxStats{Demuxed: 1000, Foreign: 50}); w != "" {
		t.Errorf("no answer lost inside mtr-go, yet: %q", w)
	}
	want := "mtr-go: warning: answers were lost inside mtr-go (3 to full target queues, 0 datagrams to full receive buffers): some of the loss shown is its own, not the path's; fewer targets at once or a longer -i avoid it"
	if w := dropWarning(probe.MuxStats{QueueFull: 3}); w != want {
		t.Errorf("got %q\nwant %q", w, want)
	}
	if w := dropWarning(probe.MuxStats{KernelDrops: 7}); !strings.Contains(w, "7 datagrams to full receive buffers") {
		t.Errorf("kernel drops: %q", w)
	}
}
