package probe

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// udpConn is what the two error-queue probers (ping sockets and UDP) share: their UDP-family
// socket, the replies channel and the reader's life cycle, and so one send, SetTOS, Replies,
// LocalAddr and Close.
type udpConn struct {
	conn   *net.UDPConn
	rc     syscall.RawConn // conn's descriptor, for sendmsg and recvmsg
	target netip.Addr
	scope  uint32 // the target's IPv6 scope id, or 0
	is6    bool
	local  netip.Addr

	replyQueue
	txStamper
}

// init prepares the channels for probes to target; the prober then opens conn, sets rc and
// starts its reader.
func (c *udpConn) init(target netip.Addr) {
	c.target, c.is6, c.scope = target, target.Is6(), zoneIndex(target.Zone())
	c.initQueue()
}

// send sends probe seq (payload with the control messages oob) to the target's port and
// returns the time just before the kernel took it. A send refused with the pending error of an
// earlier ICMP error (the kernel reports it once, on whatever comes next) is retried.
func (c *udpConn) send(seq uint16, payload, oob []byte, port int) (time.Time, error) {
	sa := makeRawAddr(netip.AddrPortFrom(c.target, uint16(port)), c.scope)
	var now time.Time
	var err error
	for range 3 {
		if now, err = c.write(c.rc, seq, payload, oob, &sa); err == nil || !icmpErrno(err) {
			break
		}
	}
	return now, err
}

// SetTOS changes the TOS / traffic class of the following probes.
func (c *udpConn) SetTOS(tos int) error {
	if tos < 0 || tos > 255 {
		return fmt.Errorf("probe: TOS %d out of range 0..255", tos)
	}
	var serr error
	if err := c.rc.Control(func(fd uintptr) { serr = setTOS(int(fd), c.is6, tos) }); err != nil {
		return err
	}
	return serr
}

// LocalAddr is the source address in use (zero if unknown).
func (c *udpConn) LocalAddr() netip.Addr { return c.local }

// Close closes the socket and waits for the reader; Replies is closed when it returns.
func (c *udpConn) Close() error { return c.closeWith(c.conn) }
