package probe

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The probers' sockets are non-blocking, so sendmsg and recvmsg on them never wait: they are
// made here with RawSyscall instead of going through net and unix, whose Syscall tells the Go
// scheduler a goroutine may block. That notice is what costs: when the process was idle it
// wakes the runtime's monitor thread, which then polls every 20 µs for a while, and a send that
// forwards the probe through a whole path of veth routers inside the syscall (tens of µs) gets
// its P handed to another thread. For a live view sending 30 probes a second that was a third
// of mtr-go's CPU time. Waiting for readiness is still the poller's job (syscall.RawConn).

// rawAddr is a socket address in the kernel's layout.
type rawAddr struct {
	raw unix.RawSockaddrInet6 // large enough for both families
	len uint32
}

// makeRawAddr returns dst (with an IPv6 scope id, 0 for none) in the kernel's layout.
func makeRawAddr(dst netip.AddrPort, scope uint32) rawAddr {
	var sa rawAddr
	a := dst.Addr()
	if a.Is4() {
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		s4.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:], dst.Port())
		s4.Addr = a.As4()
		sa.len = unix.SizeofSockaddrInet4
		return sa
	}
	sa.raw.Family = unix.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.raw.Port))[:], dst.Port())
	sa.raw.Addr = a.As16()
	sa.raw.Scope_id = scope
	sa.len = unix.SizeofSockaddrInet6
	return sa
}

// newMsghdr returns a message header for the data p, held by iov, and the control messages oob.
func newMsghdr(iov *unix.Iovec, p, oob []byte) unix.Msghdr {
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
	}
	msg := unix.Msghdr{Iov: iov, Iovlen: 1}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	return msg
}

// sendmsg sends p with the control messages oob to sa on the non-blocking socket fd.
func sendmsg(fd uintptr, p, oob []byte, sa *rawAddr) (int, error) {
	var iov unix.Iovec
	msg := newMsghdr(&iov, p, oob)
	if sa != nil {
		msg.Name = (*byte)(unsafe.Pointer(&sa.raw))
		msg.Namelen = sa.len
	}
	n, _, e := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// recvmsg reads one message from the non-blocking socket fd (flags as for recvmsg(2), e.g.
// MSG_ERRQUEUE) into p and its control messages into oob. from is the sender (invalid when
// the kernel gave none) and scope its IPv6 scope id.
func recvmsg(fd uintptr, p, oob []byte, flags int) (n, oobn int, from netip.AddrPort, scope uint32, err error) {
	var rsa unix.RawSockaddrAny
	var iov unix.Iovec
	msg := newMsghdr(&iov, p, oob)
	msg.Name, msg.Namelen = (*byte)(unsafe.Pointer(&rsa)), unix.SizeofSockaddrAny
	r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return 0, 0, netip.AddrPort{}, 0, e
	}
	switch rsa.Addr.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:])
		from = netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), port)
	case unix.AF_INET6:
		s6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&s6.Port))[:])
		from = netip.AddrPortFrom(netip.AddrFrom16(s6.Addr).Unmap(), port)
		scope = s6.Scope_id
	}
	return int(r), int(msg.Controllen), from, scope, nil
}

// writeMsg sends p with oob to sa through rc, waiting in the poller while the socket's send
// buffer is full.
func writeMsg(rc syscall.RawConn, p, oob []byte, sa *rawAddr) error {
	var err error
	werr := rc.Write(func(fd uintptr) bool {
		_, err = sendmsg(fd, p, oob, sa)
		return err != unix.EAGAIN
	})
	if werr != nil {
		return werr
	}
	return err
}
