package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Capture records the IP packets that pass the client namespace's interfaces, in both
// directions, each with the kernel's receive timestamp: for a packet the client sends, the
// moment the device layer hands it to the driver (where a sender's own software transmit
// stamp is taken too); for one it receives, the moment it arrives (where the receiving
// socket's stamp comes from). It is what tcpdump would see, read in Go from an AF_PACKET
// socket, so it needs no tool and no extra copy of the packets.
type Capture struct {
	fd int
}

// captureBuffer holds the packets of a whole run between two Takes: a probe and its answer
// are a few hundred bytes of buffer each, and a run sends a few thousand.
const captureBuffer = 32 << 20

// Capture starts capturing in the client namespace. Close it when done.
func (l *Lab) Capture() (*Capture, error) {
	var c Capture
	err := l.Run(func() error {
		// SOCK_DGRAM: the kernel strips the link-layer header, so every packet starts at IP.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return fmt.Errorf("capture socket: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			unix.Close(fd)
			return fmt.Errorf("capture timestamps: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, captureBuffer); err != nil {
			unix.Close(fd)
			return fmt.Errorf("capture buffer: %w", err)
		}
		c.fd = fd
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Take returns the IP packets captured since the last Take (loopback traffic left out). It
// does not wait: call it once what is to be captured is over.
func (c *Capture) Take() ([]Packet, error) {
	var pkts []Packet
	buf := make([]byte, 65536)
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			return pkts, nil
		}
		if err != nil {
			return pkts, fmt.Errorf("capture: %w", err)
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok || ll.Pkttype == unix.PACKET_LOOPBACK {
			continue
		}
		if ll.Protocol != htons(unix.ETH_P_IP) && ll.Protocol != htons(unix.ETH_P_IPV6) {
			continue
		}
		at := stampOf(oob[:oobn])
		if at.IsZero() {
			return pkts, errors.New("capture: a packet without a kernel timestamp")
		}
		pkts = append(pkts, Packet{At: at, Out: ll.Pkttype == unix.PACKET_OUTGOING, Data: append([]byte(nil), buf[:n]...)})
	}
}

// stampOf reads SCM_TIMESTAMPNS from a packet's control messages.
func stampOf(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}
	}
	for _, m := range msgs {
		// A lab runs on a 64-bit host: struct timespec is two 8-byte longs.
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) == 16 {
			return time.Unix(int64(binary.NativeEndian.Uint64(m.Data)), int64(binary.NativeEndian.Uint64(m.Data[8:])))
		}
	}
	return time.Time{}
}

// Close stops the capture.
func (c *Capture) Close() error { return unix.Close(c.fd) }
