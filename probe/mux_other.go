//go:build !linux

package probe

import (
	"net/netip"
	"time"
)

// Mux opens probers for many targets. Only Linux shares sockets between them; elsewhere each
// target opens its own (OpenProber), paced all the same.
type Mux struct {
	pace *pacer
}

// NewMux returns a Mux pacing all its sends as opts asks.
func NewMux(opts MuxOptions) *Mux {
	return &Mux{pace: newPacer(opts.Rate, opts.Burst, time.Now, time.Sleep)}
}

// Open opens a prober for cfg.Target (OpenProber's).
func (m *Mux) Open(cfg Config) (Prober, error) {
	p, err := OpenProber(cfg)
	if err != nil {
		return nil, err
	}
	return pacedProber{p, m.pace}, nil
}

type pacedProber struct {
	Prober
	pace *pacer
}

func (p pacedProber) Send(seq uint16, ttl int) (time.Time, error) {
	p.pace.wait()
	return p.Prober.Send(seq, ttl)
}

func (p pacedProber) Sequences() int { return 1 << 16 }

func (p pacedProber) LocalAddr() netip.Addr { return p.Prober.LocalAddr() }

// Preopen does nothing: there are no shared sockets.
func (m *Mux) Preopen(Config, ...Protocol) error { return nil }

// Stats is all zero: there are no shared readers.
func (m *Mux) Stats() MuxStats { return MuxStats{} }

// Close does nothing; each prober closes its own sockets.
func (m *Mux) Close() error { return nil }
