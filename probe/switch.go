package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Switch is a Prober whose protocol can change while it runs (the live UI's u and t keys). It
// keeps every prober it opened: a raw ICMP socket opened before privileges were dropped cannot
// be opened again afterwards, so switching back must reuse it. Answers of all of them arrive on
// one channel; the scheduler's sequence numbers are unique across protocols, so a late answer
// to an earlier protocol's probe still finds its probe (or is dropped as expired).
type Switch struct {
	mu      sync.Mutex
	openFn  func(Config) (Prober, error) // opens every prober: OpenProber, or a Mux's Open
	cfg     Config
	cur     Prober
	open    map[Protocol]Prober
	openErr map[Protocol]error // why a protocol opened early could not be

	replies chan Reply
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// NewSwitch opens the prober for cfg.Protocol and, for each protocol in early, tries to open its
// prober now too (errors are kept and reported if the user switches to it). Call it before
// privileges are dropped, listing ICMP in early when the user may switch protocols later.
func NewSwitch(cfg Config, early ...Protocol) (*Switch, error) {
	return NewSwitchFrom(OpenProber, cfg, early...)
}

// NewSwitchFrom is NewSwitch opening every prober through open, e.g. a Mux's Open, so that many
// Switches share its sockets.
func NewSwitchFrom(open func(Config) (Prober, error), cfg Config, early ...Protocol) (*Switch, error) {
	p, err := open(cfg)
	if err != nil {
		return nil, err
	}
	s := &Switch{openFn: open, cfg: cfg, cur: p, open: map[Protocol]Prober{cfg.Protocol: p}, openErr: map[Protocol]error{},
		replies: make(chan Reply, 256), done: make(chan struct{})}
	s.forward(p)
	for _, proto := range early {
		if _, ok := s.open[proto]; ok {
			continue
		}
		c := cfg
		c.Protocol = proto
		q, err := open(c)
		if err != nil {
			s.openErr[proto] = err
			continue
		}
		s.open[proto] = q
		s.forward(q)
	}
	return s, nil
}

func (s *Switch) forward(p Prober) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for r := range p.Replies() {
			select {
			case s.replies <- r:
			case <-s.done:
			}
		}
	}()
}

// Sequences is the sequence space of the current protocol's prober. The scheduler asks before
// every probe, so a switch to a protocol with fewer numbers takes effect at once; numbers already
// handed out stay reserved until their probes are settled, and the live view refuses a switch
// that the current interval is too short for (trace.Tracer.CheckInterval).
func (s *Switch) Sequences() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.cur.(Sequencer); ok {
		return q.Sequences()
	}
	return 1 << 16
}

// Protocol returns the protocol of the probes being sent.
func (s *Switch) Protocol() Protocol {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Protocol
}

// SetProtocol makes the following probes proto probes, opening its prober if needed.
func (s *Switch) SetProtocol(proto Protocol) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.open[proto]; ok {
		s.cur, s.cfg.Protocol = p, proto
		return nil
	}
	c := s.cfg
	c.Protocol = proto
	p, err := s.openFn(c)
	if err != nil {
		if early := s.openErr[proto]; early != nil {
			err = early
		}
		return fmt.Errorf("switch to %v probes: %w", proto, err)
	}
	s.open[proto] = p
	s.forward(p)
	s.cur, s.cfg.Protocol = p, proto
	return nil
}

func (s *Switch) current() Prober {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Send sends one probe of the current protocol.
func (s *Switch) Send(seq uint16, ttl int) (time.Time, error) { return s.current().Send(seq, ttl) }

// Replies delivers the answers of every protocol's probes; closed after Close.
func (s *Switch) Replies() <-chan Reply { return s.replies }

// LocalAddr is the current prober's source address.
func (s *Switch) LocalAddr() netip.Addr { return s.current().LocalAddr() }

// tunable is what the live UI changes besides the protocol; every prober here has it.
type tunable interface {
	SetSize(int) error
	SetPattern(int) error
	SetTOS(int) error
}

// each applies set to every open prober and remembers the value for probers opened later.
func (s *Switch) each(remember func(*Config), set func(tunable) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.open {
		if t, ok := p.(tunable); ok {
			if err := set(t); err != nil {
				return err
			}
		}
	}
	remember(&s.cfg)
	return nil
}

// SetSize changes the size of the following probes (ignored by TCP).
func (s *Switch) SetSize(n int) error {
	return s.each(func(c *Config) { c.Size = n }, func(t tunable) error { return t.SetSize(n) })
}

// SetPattern changes the payload fill byte of the following probes.
func (s *Switch) SetPattern(n int) error {
	return s.each(func(c *Config) { c.Pattern = n }, func(t tunable) error { return t.SetPattern(n) })
}

// SetTOS changes the TOS / traffic class of the following probes.
func (s *Switch) SetTOS(n int) error {
	return s.each(func(c *Config) { c.TOS = n }, func(t tunable) error { return t.SetTOS(n) })
}

// Close closes every prober; Replies is closed when it returns.
func (s *Switch) Close() error {
	var errs []error
	s.once.Do(func() {
		close(s.done)
		s.mu.Lock()
		for _, p := range s.open {
			errs = append(errs, p.Close())
		}
		s.mu.Unlock()
		s.wg.Wait()
		close(s.replies)
	})
	return errors.Join(errs...)
}
