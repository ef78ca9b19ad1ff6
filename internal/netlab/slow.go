package netlab

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Slow answers (Spec.SlowAnswer): router k's control plane is busy, so the ICMP errors it
// generates leave late, while the packets it forwards do not wait at all.
//
// This kernel has neither netem nor nfqueue in nftables, so the delay is a TUN device. An
// nftables route chain in router k's output hook marks the ICMP errors the router itself
// generates (never neighbour discovery, never forwarded traffic, which does not pass the
// output hook), a policy rule sends marked packets into the TUN device "slow", and a goroutine
// of this process reads each one, holds it for the delay and writes it back into the TUN
// device. The router then receives the kernel's own answer on "slow" and forwards it towards
// the client like any transit packet. What the client gets is the kernel's message, byte for
// byte, but for the TTL or hop limit, one lower for the extra forwarding step.

const (
	ifSlow    = "slow" // the TUN device in a slow router
	slowMark  = 0x51   // marks a router's own ICMP errors for the slow table
	slowTable = 81     // routing table that sends marked packets into ifSlow
	// slowQueue bounds the answers held at once, as a control plane's input queue
	// does: more are dropped. At 1 000 probes/s and a 1 s delay it is still not full.
	slowQueue = 4096
)

// slowRules is the nftables chain of a slow router. A route chain, not a filter chain: only
// there does a new mark make the kernel look up the route again.
const slowRules = `chain slow {
		type route hook output priority mangle; policy accept;
		icmp type { destination-unreachable, time-exceeded, parameter-problem } meta mark set 0x51
		icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } meta mark set 0x51
	}`

// routeSlow routes router ns's marked packets into ifSlow. The sysctls that let the router
// forward its own answers back out are in startSlow.
func routeSlow(ns string) error {
	m, t := strconv.Itoa(slowMark), strconv.Itoa(slowTable)
	if _, err := run("", "ip", "-n", ns, "link", "set", ifSlow, "up"); err != nil {
		return err
	}
	for _, fam := range []string{"-4", "-6"} {
		// ip -batch keeps one family for all its lines, hence a batch per family.
		if _, err := run("rule add fwmark "+m+" lookup "+t+" priority 100\n"+
			"route add default dev "+ifSlow+" table "+t+"\n",
			"ip", fam, "-n", ns, "-batch", "-"); err != nil {
			return err
		}
	}
	return nil
}

// delayer holds the packets read from a TUN device for a fixed time and writes them back.
type delayer struct {
	f     *os.File
	delay time.Duration
	queue chan held
	stop  chan struct{}
	wg    sync.WaitGroup
}

type held struct {
	due time.Time
	pkt []byte
}

// openTUN creates the TUN device name in the calling thread's network namespace. The file
// is non-blocking, so Close ends a pending Read.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("create TUN device %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// startSlow makes router k answer late (see the top of this file).
func (l *Lab) startSlow(k int, delay time.Duration) error {
	ns := l.namespaces[k]
	var f *os.File
	if err := l.RunIn(ns, func() (err error) {
		f, err = openTUN(ifSlow)
		return err
	}); err != nil {
		return err
	}
	d := &delayer{f: f, delay: delay, queue: make(chan held, slowQueue), stop: make(chan struct{})}
	l.slow = append(l.slow, d)
	d.wg.Add(2)
	go d.read()
	go d.write()
	// The answers come back in with the router's own source address, which IPv4 calls a
	// martian unless accept_local; rp_filter is already off in every lab namespace.
	if _, err := run("", "ip", "netns", "exec", ns, "sysctl", "-q", "-w",
		"net.ipv4.conf."+ifSlow+".accept_local=1",
		"net.ipv4.conf."+ifSlow+".rp_filter=0"); err != nil {
		return err
	}
	return routeSlow(ns)
}

func (d *delayer) read() {
	defer d.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			return // closed
		}
		select {
		case d.queue <- held{time.Now().Add(d.delay), append([]byte(nil), buf[:n]...)}:
		default: // queue full: the answer is lost, as in an overloaded control plane
		}
	}
}

// write sends the held packets back in order; with one fixed delay that is also the order of
// their due times.
func (d *delayer) write() {
	defer d.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		var h held
		select {
		case h = <-d.queue:
		case <-d.stop:
			return
		}
		t.Reset(time.Until(h.due))
		select {
		case <-t.C:
		case <-d.stop:
			return
		}
		// An error here means the device is going away with the lab.
		_, _ = d.f.Write(h.pkt)
	}
}

func (d *delayer) close() error {
	close(d.stop)
	err := d.f.Close()
	d.wg.Wait()
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("close TUN device: %w", err)
	}
	return nil
}
