package probe

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestTTLCmsg(t *testing.T) {
	for _, tc := range []struct {
		is6        bool
		level, typ int32
		ttl        int
	}{
		{false, unix.IPPROTO_IP, unix.IP_TTL, 200},
		{true, unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, 7},
	} {
		msgs, err := unix.ParseSocketControlMessage(ttlCmsg(tc.is6, tc.ttl))
		if err != nil || len(msgs) != 1 {
			t.Fatalf("got %v, %v", msgs, err)
		}
		m := msgs[0]
		if m.Header.Level != tc.level || m.Header.Type != tc.typ || binary.NativeEndian.Uint32(m.Data) != uint32(tc.ttl) {
			t.Errorf("is6 %v: got level %d type %d data % x", tc.is6, m.Header.Level, m.Header.Type, m.Data)
		}
	}
}

// tsCmsg builds the SCM_TIMESTAMPNS control message the kernel would send.
func tsCmsg(level, typ int32, ts unix.Timespec) []byte {
	n := int(unsafe.Sizeof(ts))
	b := make([]byte, unix.CmsgSpace(n))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(n))
	copy(b[unix.CmsgLen(0):], unsafe.Slice((*byte)(unsafe.Pointer(&ts)), n))
	return b
}

func TestKernelTime(t *testing.T) {
	want := time.Unix(1700000000, 123456789)
	ts := unix.NsecToTimespec(want.UnixNano())
	if got := kernelTime(tsCmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts)); !got.Equal(want) {
		t.Errorf("got %v; want %v", got, want)
	}
	// Other control messages first (as with IP_TTL) must not hide it.
	both := append(ttlCmsg(false, 5), tsCmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts)...)
	if got := kernelTime(both); !got.Equal(want) {
		t.Errorf("after another cmsg: got %v; want %v", got, want)
	}
	for name, oob := range map[string][]byte{
		"none":       nil,
		"other cmsg": ttlCmsg(false, 5),
		"wrong type": tsCmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMP, ts),
		"truncated":  tsCmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts)[:10],
	} {
		if got := kernelTime(oob); !got.IsZero() {
			t.Errorf("%s: got %v; want zero", name, got)
		}
	}
}

func TestInterfaceAddr(t *testing.T) {
	if a, err := interfaceAddr("lo", false); err != nil || a != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("lo v4: got %v, %v", a, err)
	}
	if _, err := net.InterfaceByName("lo"); err == nil {
		if a, err := interfaceAddr("lo", true); err == nil && a != netip.IPv6Loopback() {
			t.Errorf("lo v6: got %v", a)
		}
	}
	if _, err := interfaceAddr("nosuch0", false); err == nil || err.Error() != "no such interface nosuch0" {
		t.Errorf("missing interface: got %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Config{}); err == nil {
		t.Error("no target: no error")
	}
	if _, err := Open(Config{Target: netip.MustParseAddr("127.0.0.1"), Interface: "nosuch0"}); err == nil || !strings.Contains(err.Error(), "no such interface nosuch0") {
		t.Errorf("missing interface: got %v", err)
	}
	if _, err := Open(Config{Target: netip.MustParseAddr("127.0.0.1"), Source: netip.IPv6Loopback()}); err == nil {
		t.Error("family mismatch: no error")
	}
}

func TestPermissionError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may open raw sockets; the permission path needs a normal user")
	}
	_, err := Open(Config{Target: netip.MustParseAddr("127.0.0.1")})
	if !errors.Is(err, ErrPermission) || !errors.Is(err, syscall.EPERM) {
		t.Errorf("got %v; want ErrPermission wrapping EPERM", err)
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("raw sockets need root (or CAP_NET_RAW)")
	}
}

// TestLoopback sends real probes, to loopback only, with two probers open
// at once: each must get exactly its own answers.
func TestLoopback(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name   string
		target netip.Addr
		iface  string
	}{
		{"IPv4", netip.MustParseAddr("127.0.0.1"), ""},
		{"IPv6", netip.IPv6Loopback(), ""},
		{"IPv4 via interface lo", netip.MustParseAddr("127.0.0.1"), "lo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p1, err := Open(Config{Target: tc.target, Interface: tc.iface, ID: 0x6d31, Size: 100, Pattern: 0xab, TOS: 0x10})
			if err != nil {
				if tc.target.Is6() && strings.Contains(err.Error(), "address family not supported") {
					t.Skip("no IPv6 here")
				}
				t.Fatal(err)
			}
			defer p1.Close()
			p2, err := Open(Config{Target: tc.target, ID: 0x6d32, Pattern: 256})
			if err != nil {
				t.Fatal(err)
			}
			defer p2.Close()

			if got := p1.LocalAddr(); got != tc.target {
				t.Errorf("LocalAddr = %v; want %v", got, tc.target)
			}
			sent := map[uint16]time.Time{}
			for seq := uint16(65533); seq != 3; seq++ { // across the wrap
				at, err := p1.Send(seq, 1+int(seq%64))
				if err != nil {
					t.Fatal(err)
				}
				sent[seq] = at
			}
			deadline := time.After(3 * time.Second)
			for len(sent) > 0 {
				select {
				case r := <-p1.Replies():
					at, ok := sent[r.Seq]
					if !ok {
						t.Fatalf("unexpected or duplicate reply %+v", r)
					}
					delete(sent, r.Seq)
					if r.Kind != EchoReply || r.From != tc.target || r.Code != 0 {
						t.Errorf("reply %+v; want an echo reply from %v", r, tc.target)
					}
					// The kernel stamps the reply after our write returned,
					// but both clocks are read separately: allow a little slack.
					if rtt := r.At.Sub(at); rtt < -time.Millisecond || rtt > time.Second {
						t.Errorf("seq %d: RTT %v", r.Seq, rtt)
					}
					if !strings.Contains(r.At.String(), "m=") {
						t.Errorf("seq %d: At has no monotonic reading", r.Seq)
					}
				case <-deadline:
					t.Fatalf("no reply for %d probes", len(sent))
				}
			}
			select {
			case r := <-p2.Replies():
				t.Errorf("second prober took the first one's answer: %+v", r)
			case r := <-p1.Replies():
				t.Errorf("extra reply: %+v", r)
			case <-time.After(200 * time.Millisecond):
			}

			// The second prober works too, and sees only its own.
			if _, err := p2.Send(7, 64); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-p2.Replies():
				if r.Seq != 7 || r.Kind != EchoReply {
					t.Errorf("p2 got %+v", r)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("p2: no reply")
			}
			select {
			case r := <-p1.Replies():
				t.Errorf("first prober took the second one's answer: %+v", r)
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func TestLoopbackClose(t *testing.T) {
	requireRoot(t)
	p, err := Open(Config{Target: netip.MustParseAddr("127.0.0.1"), Source: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID() == 0 {
		t.Error("ID 0: no random identifier drawn")
	}
	if _, err := p.Send(1, 0); err == nil {
		t.Error("TTL 0: no error")
	}
	if _, err := p.Send(1, 256); err == nil {
		t.Error("TTL 256: no error")
	}
	// Fill the channel and more, unread: Close must still return.
	for seq := range uint16(repliesBuffer + 50) {
		if _, err := p.Send(seq, 64); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	closed := make(chan error)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked with a full Replies channel")
	}
	n := 0
	for range p.Replies() { // must end: closed after Close
		n++
	}
	if n != repliesBuffer {
		t.Errorf("drained %d buffered replies; want %d", n, repliesBuffer)
	}
	if _, err := p.Send(1, 64); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close: got %v; want net.ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestKernelTimestampsOn reads the socket by hand (no reader goroutine) to
// check the kernel really stamps our answers, on both families.
func TestKernelTimestampsOn(t *testing.T) {
	requireRoot(t)
	for _, target := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()} {
		cfg, err := Config{Target: target}.normalize()
		if err != nil {
			t.Fatal(err)
		}
		p := &ICMP{cfg: cfg, is6: target.Is6(), family: "test", dst: makeRawAddr(netip.AddrPortFrom(target, 0), 0)}
		p.shape.cfg = &p.cfg
		if err := p.open(); err != nil {
			t.Fatal(err)
		}
		defer p.conn.Close()
		if _, err := p.Send(1, 64); err != nil {
			t.Fatal(err)
		}
		p.ipc.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf, oob := make([]byte, 2048), make([]byte, 512)
		_, oobn, _, _, err := p.ipc.ReadMsgIP(buf, oob)
		now := time.Now()
		if err != nil {
			t.Fatalf("%v: %v", target, err)
		}
		kt := kernelTime(oob[:oobn])
		if kt.IsZero() {
			t.Fatalf("%v: no SCM_TIMESTAMPNS in % x", target, oob[:oobn])
		}
		if d := now.Sub(kt); d < 0 || d > time.Second {
			t.Errorf("%v: kernel stamp %v is %v before now", target, kt, d)
		}
	}
}

// TestLoopbackSizes: the smallest and biggest packets still get answered
// (the biggest ones are truncated by our read buffer, which is fine).
func TestLoopbackSizes(t *testing.T) {
	requireRoot(t)
	for _, target := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()} {
		for _, size := range []int{1, 28, 48, 1500, 9000, 65000} {
			p, err := Open(Config{Target: target, Size: size})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Send(uint16(size), 64); err != nil {
				t.Errorf("%v size %d: %v", target, size, err)
				p.Close()
				continue
			}
			select {
			case r := <-p.Replies():
				if r.Seq != uint16(size) || r.Kind != EchoReply {
					t.Errorf("%v size %d: got %+v", target, size, r)
				}
			case <-time.After(3 * time.Second):
				t.Errorf("%v size %d: no reply", target, size)
			}
			p.Close()
		}
	}
}

// TestLiveOptions: the UI changes size, pattern and TOS while probing; the next probe carries
// them and the prober keeps working.
func TestLiveOptions(t *testing.T) {
	requireRoot(t)
	for _, target := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()} {
		p, err := Open(Config{Target: target})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		hdr := hdrLenV4
		if target.Is6() {
			hdr = hdrLenV6
		}
		if err := p.SetSize(200); err != nil {
			t.Fatal(err)
		}
		if err := p.SetPattern(0xab); err != nil {
			t.Fatal(err)
		}
		b := p.payload()
		if len(b) != 200-hdr || b[0] != 0xab || b[len(b)-1] != 0xab {
			t.Errorf("%v: payload of %d bytes starting %#x, want %d bytes of 0xab", target, len(b), b[0], 200-hdr)
		}
		if err := p.SetTOS(0x20); err != nil {
			t.Fatal(err)
		}
		var tos int
		if target.Is6() {
			tos, err = p.p6.TrafficClass()
		} else {
			tos, err = p.conn.IPv4PacketConn().TOS()
		}
		if err != nil || tos != 0x20 {
			t.Errorf("%v: TOS %#x (%v), want 0x20", target, tos, err)
		}
		if _, err := p.Send(7, 64); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-p.Replies():
			if r.Seq != 7 || r.Kind != EchoReply {
				t.Errorf("%v: got %+v", target, r)
			}
		case <-time.After(3 * time.Second):
			t.Errorf("%v: no reply after changing options", target)
		}
	}
}

func TestLiveOptionsRejectBadValues(t *testing.T) {
	p := &ICMP{}
	for _, tc := range []struct {
		name string
		set  func() error
	}{
		{"size below -65000", func() error { return p.SetSize(-70000) }},
		{"size above 65000", func() error { return p.SetSize(70000) }},
		{"negative pattern", func() error { return p.SetPattern(-2) }},
		{"TOS above 255", func() error { return p.SetTOS(256) }},
		{"negative TOS", func() error { return p.SetTOS(-1) }},
	} {
		if err := tc.set(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
