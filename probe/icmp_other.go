//go:build !linux

package probe

import (
	"errors"
	"net/netip"
	"time"
)

// errUnsupported is returned on platforms without the raw-socket code: it
// relies on Linux behaviour (IP_TTL control messages, ICMP_FILTER).
var errUnsupported = errors.New("probe: raw ICMP probing is not supported on this platform")

// ICMP is the raw-socket ICMP echo prober. Only Linux has one.
type ICMP struct{}

// Open reports that this platform is unsupported.
func Open(cfg Config) (*ICMP, error) {
	if _, err := cfg.normalize(); err != nil {
		return nil, err
	}
	return nil, errUnsupported
}

// Send reports that this platform is unsupported.
func (p *ICMP) Send(seq uint16, ttl int) (time.Time, error) { return time.Now(), errUnsupported }

// Replies returns a closed channel.
func (p *ICMP) Replies() <-chan Reply {
	c := make(chan Reply)
	close(c)
	return c
}

// LocalAddr returns the zero Addr.
func (p *ICMP) LocalAddr() netip.Addr { return netip.Addr{} }

// ID returns 0.
func (p *ICMP) ID() uint16 { return 0 }

// SetSize reports that this platform is unsupported.
func (p *ICMP) SetSize(int) error { return errUnsupported }

// SetPattern reports that this platform is unsupported.
func (p *ICMP) SetPattern(int) error { return errUnsupported }

// SetTOS reports that this platform is unsupported.
func (p *ICMP) SetTOS(int) error { return errUnsupported }

// Close does nothing.
func (p *ICMP) Close() error { return nil }
