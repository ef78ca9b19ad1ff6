package probe

import (
	"errors"
	"fmt"
)

// OpenProber opens the prober cfg.Protocol asks for. For ICMP it tries a raw socket first and
// falls back to an unprivileged ping socket; when neither may be opened the error wraps
// ErrNoPrivilege (and ErrPermission). TCP probes are SYNs of our own on raw sockets where
// allowed, else connect() calls (see TCP for what they cannot see). UDP probes need no privilege.
// SCTP probes are INITs of our own on raw sockets, with no fallback.
func OpenProber(cfg Config) (Prober, error) {
	switch cfg.Protocol {
	case UDPProbes:
		u, err := OpenUDP(cfg)
		if err != nil {
			return nil, err
		}
		return u, nil
	case TCPProbes:
		r, err := OpenTCPRaw(cfg)
		if err != nil {
			return unprivileged(cfg, err)
		}
		return r, nil
	case ICMPProbes:
		p, err := Open(cfg)
		if err != nil {
			return unprivileged(cfg, err)
		}
		return p, nil
	case SCTPProbes:
		// INITs of our own on raw sockets; there is no unprivileged way to send them.
		s, err := OpenSCTP(cfg)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("probe: unknown protocol %v", cfg.Protocol)
}

// unprivileged is what OpenProber and Mux.Open fall back to when the raw socket for cfg failed
// with err: for want of privilege (ErrPermission), the prober that needs none, or an error
// saying why there is none; any other err as it is.
func unprivileged(cfg Config, err error) (Prober, error) {
	if !errors.Is(err, ErrPermission) {
		return nil, err
	}
	switch cfg.Protocol {
	case TCPProbes:
		if cfg.Mark != 0 {
			// Setting SO_MARK needs CAP_NET_ADMIN, which is gone once the sockets are open, and
			// the connect prober opens one per probe after that.
			return nil, fmt.Errorf("a firewall mark on TCP probes needs raw sockets (root or CAP_NET_RAW): %w", err)
		}
		t, terr := OpenTCP(cfg)
		if terr != nil {
			return nil, terr
		}
		return t, nil
	case ICMPProbes:
		d, derr := OpenDgram(cfg)
		if derr == nil {
			return d, nil
		}
		if errors.Is(derr, ErrPermission) {
			return nil, fmt.Errorf("%w (%w)", ErrNoPrivilege, err)
		}
		return nil, derr
	}
	return nil, err
}

// SCTP is a prober of SCTP INIT probes for one target: a Mux of its own, so the one target has
// the same sockets, demultiplexing and answers as a Mux's SCTP targets.
type SCTP struct {
	*muxProber
	m *Mux
}

// OpenSCTP opens the raw SCTP and ICMP sockets for cfg.Target's family; the port defaults to 80
// (as mtr's). The error wraps ErrPermission when the process may not open raw sockets.
func OpenSCTP(cfg Config) (*SCTP, error) {
	cfg.Protocol = SCTPProbes
	m := NewMux(MuxOptions{})
	n, err := m.prepare(cfg)
	if err != nil {
		return nil, err
	}
	p, err := m.openShared(n, n.ID)
	if err != nil {
		m.Close()
		return nil, err
	}
	return &SCTP{muxProber: p, m: m}, nil
}

// Close closes the sockets and waits for the readers; Replies is closed when it returns.
func (s *SCTP) Close() error {
	return errors.Join(s.muxProber.Close(), s.m.Close())
}
