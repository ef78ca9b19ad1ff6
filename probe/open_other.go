//go:build !linux

package probe

import "fmt"

// OpenProber opens the prober cfg.Protocol asks for. Only Linux has any.
func OpenProber(cfg Config) (Prober, error) {
	if cfg.Protocol != ICMPProbes {
		return nil, fmt.Errorf("probe: %v probes are not supported on this platform", cfg.Protocol)
	}
	p, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	return p, nil
}
