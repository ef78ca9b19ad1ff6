package probe

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// shape guards the Config fields the live UI changes while the scheduler sends (its s and B
// keys): the packet size and the payload pattern. Probers embed it, pointed at their own Config,
// and so share one SetSize and SetPattern.
type shape struct {
	mu  sync.Mutex
	cfg *Config
}

// SetSize changes the size of the following probes (whole IP packet, as Config.Size; 0 means 64,
// below 0 a size drawn for each probe, see DrawSize).
func (s *shape) SetSize(size int) error {
	size, err := checkSize(size)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cfg.Size = size
	s.mu.Unlock()
	return nil
}

// SetPattern changes the payload fill byte of the following probes (as Config.Pattern).
func (s *shape) SetPattern(pattern int) error {
	if err := checkPattern(pattern); err != nil {
		return err
	}
	s.mu.Lock()
	s.cfg.Pattern = pattern
	s.mu.Unlock()
	return nil
}

// current returns the payload length and the pattern of the next probe.
func (s *shape) current() (n, pattern int) {
	s.mu.Lock()
	cfg := *s.cfg
	s.mu.Unlock()
	cfg.Size = DrawSize(cfg.Size)
	return cfg.payloadLen(), cfg.Pattern
}

// MinRandomSize is the smallest size DrawSize draws: an IPv4 echo without payload. (IPv6's
// headers are longer; its probes are never shorter than the headers, see payloadLen.)
const MinRandomSize = hdrLenV4

// DrawSize is the size of the next probe for a configured size: size itself, or for a negative
// one (mtr's -s -N) a size drawn uniformly from MinRandomSize to -size, so that a path whose
// answers depend on packet size (MTU, padding bugs) shows it as loss or jitter.
func DrawSize(size int) int {
	if size >= 0 {
		return size
	}
	hi := max(-size, MinRandomSize)
	return MinRandomSize + rand.IntN(hi-MinRandomSize+1)
}

// checkSize validates a packet size; 0 means mtr's default of 64.
func checkSize(size int) (int, error) {
	switch {
	case size == 0:
		return defaultSize, nil
	case size < -maxSize || size > maxSize:
		return 0, fmt.Errorf("probe: packet size %d out of range -%d..%d", size, maxSize, maxSize)
	}
	return size, nil
}

func checkPattern(pattern int) error {
	if pattern < 0 {
		return fmt.Errorf("probe: bit pattern %d is negative", pattern)
	}
	return nil
}

// fillPattern returns n bytes of the pattern byte; above 255 (mtr's "random"), of a byte drawn
// for this probe.
func fillPattern(n, pattern int) []byte {
	b := make([]byte, n)
	fill := byte(pattern)
	if pattern > 255 {
		fill = byte(randomID())
	}
	for i := range b {
		b[i] = fill
	}
	return b
}
