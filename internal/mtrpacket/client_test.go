package mtrpacket

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/probe"
)

// The test binary doubles as a helper: with fakeHelperEnv set it serves the protocol on stdin
// and stdout over scripted probers, so the client is tested against a real process and pipe.
const fakeHelperEnv = "MTRPACKET_FAKE_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeHelperEnv); mode != "" {
		var out io.Writer = os.Stdout
		if mode == "long" {
			out = &longLineAfter{w: os.Stdout}
		}
		s := &Server{Families: map[int]bool{4: true, 6: true}, Open: func(cfg probe.Config) (probe.Prober, error) {
			return &scripted{cfg: cfg, q: make(chan probe.Reply, 16)}, nil
		}}
		if err := s.Serve(os.Stdin, out); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// scripted answers at once: TTL 1 and 2 expire at 198.18.0.TTL (TTL 1 with an MPLS label),
// TTL 200 cannot be sent (no route), any other TTL reaches the target; every round trip is
// 1234 µs.
type scripted struct {
	cfg probe.Config
	q   chan probe.Reply
}

func (s *scripted) Send(seq uint16, ttl int) (time.Time, error) {
	now := time.Now()
	if ttl == 200 {
		return now, syscall.ENETUNREACH
	}
	r := probe.Reply{Seq: seq, From: s.cfg.Target, Sent: now, At: now.Add(1234 * time.Microsecond)}
	switch {
	case ttl <= 2:
		r.Kind, r.From = probe.TimeExceeded, netip.AddrFrom4([4]byte{198, 18, 0, byte(ttl)})
		if ttl == 1 {
			r.MPLS = []probe.MPLSLabel{{Label: 100, TC: 1, S: true, TTL: 1}}
		}
	case s.cfg.Protocol == probe.UDPProbes:
		r.Kind, r.Code = probe.Unreachable, 3
	case s.cfg.Protocol == probe.TCPProbes:
		r.Kind = probe.Reached
	default:
		r.Kind = probe.EchoReply
	}
	s.q <- r
	return now, nil
}
func (s *scripted) Replies() <-chan probe.Reply { return s.q }
func (s *scripted) LocalAddr() netip.Addr       { return netip.Addr{} }
func (s *scripted) Close() error                { close(s.q); return nil }

func startFake(t *testing.T) *Client {
	t.Helper()
	t.Setenv(fakeHelperEnv, "1")
	c, err := Start(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func next(t *testing.T, p probe.Prober) probe.Reply {
	t.Helper()
	select {
	case r, ok := <-p.Replies():
		if !ok {
			t.Fatal("replies closed")
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no reply")
	}
	return probe.Reply{}
}

func TestClientProbes(t *testing.T) {
	c := startFake(t)
	target := netip.MustParseAddr("198.18.3.2")
	for _, tc := range []struct {
		proto probe.Protocol
		kind  probe.Kind
		code  uint8
	}{{probe.ICMPProbes, probe.EchoReply, 0}, {probe.UDPProbes, probe.Unreachable, 3}, {probe.TCPProbes, probe.Reached, 0}, {probe.SCTPProbes, probe.Reached, 0}} {
		p, err := c.Open(probe.Config{Target: target, Protocol: tc.proto})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Send(7, 1); err != nil {
			t.Fatal(err)
		}
		r := next(t, p)
		if r.Seq != 7 || r.Kind != probe.TimeExceeded || r.From != netip.MustParseAddr("198.18.0.1") || len(r.MPLS) != 1 || r.MPLS[0] != (probe.MPLSLabel{Label: 100, TC: 1, S: true, TTL: 1}) {
			t.Errorf("%v ttl 1: %+v", tc.proto, r)
		}
		if r.At.Sub(r.Sent) != 1234*time.Microsecond {
			t.Errorf("%v: round trip %v, want the helper's 1234µs", tc.proto, r.At.Sub(r.Sent))
		}
		if _, err := p.Send(8, 5); err != nil {
			t.Fatal(err)
		}
		if r := next(t, p); r.Seq != 8 || r.Kind != tc.kind || r.Code != tc.code || r.From != target {
			t.Errorf("%v ttl 5: %+v, want kind %v code %d from the target", tc.proto, r, tc.kind, tc.code)
		}
		p.Close()
	}
}

func TestClientErrors(t *testing.T) {
	c := startFake(t)
	p, err := c.Open(probe.Config{Target: netip.MustParseAddr("2001:db8::9")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(1, 200); err != nil {
		t.Fatal(err)
	}
	// The helper's no-route comes after Send returned: the next Send reports it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := p.Send(2, 3)
		if err != nil {
			if !strings.Contains(err.Error(), "no-route") {
				t.Fatalf("error %v, want the helper's no-route", err)
			}
			break
		}
		next(t, p)
		if time.Now().After(deadline) {
			t.Fatal("the helper's no-route was never reported")
		}
	}
	if _, err := c.Open(probe.Config{Target: netip.MustParseAddr("198.18.0.1"), Paris: true}); err == nil {
		t.Error("Paris mode opened over a helper")
	}
	if _, err := c.Open(probe.Config{Target: netip.MustParseAddr("198.18.0.1"), Protocol: probe.Protocol(99)}); err == nil {
		t.Error("an unknown protocol opened over a helper")
	}
	// The helper gone: the probers' queues close and sends fail.
	c.Close()
	if _, ok := <-p.Replies(); ok {
		t.Error("replies still open after the helper exited")
	}
	if _, err := p.Send(3, 3); err == nil {
		t.Error("a send after the helper exited succeeded")
	}
	if _, err := Start("/nonexistent/helper"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start of a missing helper: %v", err)
	}
}

// longLineAfter writes, after the helper's first reply, a line longer than the protocol's
// command buffer: a broken or hostile helper.
type longLineAfter struct {
	w    io.Writer
	done bool
}

func (l *longLineAfter) Write(b []byte) (int, error) {
	n, err := l.w.Write(b)
	if err == nil && !l.done {
		l.done = true
		_, err = io.WriteString(l.w, strings.Repeat("x", 2*bufferSize)+"\n")
	}
	return n, err
}

// TestClientHelperLineTooLong: a helper line beyond the protocol's 4096 bytes ends the helper
// with an error the next Send tells. Before, the client stopped reading while the helper ran
// on: every later probe went unanswered without a word, and the helper blocked on a full pipe.
func TestClientHelperLineTooLong(t *testing.T) {
	t.Setenv(fakeHelperEnv, "long")
	c, err := Start(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.Open(probe.Config{Target: netip.MustParseAddr("198.18.3.2")})
	if err != nil {
		// The long line may already have ended the helper before this check-support.
		if !strings.Contains(err.Error(), "too long") {
			t.Fatalf("Open: %v", err)
		}
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := p.Send(1, 5)
		if err != nil {
			if !strings.Contains(err.Error(), "too long") {
				t.Errorf("Send: %v, want the helper's overlong line", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper's overlong line was never reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
