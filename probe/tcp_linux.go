package probe

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// TCP sends TCP SYN probes the unprivileged way (TCPRaw is used where raw sockets are allowed):
// every probe is a non-blocking connect() from a fresh socket with the probe's TTL, so the kernel
// builds the SYN. A router's time exceeded aborts the connect at once and, with IP_RECVERR,
// leaves the ICMP error (and the router's address) on that socket's error queue; a SYN-ACK
// (connect succeeds) or a RST (ECONNREFUSED) means the destination was reached. One socket per
// probe makes matching trivial.
//
// The kernel retransmits an unanswered SYN, with the same TTL and ports, after its initial
// retransmission timeout (1 s on Linux, and TCP_SYNCNT cannot be 0), and an answer to the
// retransmission cannot be told from one to the probe. So an answer counts only if TCP_INFO
// says no SYN of the socket was retransmitted by the time it is read; otherwise the probe is
// lost. The limit this leaves: without raw sockets, TCP probes see no answer slower than about
// 1 s (the loss of such a hop shows as loss, never as a 1 s or 3 s round trip).
type TCP struct {
	cfg    Config
	is6    bool
	family string
	local  netip.Addr
	dst    unix.Sockaddr

	parisPort int // Paris mode: the one source port of every probe

	mu     sync.Mutex
	closed bool
	open   map[*os.File]struct{} // sockets of probes still waiting
	tos    int

	wg        sync.WaitGroup
	replies   chan Reply
	done      chan struct{}
	closeOnce sync.Once
}

// OpenTCP returns a TCP prober for cfg.Target; the port defaults to 80 (mtr's default).
func OpenTCP(cfg Config) (*TCP, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if cfg.Port == 0 {
		cfg.Port = defaultTCP
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	t := &TCP{cfg: cfg, is6: cfg.Target.Is6(), family: "TCPv4", tos: cfg.TOS,
		open: make(map[*os.File]struct{}), replies: make(chan Reply, repliesBuffer), done: make(chan struct{})}
	if t.is6 {
		t.family = "TCPv6"
	}
	if cfg.Interface != "" && !cfg.Source.IsValid() {
		if t.cfg.Source, err = interfaceAddr(cfg.Interface, t.is6); err != nil {
			return nil, err
		}
	}
	t.dst = sockaddr(netip.AddrPortFrom(cfg.Target, uint16(cfg.Port)))
	t.local = t.cfg.Source
	if !t.local.IsValid() {
		t.local, _ = kernelSource(cfg.Target)
	}
	// Fail now, not at the first probe, if such sockets cannot be made here at all. In Paris
	// mode this socket also draws the source port all probes will share.
	fd, err := t.socket(64, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s socket: %w", t.family, err)
	}
	defer unix.Close(fd)
	if cfg.Paris {
		if t.parisPort, err = boundPort(fd, t.is6); err != nil {
			return nil, fmt.Errorf("open %s socket: source port: %w", t.family, err)
		}
	}
	return t, nil
}

// boundPort binds fd to a port of the kernel's choice (if not bound yet) and returns it.
func boundPort(fd int, is6 bool) (int, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, err
	}
	if p := sockaddrAddrPort(sa).Port(); p != 0 {
		return int(p), nil
	}
	var any unix.Sockaddr = &unix.SockaddrInet4{}
	if is6 {
		any = &unix.SockaddrInet6{}
	}
	if err := unix.Bind(fd, any); err != nil {
		return 0, err
	}
	if sa, err = unix.Getsockname(fd); err != nil {
		return 0, err
	}
	return int(sockaddrAddrPort(sa).Port()), nil
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	if z := ap.Addr().Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa
}

// socket makes one probe socket: TTL, error queue, TOS, interface and source bound.
func (t *TCP) socket(ttl, tos int) (int, error) {
	af := unix.AF_INET
	if t.is6 {
		af = unix.AF_INET6
	}
	fd, err := unix.Socket(af, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := t.setup(fd, ttl, tos); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (t *TCP) setup(fd, ttl, tos int) error {
	var err error
	if t.is6 {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, ttl)
	} else {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, ttl)
	}
	if err != nil {
		return fmt.Errorf("TTL %d: %w", ttl, err)
	}
	opts := optsFor(t.cfg)
	opts.recvErr, opts.tos, opts.iface = true, tos, "" // the interface is bound below, after the options that need none
	if err := opts.apply(fd); err != nil {
		return err
	}
	// Answers after the first retransmission never count (see TCP), so one is plenty: the
	// kernel then gives the probe up at about 3 s instead of after the default six.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_SYNCNT, 1); err != nil {
		return fmt.Errorf("SYN count: %w", err)
	}
	// A probe is over once answered: closing must send a RST, not leave TIME_WAIT behind.
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		return fmt.Errorf("linger: %w", err)
	}
	if t.cfg.Interface != "" {
		if err := unix.BindToDevice(fd, t.cfg.Interface); err != nil {
			return fmt.Errorf("bind to interface %s: %w", t.cfg.Interface, err)
		}
	}
	if t.cfg.Paris {
		// Every probe is the same flow: same source port (shared through SO_REUSEADDR).
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fmt.Errorf("reuse address: %w", err)
		}
	}
	src := t.cfg.Source
	if !src.IsValid() && t.parisPort != 0 {
		src = netip.IPv4Unspecified()
		if t.is6 {
			src = netip.IPv6Unspecified()
		}
	}
	if src.IsValid() {
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(src, uint16(t.parisPort)))); err != nil {
			return fmt.Errorf("bind to %s: %w", netip.AddrPortFrom(src, uint16(t.parisPort)), err)
		}
	}
	return nil
}

// freeFlow makes room for a Paris probe: the kernel allows one connect per flow, so probes of
// the flow still waiting (by then silent hops, whose answers would already be late) are given up,
// and their sockets closed.
func (t *TCP) freeFlow() {
	t.mu.Lock()
	for f := range t.open {
		_ = f.SetWriteDeadline(time.Now())
	}
	t.mu.Unlock()
	for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		t.mu.Lock()
		n := len(t.open)
		t.mu.Unlock()
		if n == 0 {
			return
		}
	}
}

// Send starts one connect with this TTL. The source port is the kernel's choice, a new one per
// probe, so consecutive probes are different flows (classic mode).
func (t *TCP) Send(seq uint16, ttl int) (time.Time, error) {
	if err := checkTTL(t.family+" probe", seq, ttl); err != nil {
		return time.Time{}, err
	}
	t.mu.Lock()
	tos := t.tos
	t.mu.Unlock()
	var fd int
	var now time.Time
	for try := 0; ; try++ {
		var err error
		if fd, err = t.socket(ttl, tos); err != nil {
			return time.Now(), fmt.Errorf("send %s probe seq %d: %w", t.family, seq, err)
		}
		now = time.Now()
		err = unix.Connect(fd, t.dst)
		if err == nil || err == unix.EINPROGRESS {
			break
		}
		unix.Close(fd)
		if t.cfg.Paris && try == 0 && (err == unix.EADDRNOTAVAIL || err == unix.EADDRINUSE) {
			t.freeFlow()
			continue
		}
		return now, fmt.Errorf("send %s probe seq %d ttl %d: %w", t.family, seq, ttl, err)
	}
	// os.NewFile registers the non-blocking socket with Go's poller, so waiting for the answer
	// costs a parked goroutine, not a thread.
	f := os.NewFile(uintptr(fd), "tcp-probe")
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		f.Close()
		return now, fmt.Errorf("send %s probe seq %d: %w", t.family, seq, os.ErrClosed)
	}
	t.open[f] = struct{}{}
	t.wg.Add(1)
	t.mu.Unlock()
	go t.wait(f, seq, now)
	return now, nil
}

// wait waits for one probe's outcome and reports it.
func (t *TCP) wait(f *os.File, seq uint16, sent time.Time) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.open, f)
		t.mu.Unlock()
		f.Close()
	}()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = f.SetWriteDeadline(sent.Add(t.cfg.Timeout))
	var r Reply
	var answered bool
	werr := rc.Write(func(fd uintptr) bool {
		var over bool
		r, answered, over = t.outcome(int(fd))
		return over
	})
	if werr != nil || !answered {
		return // timed out, closed, or failed without an answer
	}
	if r.At.IsZero() {
		r.At = time.Now()
	}
	r.Seq = seq
	select {
	case t.replies <- r:
	case <-t.done:
	}
}

// outcome looks at a probe socket once. over is false while the connect is in progress;
// answered says whether the probe drew an answer (r) that counts.
func (t *TCP) outcome(fd int) (r Reply, answered, over bool) {
	r, answered, over = t.answer(fd)
	if answered && retransmitted(fd) {
		return Reply{}, false, true
	}
	return r, answered, over
}

// retransmitted reports whether the kernel sent the probe's SYN again: then the answer may be
// to the retransmission, sent a second or more after the probe, and must not count as the
// probe's. A socket whose TCP_INFO cannot be read counts as retransmitted.
func retransmitted(fd int) bool {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	return err != nil || info.Total_retrans != 0 || info.Retransmits != 0
}

// answer is what the socket says about its probe, retransmitted or not.
func (t *TCP) answer(fd int) (r Reply, answered, over bool) {
	// An ICMP error (from a router, or an unreachable from anywhere) is on the error queue.
	buf := make([]byte, 512)
	oob := make([]byte, 512)
	_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if err == nil {
		if q, ok := parseErrCmsgs(oob[:oobn]); ok {
			return Reply{From: q.from, Kind: q.kind, Code: q.code, At: receiveTime(time.Now(), q.at)}, true, true
		}
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return Reply{}, false, true
	}
	switch soerr {
	case 0:
		if _, err := unix.Getpeername(fd); err != nil {
			return Reply{}, false, false // still connecting
		}
		return Reply{From: t.cfg.Target, Kind: Reached}, true, true // SYN-ACK
	case int(unix.ECONNREFUSED):
		return Reply{From: t.cfg.Target, Kind: Reached}, true, true // RST
	}
	// Any other error without a queued ICMP message (e.g. the SYN retries ran out) ends the
	// probe unanswered.
	return Reply{}, false, true
}

// SetSize does nothing useful for TCP (the kernel builds SYNs without payload, and mtr ignores
// -s for TCP too); it validates like the other probers so the UI behaves the same.
func (t *TCP) SetSize(size int) error {
	_, err := checkSize(size)
	return err
}

// SetPattern validates like the other probers; SYNs carry no payload.
func (t *TCP) SetPattern(pattern int) error {
	if pattern < 0 {
		return fmt.Errorf("probe: bit pattern %d is negative", pattern)
	}
	return nil
}

// SetTOS changes the TOS / traffic class of the following probes.
func (t *TCP) SetTOS(tos int) error {
	if tos < 0 || tos > 255 {
		return fmt.Errorf("probe: TOS %d out of range 0..255", tos)
	}
	t.mu.Lock()
	t.tos = tos
	t.mu.Unlock()
	return nil
}

// Sequences: every probe has a socket of its own, so all 65536 are told apart (the Mux's
// fallback promises every prober says so).
func (t *TCP) Sequences() int { return 1 << 16 }

// Replies delivers the answers; closed after Close.
func (t *TCP) Replies() <-chan Reply { return t.replies }

// LocalAddr is the source address in use (zero if unknown).
func (t *TCP) LocalAddr() netip.Addr { return t.local }

// Close aborts the probes still waiting and waits for them; Replies is closed when it returns.
func (t *TCP) Close() error {
	t.closeOnce.Do(func() {
		close(t.done)
		t.mu.Lock()
		t.closed = true
		for f := range t.open {
			_ = f.SetWriteDeadline(time.Now()) // wakes the waiter; it closes the file
		}
		t.mu.Unlock()
		t.wg.Wait()
		close(t.replies)
	})
	return nil
}
