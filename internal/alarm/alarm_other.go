//go:build !linux

package alarm

import (
	"errors"
	"time"
)

// fdTimer exists on Linux only.
type fdTimer struct{ c chan time.Time }

func newFD() (*fdTimer, error)     { return nil, errors.ErrUnsupported }
func (*fdTimer) set(time.Duration) {}
func (*fdTimer) close()            {}
