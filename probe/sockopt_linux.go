package probe

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// sockOpts are the options every prober sets on its sockets the same way; apply is the one place
// they are set, whoever opened the socket.
type sockOpts struct {
	is6     bool
	recvErr bool   // queue ICMP errors on the socket (IP_RECVERR), and stamp them
	stamps  bool   // kernel receive timestamps (SO_TIMESTAMPNS)
	tos     int    // IPv4 TOS / IPv6 traffic class; 0 leaves the default
	iface   string // SO_BINDTODEVICE (mtr -I); "" for none
	mark    uint32 // SO_MARK (mtr -M); 0 for none
}

// optsFor returns the options cfg asks for on a socket of cfg.Target's family.
func optsFor(cfg Config) sockOpts {
	return sockOpts{is6: cfg.Target.Is6(), tos: cfg.TOS, iface: cfg.Interface, mark: cfg.Mark}
}

func (o sockOpts) apply(fd int) error {
	if o.recvErr {
		if err := setRecvErr(fd, o.is6); err != nil {
			return fmt.Errorf("error queue: %w", err)
		}
	}
	if o.stamps {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("kernel timestamps: %w", err)
		}
	}
	if o.tos != 0 {
		if err := setTOS(fd, o.is6, o.tos); err != nil {
			return fmt.Errorf("TOS %d: %w", o.tos, err)
		}
	}
	if o.iface != "" {
		if err := unix.BindToDevice(fd, o.iface); err != nil {
			return fmt.Errorf("bind to interface %s: %w", o.iface, err)
		}
	}
	return setMark(fd, o.mark)
}

// control applies the options to the socket behind rc.
func (o sockOpts) control(rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) { serr = o.apply(int(fd)) })
	return errors.Join(err, serr)
}

// checkTTL is every Send's range check: what names the probe in the error.
func checkTTL(what string, seq uint16, ttl int) error {
	if ttl < 1 || ttl > 255 {
		return fmt.Errorf("send %s seq %d: TTL %d out of range 1..255", what, seq, ttl)
	}
	return nil
}
