// Command mtr-go-packet is mtr-go's privileged half: it speaks mtr-packet's protocol (mtr 0.95)
// on stdin and stdout, so mtr-go or mtr itself (MTR_PACKET=mtr-go-packet mtr ...) can drive it.
// It opens its raw sockets, drops every privilege, and only then reads a command; it exits once
// stdin is closed and every probe in flight is resolved.
package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mtr-go/mtr-go/internal/mtrpacket"
	"github.com/mtr-go/mtr-go/internal/privs"
	"github.com/mtr-go/mtr-go/probe"
)

func main() {
	os.Exit(run())
}

func run() int {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: mtr-go-packet (commands on stdin, replies on stdout; see mtr-packet(8))")
		return 1
	}
	mux := probe.NewMux(probe.MuxOptions{})
	defer mux.Close()
	// Every protocol's shared sockets of both families now, while the raw ones may still be
	// opened. Without the privilege they fail, and each probe falls back to what an ordinary
	// user may open (ping sockets, UDP, connect) or answers permission-denied, as mtr-packet's
	// fallbacks do.
	_ = mux.Preopen(probe.Config{}, probe.ICMPProbes, probe.UDPProbes, probe.TCPProbes, probe.SCTPProbes)
	if err := privs.Drop(); err != nil {
		fmt.Fprintf(os.Stderr, "mtr-go-packet: cannot drop privileges: %v\n", err)
		return 1
	}
	s := &mtrpacket.Server{Open: mux.Open, Families: map[int]bool{4: hasFamily(unix.AF_INET), 6: hasFamily(unix.AF_INET6)}}
	if err := s.Serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "mtr-go-packet: %v\n", err)
		return 1
	}
	return 0
}

// hasFamily reports whether the kernel has this address family (IPv6 may be compiled out or
// disabled at boot).
func hasFamily(af int) bool {
	fd, err := unix.Socket(af, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return !errors.Is(err, unix.EAFNOSUPPORT)
	}
	unix.Close(fd)
	return true
}
