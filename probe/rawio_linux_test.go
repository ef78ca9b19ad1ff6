package probe

import (
	"net"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestRawSendRecv sends a datagram with writeMsg and reads it with recvmsg between two loopback
// UDP sockets of each family: payload, sender address and port must come through.
func TestRawSendRecv(t *testing.T) {
	for _, lo := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()} {
		a, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ra, _ := a.SyscallConn()
		rb, _ := b.SyscallConn()
		to := makeRawAddr(b.LocalAddr().(*net.UDPAddr).AddrPort(), 0)
		if err := writeMsg(ra, []byte("probe"), nil, &to); err != nil {
			t.Fatalf("%v: writeMsg: %v", lo, err)
		}
		buf, oob := make([]byte, 64), make([]byte, 64)
		var n int
		var from netip.AddrPort
		deadline := time.Now().Add(3 * time.Second)
		for {
			var err error
			_ = rb.Control(func(fd uintptr) { n, _, from, _, err = recvmsg(fd, buf, oob, unix.MSG_DONTWAIT) })
			if err != unix.EAGAIN || time.Now().After(deadline) {
				if err != nil {
					t.Fatalf("%v: recvmsg: %v", lo, err)
				}
				break
			}
			time.Sleep(time.Millisecond)
		}
		if got := string(buf[:n]); got != "probe" {
			t.Errorf("%v: received %q; want \"probe\"", lo, got)
		}
		if want := a.LocalAddr().(*net.UDPAddr).AddrPort(); from != want {
			t.Errorf("%v: sender %v; want %v", lo, from, want)
		}
	}
}

func TestRawAddrLayout(t *testing.T) {
	sa := makeRawAddr(netip.MustParseAddrPort("[fe80::1]:33434"), 7)
	if sa.len != unix.SizeofSockaddrInet6 || sa.raw.Family != unix.AF_INET6 || sa.raw.Scope_id != 7 {
		t.Errorf("IPv6 address: len %d family %d scope %d", sa.len, sa.raw.Family, sa.raw.Scope_id)
	}
	if p := (*[2]byte)(unsafe.Pointer(&sa.raw.Port)); p[0] != 33434>>8 || p[1] != 33434&0xff {
		t.Errorf("port bytes % x; want network order of 33434", p[:])
	}
	sa = makeRawAddr(netip.MustParseAddrPort("198.18.0.1:0"), 0)
	if sa.len != unix.SizeofSockaddrInet4 {
		t.Errorf("IPv4 address: len %d", sa.len)
	}
	if zoneIndex("") != 0 || zoneIndex("lo") != 1 || zoneIndex("no-such-if") != 0 || zoneIndex("5") != 5 {
		t.Errorf("zoneIndex: \"\"=%d lo=%d unknown=%d \"5\"=%d", zoneIndex(""), zoneIndex("lo"), zoneIndex("no-such-if"), zoneIndex("5"))
	}
}
