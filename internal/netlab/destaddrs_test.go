package netlab

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

func TestDestAddrsPrefixes(t *testing.T) {
	for _, tc := range []struct {
		n      int
		p4, p6 string
	}{
		{1, "198.19.16.0/32", "2001:db8:2000::/128"},
		{2, "198.19.16.0/31", "2001:db8:2000::/127"},
		{1000, "198.19.16.0/22", "2001:db8:2000::/118"},
		{1024, "198.19.16.0/22", "2001:db8:2000::/118"},
		{1025, "198.19.16.0/21", "2001:db8:2000::/117"},
		{MaxDestAddrs, "198.19.16.0/20", "2001:db8:2000::/116"},
	} {
		if p4, p6 := destPrefix4(tc.n).String(), destPrefix6(tc.n).String(); p4 != tc.p4 || p6 != tc.p6 {
			t.Errorf("%d addresses: %s %s, want %s %s", tc.n, p4, p6, tc.p4, tc.p6)
		}
	}
	for _, n := range []int{-1, MaxDestAddrs + 1} {
		if _, err := (Spec{DestAddrs: n}).normalize(); err == nil {
			t.Errorf("DestAddrs = %d: no error", n)
		}
	}
}

// TestDestAddrs: every one of the destination's further addresses answers ICMP echo, UDP (port
// unreachable) and TCP (SYN-ACK on an open port, RST on a closed one), each from the address
// probed, behind the routers, in both families.
func TestDestAddrs(t *testing.T) {
	t.Parallel()
	const open, closed = 8080, 8081
	l := New(t, Spec{Routers: 2, DestAddrs: 1024, TCPOpen: []int{open}})
	if len(l.DestAddrs4) != 1024 || len(l.DestAddrs6) != 1024 ||
		l.DestAddrs4[1023] != netip.MustParseAddr("198.19.19.255") || l.DestAddrs6[1023] != netip.MustParseAddr("2001:db8:2000::3ff") {
		t.Fatalf("DestAddrs4 %d ending %v, DestAddrs6 %d ending %v", len(l.DestAddrs4), l.DestAddrs4[len(l.DestAddrs4)-1],
			len(l.DestAddrs6), l.DestAddrs6[len(l.DestAddrs6)-1])
	}
	for _, addrs := range [][]netip.Addr{l.DestAddrs4, l.DestAddrs6} {
		t.Run(map[bool]string{false: "v4", true: "v6"}[addrs[0].Is6()], func(t *testing.T) {
			a := newAnswers(t, l, addrs[0].Is6())
			for i, addr := range addrs {
				if from, typ, code := a.echo(addr, i); from != addr || (typ != ipv4.ICMPTypeEchoReply && typ != ipv6.ICMPTypeEchoReply) {
					t.Fatalf("echo to %v: %v %v/%d", addr, from, typ, code)
				}
				if from, typ, code := a.udp(addr); from != addr || !isPortUnreachable(typ, code) {
					t.Fatalf("UDP to %v: %v %v/%d, want port unreachable from it", addr, from, typ, code)
				}
				if err := a.tcp(addr, open); err != nil {
					t.Fatalf("TCP to %v port %d: %v", addr, open, err)
				}
				if err := a.tcp(addr, closed); !errors.Is(err, syscall.ECONNREFUSED) {
					t.Fatalf("TCP to %v port %d: %v, want a RST (connection refused)", addr, closed, err)
				}
			}
		})
	}
}

func isPortUnreachable(typ icmp.Type, code int) bool {
	return (typ == ipv4.ICMPTypeDestinationUnreachable && code == 3) ||
		(typ == ipv6.ICMPTypeDestinationUnreachable && code == 4)
}

// answers sends probes from the client namespace one at a time and reads the ICMP answer to
// each from a raw socket.
type answers struct {
	t     *testing.T
	l     *Lab
	proto int
	raw   *icmp.PacketConn
	udpc  net.PacketConn
	buf   []byte
}

func newAnswers(t *testing.T, l *Lab, v6 bool) *answers {
	a := &answers{t: t, l: l, proto: 1, buf: make([]byte, 1500)}
	network, listen, udp := "ip4:icmp", "0.0.0.0", "udp4"
	if v6 {
		a.proto, network, listen, udp = 58, "ip6:ipv6-icmp", "::", "udp6"
	}
	if err := l.Run(func() error {
		var err error
		if a.raw, err = icmp.ListenPacket(network, listen); err != nil {
			return err
		}
		a.udpc, err = net.ListenPacket(udp, net.JoinHostPort(listen, "0"))
		return err
	}); err != nil {
		t.Fatalf("open sockets in the client namespace: %v", err)
	}
	t.Cleanup(func() {
		a.raw.Close()
		if a.udpc != nil {
			a.udpc.Close()
		}
	})
	return a
}

// echo sends an echo request with sequence number seq and returns the answer to it.
func (a *answers) echo(to netip.Addr, seq int) (netip.Addr, icmp.Type, int) {
	var typ icmp.Type = ipv4.ICMPTypeEcho
	if to.Is6() {
		typ = ipv6.ICMPTypeEchoRequest
	}
	id := 0x4e4c
	b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq & 0xffff, Data: []byte("netlab")}}).Marshal(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.raw.WriteTo(b, &net.IPAddr{IP: to.AsSlice()}); err != nil {
		a.t.Fatalf("send echo to %v: %v", to, err)
	}
	return a.read(to, func(m *icmp.Message) bool {
		e, ok := m.Body.(*icmp.Echo)
		return ok && e.ID == id && e.Seq == seq&0xffff
	})
}

// udp sends a datagram to a closed port and returns the ICMP error that quotes it.
func (a *answers) udp(to netip.Addr) (netip.Addr, icmp.Type, int) {
	if _, err := a.udpc.WriteTo([]byte("netlab"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(to, 33434))); err != nil {
		a.t.Fatalf("send UDP to %v: %v", to, err)
	}
	return a.read(to, func(m *icmp.Message) bool {
		d, ok := m.Body.(*icmp.DstUnreach)
		if !ok {
			return false
		}
		// The quoted packet's destination: at 16 in an IPv4 header (no options), 24 in IPv6.
		off := 16
		if to.Is6() {
			off = 24
		}
		if len(d.Data) < off+to.BitLen()/8 {
			return false
		}
		dst, _ := netip.AddrFromSlice(d.Data[off : off+to.BitLen()/8])
		return dst == to
	})
}

// read returns the first answer that match accepts, skipping others (neighbour discovery).
func (a *answers) read(to netip.Addr, match func(*icmp.Message) bool) (netip.Addr, icmp.Type, int) {
	if err := a.raw.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		a.t.Fatal(err)
	}
	for {
		n, peer, err := a.raw.ReadFrom(a.buf)
		if err != nil {
			a.t.Fatalf("no answer from %v: %v", to, err)
		}
		m, err := icmp.ParseMessage(a.proto, a.buf[:n])
		if err != nil || !match(m) {
			continue
		}
		from, _ := netip.AddrFromSlice(peer.(*net.IPAddr).IP)
		return from.Unmap(), m.Type, m.Code
	}
}

// tcp connects to port and closes again at once.
func (a *answers) tcp(to netip.Addr, port int) error {
	var c net.Conn
	err := a.l.Run(func() error {
		var err error
		c, err = net.DialTimeout("tcp", net.JoinHostPort(to.String(), strconv.Itoa(port)), 5*time.Second)
		return err
	})
	if err != nil {
		return err
	}
	return c.Close()
}

// ipLinkJSON is `ip -s -j link show` of a router, trimmed.
const ipLinkJSON = `[{"ifindex":1,"ifname":"lo","mtu":65536,"stats64":{"rx":{"bytes":0,"packets":0,"errors":0,"dropped":0},"tx":{"bytes":0,"packets":0,"errors":0,"dropped":0}}},` +
	`{"ifindex":2,"ifname":"todest","link_index":2,"stats64":{"rx":{"bytes":9,"packets":1,"errors":0,"dropped":3,"over_errors":0},"tx":{"bytes":9,"packets":1,"errors":0,"dropped":40}}},` +
	`{"ifindex":3,"ifname":"toclient","stats64":{"rx":{"dropped":500},"tx":{"dropped":0}}}]`

func TestLinkDrops(t *testing.T) {
	if n, err := linkDrops([]byte(ipLinkJSON)); n != 543 || err != nil {
		t.Errorf("got %d, %v; want 543", n, err)
	}
	for _, bad := range []string{"", "[{", `[{"ifname":"lo"}]`, `[{"stats64":{"rx":{"dropped":-1}}}]`, `{"stats64":{}}`} {
		if _, err := linkDrops([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzLinkDrops(f *testing.F) {
	f.Add([]byte(ipLinkJSON))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := linkDrops(b); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("error of several lines: %q", err)
		}
	})
}

// TestNoICMPRateLimit: a router's time-exceeded and the destination's port unreachables are
// never rate limited, however fast they are asked for. The kernel's defaults would limit both
// (icmp_ratemask and IPv6's ratemask hold their types: 1 per second per peer after a burst of
// 6, icmp_ratelimit; 1,000 per second in all, icmp_msgs_per_sec), which a thousand targets at
// -i 1 exceed many times over: the lab's sysctls (commonSysctls) take every type out of both.
func TestNoICMPRateLimit(t *testing.T) {
	t.Parallel()
	const total, batch = 3000, 100
	l := New(t, Spec{Routers: 2})
	for _, target := range []netip.Addr{l.Target4, l.Target6} {
		t.Run(map[bool]string{false: "v4", true: "v6"}[target.Is6()], func(t *testing.T) {
			a := newAnswers(t, l, target.Is6())
			var err error
			if target.Is6() {
				err = a.raw.IPv6PacketConn().SetHopLimit(1)
			} else {
				err = a.raw.IPv4PacketConn().SetTTL(1)
			}
			if err != nil {
				t.Fatal(err)
			}
			var echo icmp.Type = ipv4.ICMPTypeEcho
			if target.Is6() {
				echo = ipv6.ICMPTypeEchoRequest
			}
			b, err := (&icmp.Message{Type: echo, Body: &icmp.Echo{ID: 0x4e4d, Seq: 1, Data: []byte("netlab")}}).Marshal(nil)
			if err != nil {
				t.Fatal(err)
			}
			udpTo := net.UDPAddrFromAddrPort(netip.AddrPortFrom(target, 33434))
			start := time.Now()
			exceeded, unreachable := 0, 0
			// In batches, so that the answers never overflow the raw socket's buffer.
			for sent := 0; sent < total; sent += batch {
				for range batch {
					if _, err := a.raw.WriteTo(b, &net.IPAddr{IP: target.AsSlice()}); err != nil {
						t.Fatal(err)
					}
					if _, err := a.udpc.WriteTo([]byte("netlab"), udpTo); err != nil {
						t.Fatal(err)
					}
				}
				if err := a.raw.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
					t.Fatal(err)
				}
				for exceeded+unreachable < 2*(sent+batch) {
					n, _, err := a.raw.ReadFrom(a.buf)
					if err != nil {
						break // counted short below
					}
					m, err := icmp.ParseMessage(a.proto, a.buf[:n])
					switch {
					case err != nil:
					case m.Type == ipv4.ICMPTypeTimeExceeded || m.Type == ipv6.ICMPTypeTimeExceeded:
						exceeded++
					case isPortUnreachable(m.Type, m.Code):
						unreachable++
					}
				}
				if exceeded+unreachable < 2*(sent+batch) {
					break // limited: the rest would only take longer
				}
			}
			if exceeded != total || unreachable != total {
				t.Errorf("%d probes of each kind in %v: %d time exceeded, %d port unreachable",
					total, time.Since(start).Round(time.Millisecond), exceeded, unreachable)
			}
		})
	}
}

// TestDrops: frames the lab's kernels throw away are counted, on whichever interface dropped
// them. The client sends Ethernet frames of a type nobody handles (IEEE 802's local
// experimental one) to router 1, whose interface drops each on receipt.
func TestDrops(t *testing.T) {
	t.Parallel()
	l := New(t, Spec{Routers: 1})
	before, err := l.Drops()
	if err != nil {
		t.Fatal(err)
	}
	const frames, etherType = 5, 0x88b5
	if err := l.Run(func() error {
		ifc, err := net.InterfaceByName(ifDest)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(etherType)))
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Protocol: htons(etherType), Ifindex: ifc.Index, Halen: 6,
			Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
		frame := append(append(bytes.Repeat([]byte{0xff}, 6), ifc.HardwareAddr...), etherType>>8, etherType&0xff)
		frame = append(frame, make([]byte, 46)...)
		for range frames {
			if err := unix.Sendto(fd, frame, 0, to); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("send frames in the client namespace: %v", err)
	}
	// Received frames are handled asynchronously (the backlog), so they may take a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		after, err := l.Drops()
		if err != nil {
			t.Fatal(err)
		}
		// At least: the lab's own neighbour discovery may lose a packet meanwhile.
		if after-before >= frames {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Drops went from %d to %d after %d frames nobody takes", before, after, frames)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
