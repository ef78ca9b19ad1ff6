package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Without raw sockets the kernel still tells us about ICMP errors our probes draw: with
// IP_RECVERR (IPV6_RECVERR) set, each one is queued on the sending socket's error queue, with the
// router's address, the ICMP type and code, the original destination and the quoted bytes of our
// probe. UDP, TCP and ping-socket probers all read answers this way.

// queuedErr is one ICMP error read from a socket's error queue.
type queuedErr struct {
	from    netip.Addr     // who sent the ICMP error (router or destination)
	kind    Kind           // TimeExceeded or Unreachable
	code    uint8          // ICMP code
	dst     netip.AddrPort // the probe's destination (msg_name), port included
	payload []byte         // what the router quoted from our probe, from the kernel's chosen offset on
	at      time.Time      // kernel receive time, or zero
}

// sizeofExtErr is sizeof(struct sock_extended_err): errno u32, origin, type, code, pad u8,
// info u32, data u32. x/sys has the type but no size constant.
const sizeofExtErr = int(unsafe.Sizeof(unix.SockExtendedErr{}))

// Origins of an extended error (linux/errqueue.h).
const (
	eeOriginICMP  = 2
	eeOriginICMP6 = 3
)

// parseErrCmsgs reads the control messages of an error-queue message: the extended error with
// the offender's address behind it, and the kernel timestamp. It reports false for anything that
// is not an ICMP time exceeded or destination unreachable with a usable offender address (local
// errors such as EMSGSIZE, packet too big, parameter problems).
func parseErrCmsgs(oob []byte) (queuedErr, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return queuedErr{}, false
	}
	var q queuedErr
	found := false
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS:
			q.at = kernelTime(cmsgBytes(m))
		case (m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR) ||
			(m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR):
			if q.from, q.kind, q.code, found = parseExtErr(m.Data); !found {
				return queuedErr{}, false
			}
		}
	}
	return q, found
}

// cmsgBytes re-encodes one parsed control message so kernelTime can read it.
func cmsgBytes(m unix.SocketControlMessage) []byte {
	b := make([]byte, unix.CmsgSpace(len(m.Data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = m.Header.Level, m.Header.Type
	h.SetLen(unix.CmsgLen(len(m.Data)))
	copy(b[unix.CmsgLen(0):], m.Data)
	return b
}

// parseExtErr decodes a struct sock_extended_err followed by the offender's sockaddr.
func parseExtErr(b []byte) (from netip.Addr, kind Kind, code uint8, ok bool) {
	if len(b) < sizeofExtErr+2 {
		return netip.Addr{}, 0, 0, false
	}
	origin, typ := b[4], b[5]
	code = b[6]
	switch {
	case origin == eeOriginICMP && typ == v4TimeExceeded, origin == eeOriginICMP6 && typ == v6TimeExceeded:
		kind = TimeExceeded
	case origin == eeOriginICMP && typ == v4Unreachable, origin == eeOriginICMP6 && typ == v6Unreachable:
		kind = Unreachable
	default:
		return netip.Addr{}, 0, 0, false
	}
	sa := b[sizeofExtErr:]
	switch binary.NativeEndian.Uint16(sa) {
	case unix.AF_INET:
		if len(sa) < 8 {
			return netip.Addr{}, 0, 0, false
		}
		from = netip.AddrFrom4([4]byte(sa[4:8]))
	case unix.AF_INET6:
		if len(sa) < 24 {
			return netip.Addr{}, 0, 0, false
		}
		from = netip.AddrFrom16([16]byte(sa[8:24])).Unmap()
		if from.IsLinkLocalUnicast() && len(sa) >= 28 {
			if zone := binary.NativeEndian.Uint32(sa[24:28]); zone != 0 {
				from = from.WithZone(zoneName(zone))
			}
		}
	default:
		return netip.Addr{}, 0, 0, false
	}
	return from, kind, code, true
}

// zoneNames caches zoneName's answers: routers that answer from link-local addresses do so for
// every probe, and each lookup is a netlink round trip.
var zoneNames sync.Map // uint32 -> string

// zoneName is the interface name of an IPv6 scope id, or its number.
func zoneName(index uint32) string {
	if name, ok := zoneNames.Load(index); ok {
		return name.(string)
	}
	name := strconv.FormatUint(uint64(index), 10)
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		name = ifi.Name
	}
	zoneNames.Store(index, name)
	return name
}

// senderAddr is a recvmsg sender with its zone, which the kernel gives only as a scope id.
func senderAddr(from netip.Addr, scope uint32) netip.Addr {
	if scope != 0 && from.IsLinkLocalUnicast() {
		return from.WithZone(zoneName(scope))
	}
	return from
}

// zoneIndex is the scope id of an IPv6 zone, given as an interface name or a number (0 for no
// zone or an unknown one).
func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	n, _ := strconv.ParseUint(zone, 10, 32)
	return uint32(n)
}

// canonicalZone names a link-local address's zone the way the readers name a sender's
// (zoneName), so a target typed as fe80::1%2 still matches replies from fe80::1%eth0.
func canonicalZone(a netip.Addr) netip.Addr {
	if i := zoneIndex(a.Zone()); i != 0 {
		return a.WithZone(zoneName(i))
	}
	return a
}

// sockaddrAddrPort converts what Recvmsg returns as the peer into an AddrPort.
func sockaddrAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// icmpErrno reports whether err is the socket's pending error left by an ICMP error that was
// also queued: it fails the next send or read once and says nothing about that operation.
func icmpErrno(err error) bool {
	for _, e := range []syscall.Errno{unix.EHOSTUNREACH, unix.ENETUNREACH, unix.ECONNREFUSED,
		unix.EHOSTDOWN, unix.EPROTO, unix.EMSGSIZE, unix.ENOPROTOOPT, unix.EACCES, unix.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// sockMsg is one message read from a socket by serveQueues.
type sockMsg struct {
	errq   bool       // from the error queue: err is valid
	err    queuedErr  // errq only
	data   []byte     // a normal datagram (e.g. a ping socket's echo reply)
	from   netip.Addr // data's sender (zoned if link-local); invalid if the kernel gave none
	at     time.Time  // receive time (kernel stamp re-based on now)
	stamps func()     // normal datagrams: reads the transmit stamps queued so far
	drops  uint32     // normal datagrams: the socket's count of datagrams dropped for a full buffer (SO_RXQ_OVFL), 0 if none or not asked
}

// stampSink takes the transmit stamps serveQueues reads: a prober's own table (*txStamps), or a
// shared socket's table that routes each to its target (demuxTable).
type stampSink interface {
	stamp(key uint32, kernel, now time.Time)
}

// serveQueues reads both queues of a socket until it is closed, calling handle for every
// answer and giving tx (if not nil) every transmit stamp. Go's poller wakes a reader when the
// error queue fills (POLLERR), so one goroutine serves both with no polling loop of its own.
// handle must not keep the slices it is given.
//
// A probe's transmit stamp is queued before anything can answer the probe, but a normal
// answer can be read before the stamp; a handler that finds no stamp for its answer calls
// sockMsg.stamps, which reads the error queue then. Reading it before every answer instead
// would cost a system call per answer, and slow the reader enough in a burst for the socket's
// receive buffer (which the stamps share) to overflow.
func serveQueues(rc syscall.RawConn, tx stampSink, handle func(sockMsg)) error {
	buf := make([]byte, 2048)
	ebuf := make([]byte, 2048)
	oob := make([]byte, 512)
	eoob := make([]byte, 512)
	drainErrQueue := func(fd uintptr) {
		for tries := 0; tries < 8; {
			n, oobn, from, _, err := recvmsg(fd, ebuf, eoob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			now := time.Now()
			if err == unix.EAGAIN {
				return
			}
			if err != nil {
				tries++ // nothing else is reported by an error-queue read; try again, a little
				continue
			}
			if key, kt, ok := txStampOf(eoob[:oobn]); ok {
				if tx != nil {
					tx.stamp(key, kt, now) // a nil *txStamps ignores it
				}
				continue
			}
			q, ok := parseErrCmsgs(eoob[:oobn])
			if !ok {
				continue
			}
			q.dst = from
			q.payload = ebuf[:n]
			handle(sockMsg{errq: true, err: q, at: receiveTime(now, q.at)})
		}
	}
	var cur uintptr
	stamps := func() { drainErrQueue(cur) }
	for {
		err := rc.Read(func(fd uintptr) bool {
			cur = fd
			for {
				n, oobn, from, scope, err := recvmsg(fd, buf, oob, unix.MSG_DONTWAIT)
				now := time.Now()
				switch {
				case err == nil:
					kt, drops := rxCmsgs(oob[:oobn])
					handle(sockMsg{data: buf[:n], from: senderAddr(from.Addr(), scope), at: receiveTime(now, kt), stamps: stamps, drops: drops})
				case icmpErrno(err):
					// The pending error of a queued ICMP error: the error queue has it.
				default:
					// Both queues read dry: the poller records whatever comes meanwhile, so
					// waiting for it then misses nothing.
					drainErrQueue(fd)
					return false
				}
			}
		})
		if err != nil {
			return err
		}
	}
}

// setRecvErr asks the kernel to queue ICMP errors on the socket (and stamp them).
func setRecvErr(fd int, is6 bool) error {
	var err error
	if is6 {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
	} else {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1)
	}
	if err != nil {
		return err
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
}

// setMark sets SO_MARK (needs CAP_NET_ADMIN); a zero mark leaves the socket alone.
func setMark(fd int, mark uint32) error {
	if mark == 0 {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(mark)); err != nil {
		return fmt.Errorf("SO_MARK %d: %w", mark, err)
	}
	return nil
}

// setTOS sets the IPv4 TOS or IPv6 traffic class of a socket.
func setTOS(fd int, is6 bool, tos int) error {
	if is6 {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos)
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, tos)
}
