package mtrpacket

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/probe"
)

// fakeProber records what is sent and answers only what the test hands it.
type fakeProber struct {
	cfg     probe.Config
	replies chan probe.Reply
	mu      sync.Mutex
	sent    map[int]uint16 // ttl → seq of the last probe at that TTL
	sendErr error
	size    int
	closed  bool
}

func (f *fakeProber) Send(seq uint16, ttl int) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return time.Now(), f.sendErr
	}
	f.sent[ttl] = seq
	return time.Now(), nil
}
func (f *fakeProber) Replies() <-chan probe.Reply { return f.replies }
func (f *fakeProber) LocalAddr() netip.Addr       { return netip.Addr{} }
func (f *fakeProber) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.replies)
	}
	return nil
}
func (f *fakeProber) SetSize(n int) error {
	if n > 65000 {
		return fmt.Errorf("probe: packet size %d out of range", n)
	}
	f.size = n
	return nil
}
func (f *fakeProber) SetPattern(int) error { return nil }

// harness runs a Server over pipes with fake probers.
type harness struct {
	t       *testing.T
	in      *io.PipeWriter
	out     *bufio.Reader
	done    chan error
	writes  chan func()
	mu      sync.Mutex
	probers map[netip.Addr]*fakeProber
	openErr error
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, done: make(chan error, 1), writes: make(chan func(), 4096), probers: map[netip.Addr]*fakeProber{}}
	go func() {
		for w := range h.writes {
			w()
		}
	}()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h.in, h.out = inW, bufio.NewReader(outR)
	s := &Server{Families: map[int]bool{4: true, 6: true}, RouteSource: func(netip.Addr) netip.Addr { return netip.MustParseAddr("198.18.0.1") }, Open: func(cfg probe.Config) (probe.Prober, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.openErr != nil {
			return nil, h.openErr
		}
		f := &fakeProber{cfg: cfg, replies: make(chan probe.Reply, 16), sent: map[int]uint16{}}
		h.probers[cfg.Target] = f
		return f, nil
	}}
	go func() { h.done <- s.Serve(inR, outW); outW.Close() }()
	t.Cleanup(func() { inW.Close(); inR.Close(); outR.Close() })
	return h
}

// send writes the commands from a goroutine: the server's replies to earlier ones may be
// waiting for the test to read them.
func (h *harness) send(lines ...string) {
	h.writes <- func() {
		for _, l := range lines {
			if _, err := io.WriteString(h.in, l+"\n"); err != nil {
				return
			}
		}
	}
}

// closeInput closes stdin after every command queued so far.
func (h *harness) closeInput() {
	h.writes <- func() { h.in.Close() }
}

func (h *harness) expect(want ...string) {
	h.t.Helper()
	for _, w := range want {
		got, err := h.out.ReadString('\n')
		if err != nil {
			h.t.Fatalf("reading the reply %q: %v", w, err)
		}
		if got = strings.TrimSuffix(got, "\n"); got != w {
			h.t.Fatalf("got %q, want %q", got, w)
		}
	}
}

// prober waits until the probe at ttl towards a was sent, and returns the prober and its seq.
func (h *harness) prober(a string, ttl int) (*fakeProber, uint16) {
	for range 1000 {
		h.mu.Lock()
		f := h.probers[netip.MustParseAddr(a)]
		h.mu.Unlock()
		if f != nil {
			f.mu.Lock()
			seq, ok := f.sent[ttl]
			f.mu.Unlock()
			if ok {
				return f, seq
			}
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("no probe to %s at ttl %d", a, ttl)
	return nil, 0
}

func TestServeCommands(t *testing.T) {
	h := newHarness(t)
	h.send("13 argle-bargle", "malformed", "30 check-support feature version", "31 check-support feature ip-4",
		"32 check-support feature send-probe", "33 check-support feature bogus-feature", "34 check-support feature sctp",
		"35 check-support feature udp", "36 check-support", "37 check-support feature mark")
	h.expect("13 unknown-command", "0 command-parse-error", "30 feature-support support 0.95", "31 feature-support support ok",
		"32 feature-support support ok", "33 feature-support support no", "34 feature-support support ok",
		"35 feature-support support ok", "36 invalid-argument", "37 feature-support support ok")
	h.send("22 send-probe", "23 send-probe ip-4 str-value", "24 send-probe ip-4 198.18.0.1 timeout str-value",
		"25 send-probe ip-4 198.18.0.1 ttl str-value", "26 send-probe ip-4 198.18.0.1 protocol gre",
		"27 send-probe ip-4 198.18.0.1 local-port 80", "28 send-probe ip-6 198.18.0.1",
		"29 send-probe ip-4 198.18.0.1 size 70000", "40 send-probe ip-4 198.18.0.1 mark -1")
	h.expect("22 invalid-argument reason ip-version-not-supported", "23 invalid-argument", "24 invalid-argument",
		"25 invalid-argument", "26 invalid-argument", "27 invalid-argument",
		"28 invalid-argument", "29 invalid-argument", "40 invalid-argument")
	h.send(strings.Repeat("x", 64*1024))
	h.expect("0 command-buffer-overflow")
}

// TestServeOutOfOrder: a far probe sent first and answered last, a near one answered first;
// each reply carries its own token, kind, sender and round trip.
func TestServeOutOfOrder(t *testing.T) {
	h := newHarness(t)
	h.send("100 send-probe ip-4 198.18.0.9 ttl 6 timeout 10", "101 send-probe ip-4 198.18.0.9 ttl 1 timeout 10")
	f, far := h.prober("198.18.0.9", 6)
	_, near := h.prober("198.18.0.9", 1)
	base := time.Now()
	router := netip.MustParseAddr("198.18.1.1")
	f.replies <- probe.Reply{Seq: near, From: router, Kind: probe.TimeExceeded, Sent: base, At: base.Add(1500 * time.Microsecond),
		MPLS: []probe.MPLSLabel{{Label: 100, TC: 2, S: true, TTL: 1}}}
	h.expect("101 ttl-expired ip-4 198.18.1.1 round-trip-time 1500 mpls 100,2,1,1")
	f.replies <- probe.Reply{Seq: far, From: netip.MustParseAddr("198.18.0.9"), Kind: probe.EchoReply, Sent: base, At: base.Add(7 * time.Millisecond)}
	h.expect("100 reply ip-4 198.18.0.9 round-trip-time 7000")
	// A second answer to an answered probe is not reported again.
	f.replies <- probe.Reply{Seq: far, From: router, Kind: probe.EchoReply, Sent: base, At: base}
	h.send("102 check-support feature version")
	h.expect("102 feature-support support 0.95")
}

func TestServeKinds(t *testing.T) {
	h := newHarness(t)
	h.send("1 send-probe ip-6 2001:db8::9 protocol udp ttl 3", "2 send-probe ip-6 2001:db8::9 protocol udp ttl 4")
	f, s3 := h.prober("2001:db8::9", 3)
	_, s4 := h.prober("2001:db8::9", 4)
	if f.cfg.Protocol != probe.UDPProbes || f.cfg.Timeout != 10*time.Second {
		t.Errorf("prober config %+v", f.cfg)
	}
	now := time.Now()
	f.replies <- probe.Reply{Seq: s3, From: netip.MustParseAddr("2001:db8::9"), Kind: probe.Unreachable, Code: 4, Sent: now, At: now.Add(time.Millisecond)}
	h.expect("1 reply ip-6 2001:db8::9 round-trip-time 1000")
	f.replies <- probe.Reply{Seq: s4, From: netip.MustParseAddr("2001:db8::1"), Kind: probe.Unreachable, Code: 0, Sent: now, At: now.Add(2 * time.Millisecond)}
	h.expect("2 no-route ip-6 2001:db8::1 round-trip-time 2000")
}

func TestServeNoReplyAndEOF(t *testing.T) {
	h := newHarness(t)
	h.send("5 send-probe ip-4 198.18.0.9 ttl 2 timeout 0")
	h.expect("5 no-reply")
	f, seq := h.prober("198.18.0.9", 2)
	// Late: dropped, not a second line.
	f.replies <- probe.Reply{Seq: seq, From: netip.MustParseAddr("198.18.0.9"), Kind: probe.EchoReply, At: time.Now()}
	h.send("6 send-probe ip-4 198.18.0.9 ttl 3 timeout 10")
	f6, seq6 := h.prober("198.18.0.9", 3)
	h.closeInput()
	select {
	case err := <-h.done:
		t.Fatalf("Serve returned %v with a probe in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	f6.replies <- probe.Reply{Seq: seq6, From: netip.MustParseAddr("198.18.0.9"), Kind: probe.EchoReply, At: time.Now()}
	got, _ := h.out.ReadString('\n')
	if !strings.HasPrefix(got, "6 reply ip-4 198.18.0.9 round-trip-time ") {
		t.Fatalf("got %q", got)
	}
	if err := <-h.done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServeExhaustedAndErrors(t *testing.T) {
	h := newHarness(t)
	for i := range maxProbes {
		h.send(fmt.Sprintf("%d send-probe ip-4 198.18.0.9 ttl 9", 1000+i))
	}
	h.send("9 send-probe ip-4 198.18.0.9")
	h.expect("9 probes-exhausted")

	h2 := newHarness(t)
	h2.send("1 send-probe ip-4 198.18.0.8")
	f, _ := h2.prober("198.18.0.8", 255)
	for i, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("send: %w", syscall.ENETUNREACH), "no-route"},
		{syscall.EHOSTUNREACH, "no-route"},
		{syscall.ENETDOWN, "network-down"},
		{syscall.EPERM, "permission-denied"},
		{syscall.EADDRINUSE, "address-in-use"},
		{syscall.EADDRNOTAVAIL, "address-not-available"},
		{syscall.EINVAL, "invalid-argument"},
		{syscall.ENOBUFS, "unexpected-error errno 105"},
		{fmt.Errorf("probe: TTL 0 out of range 1..255"), "invalid-argument"},
	} {
		f.mu.Lock()
		f.sendErr = tc.err
		f.mu.Unlock()
		h2.send(fmt.Sprintf("%d send-probe ip-4 198.18.0.8", 10+i))
		h2.expect(fmt.Sprintf("%d %s", 10+i, tc.want))
	}
	h2.mu.Lock()
	h2.openErr = fmt.Errorf("open: %w", probe.ErrPermission)
	h2.mu.Unlock()
	h2.send("50 send-probe ip-4 198.18.0.7")
	h2.expect("50 permission-denied")
}

// TestServeRouteSource: mtr's local-ip-4 on every probe is the kernel's own choice; such a
// probe goes out on the sockets without a source (opened before the privileges went), another
// source is kept.
func TestServeRouteSource(t *testing.T) {
	h := newHarness(t)
	h.send("1 send-probe ip-4 198.18.0.9 local-ip-4 198.18.0.1 ttl 1", "2 send-probe ip-4 198.18.0.8 local-ip-4 198.18.0.5 ttl 1")
	if f, _ := h.prober("198.18.0.9", 1); f.cfg.Source.IsValid() {
		t.Errorf("the kernel's own source kept: %v", f.cfg.Source)
	}
	if f, _ := h.prober("198.18.0.8", 1); f.cfg.Source != netip.MustParseAddr("198.18.0.5") {
		t.Errorf("source %v, want 198.18.0.5", f.cfg.Source)
	}
}
