package probe

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// txFlags asks for a software stamp of every packet as it goes to the device (TX_SOFTWARE,
// reported by SOFTWARE) on the socket's error queue, keyed (OPT_ID) and without a copy of the
// packet (TSONLY: nothing to parse, and no need for net.core.tstamp_allow_data when
// unprivileged). Receive stamps stay with SO_TIMESTAMPNS, which the TCP prober shares.
const txFlags = unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE |
	unix.SOF_TIMESTAMPING_OPT_ID | unix.SOF_TIMESTAMPING_OPT_TSONLY

// txStamper is what a prober embeds for kernel transmit stamps; its zero value stamps nothing.
// The raw ICMP, ping-socket and UDP probers use it, and a raw-socket TCP SYN prober can the
// same way:
//
//	t.enableTxStamps(fd)                           // once, when the socket is set up
//	now, err := t.write(rc, seq, pkt, oob, &dst)   // each probe, instead of writeMsg
//	serveQueues(rc, t.stamps, handle)              // the reader: stamps go to the table
//	deliver(t.withSent(reply, msg.stamps))         // each answer handle matched to seq
//
// A reader of its own can feed the table with txStampOf and stamps.stamp instead. (Whether
// kernels honour SCM_TS_OPT_ID on IP_HDRINCL sockets is untested here; the counter fallback
// covers a kernel that refuses it.)
type txStamper struct {
	stamps  *txStamps   // nil: no kernel transmit stamps on this socket
	counted atomic.Bool // the kernel refused per-packet keys (before Linux 6.13): it counts packets
	mu      sync.Mutex  // one send at a time once counted: the keys follow the order of the sends
}

// enableTxStamps turns transmit stamps on for the socket fd. A kernel that refuses them is not
// an error: Send's user-space time then stands, as before.
func (t *txStamper) enableTxStamps(fd int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, txFlags) != nil {
		return
	}
	t.stamps = new(txStamps)
	// Every probe now queues two messages on the socket, its stamp and its answer, and both
	// count against the receive buffer: double it, or a reader held up on a loaded machine
	// loses answers sooner than before. The kernel doubles what is set (for its overhead) and
	// caps it at net.core.rmem_max first, so setting the current size doubles it by default.
	if n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n)
	}
}

// txKeyCmsg is the control message that gives one packet its timestamp key (SCM_TS_OPT_ID).
func txKeyCmsg(key uint32) []byte {
	b := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SCM_TS_OPT_ID
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], key)
	return b
}

// write sends probe seq (p, with the control messages oob) to sa and returns the user-space
// time taken just before: on a veth path the kernel may forward the probe and queue the answer
// (with its receive stamp) before sendmsg even returns.
func (t *txStamper) write(rc syscall.RawConn, seq uint16, p, oob []byte, sa *rawAddr) (time.Time, error) {
	if t.stamps == nil {
		now := time.Now()
		return now, writeMsg(rc, p, oob, sa)
	}
	if t.counted.Load() {
		return t.writeCounted(rc, seq, p, oob, sa)
	}
	keyed := append(oob[:len(oob):len(oob)], txKeyCmsg(uint32(seq))...)
	now := time.Now()
	t.stamps.expect(seq, now)
	err := writeMsg(rc, p, keyed, sa)
	if err == unix.EINVAL {
		// A kernel without SCM_TS_OPT_ID refuses the whole message before building a packet:
		// nothing has been stamped, and the socket's counter is still at 0.
		t.stamps.failed(seq)
		t.mu.Lock()
		if t.counted.CompareAndSwap(false, true) {
			t.stamps.useCounter()
		}
		t.mu.Unlock()
		return t.writeCounted(rc, seq, p, oob, sa)
	}
	if err != nil {
		t.stamps.failed(seq)
	}
	return now, err
}

// writeCounted is write for a socket whose packets take their keys from its counter.
func (t *txStamper) writeCounted(rc syscall.RawConn, seq uint16, p, oob []byte, sa *rawAddr) (time.Time, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	t.stamps.expect(seq, now)
	err := writeMsg(rc, p, oob, sa)
	if err != nil {
		t.stamps.failed(seq)
	}
	return now, err
}

// withSent fills r.Sent from the kernel's stamp of its probe, when there is one. read (if not
// nil) reads the stamps queued meanwhile, for an answer read before its probe's stamp.
func (t *txStamper) withSent(r Reply, read func()) Reply {
	if t.stamps == nil {
		return r
	}
	if _, ok := t.stamps.sent(r.Seq); !ok && read != nil && t.stamps.waiting() {
		read()
	}
	return t.stamps.withSent(r)
}

// txStampOf reads a transmit stamp from the control messages of an error-queue message: the
// extended error of origin SO_EE_ORIGIN_TIMESTAMPING with info SCM_TSTAMP_SND (the packet
// went to the device) and the key in ee_data, and the software stamp, the first of the three
// in SCM_TIMESTAMPING. ok is false for anything else, such as ICMP errors.
func txStampOf(oob []byte) (key uint32, at time.Time, ok bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, time.Time{}, false
	}
	isTx := false
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPING:
			at = parseTimespec(m.Data)
		case (m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR) ||
			(m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR):
			if len(m.Data) < sizeofExtErr {
				return 0, time.Time{}, false
			}
			errno := binary.NativeEndian.Uint32(m.Data)
			info := binary.NativeEndian.Uint32(m.Data[8:])
			if m.Data[4] != unix.SO_EE_ORIGIN_TIMESTAMPING || errno != uint32(unix.ENOMSG) || info != unix.SCM_TSTAMP_SND {
				return 0, time.Time{}, false
			}
			key, isTx = binary.NativeEndian.Uint32(m.Data[12:]), true
		}
	}
	if !isTx || at.IsZero() {
		return 0, time.Time{}, false
	}
	return key, at, true
}

// parseTimespec reads the first struct timespec of b: the whole of SCM_TIMESTAMPNS, or the
// software stamp of SCM_TIMESTAMPING (three of them). Zero when b is not a whole number of
// timespecs or the stamp is empty or malformed.
func parseTimespec(b []byte) time.Time {
	size := int(unsafe.Sizeof(unix.Timespec{})) // two longs
	if len(b) < size || len(b)%size != 0 {
		return time.Time{}
	}
	var sec, nsec int64
	if size == 16 {
		sec, nsec = int64(binary.NativeEndian.Uint64(b)), int64(binary.NativeEndian.Uint64(b[8:]))
	} else {
		sec, nsec = int64(int32(binary.NativeEndian.Uint32(b))), int64(int32(binary.NativeEndian.Uint32(b[4:])))
	}
	if (sec == 0 && nsec == 0) || nsec < 0 || nsec >= 1e9 {
		return time.Time{}
	}
	return time.Unix(sec, nsec)
}
