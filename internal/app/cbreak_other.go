//go:build !linux

package app

import "io"

// cbreak leaves the terminal alone where mtr-go has no termios code: keys then need Enter.
func cbreak(io.Reader) func() { return func() {} }
