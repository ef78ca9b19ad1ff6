package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
	"golang.org/x/sys/unix"
)

// sockKind is a socket as the kernel describes it.
type sockKind struct{ domain, typ, proto int }

// openSockets counts this process's sockets by kind.
func openSockets(t *testing.T) map[sockKind]int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := map[sockKind]int{}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		d, err1 := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
		ty, err2 := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
		p, err3 := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
		if err1 != nil || err2 != nil || err3 != nil {
			continue // not a socket
		}
		n[sockKind{d, ty, p}]++
	}
	return n
}

// muxLabTarget is one target of TestLabMux and the path its answers must come from.
type muxLabTarget struct {
	name  string
	cfg   Config
	path  []netip.Addr // who answers TTL 1, 2, …; the last is the target
	p     Prober
	ttlOf map[uint16]int
}

// TestLabMux traces many targets at once through one Mux: in both families, with ICMP, UDP, TCP
// and SCTP, four addresses behind the same path (the destination and three more on its link), a
// router on a shorter path, one address twice, and (UDP, TCP, SCTP) another twice, once in Paris
// mode. The lab's hosts have no SCTP: the destinations and the router answer SCTP's last probe
// with protocol unreachable (IPv6: parameter problem). Every target numbers its probes from 0 like the others, so only the demultiplexer keeps
// them apart: each answer must come from the hop of its own target's path at its probe's TTL,
// and every probe must be answered. The raw sockets must be one per family and protocol (UDP:
// one more per family, for the addresses given twice).
func TestLabMux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 3})
	// More addresses on the destination's link (its interface towards the client is "toclient").
	var extra4, extra6 []netip.Addr
	for i := range 3 {
		a4 := netip.AddrFrom4([4]byte{198, 18, 3, byte(10 + i)})
		b6 := lab.Target6.As16()
		b6[15] = byte(10 + i)
		a6 := netip.AddrFrom16(b6)
		for _, args := range [][]string{{"addr", "add", a4.String() + "/24", "dev", "toclient"},
			{"addr", "add", a6.String() + "/64", "dev", "toclient", "nodad"}} {
			if out, err := exec.Command("ip", append([]string{"-n", lab.Dest()}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("ip %v: %v: %s", args, err, out)
			}
		}
		extra4, extra6 = append(extra4, a4), append(extra6, a6)
	}
	if lab.Target4 != netip.AddrFrom4([4]byte{198, 18, 3, 2}) {
		t.Fatalf("destination %v is not on 198.18.3.0/24: the lab changed", lab.Target4)
	}
	var targets []*muxLabTarget
	for _, proto := range []Protocol{ICMPProbes, UDPProbes, TCPProbes, SCTPProbes} {
		for _, fam := range []struct {
			hops   []netip.Addr
			extras []netip.Addr
		}{{lab.Hops4, extra4}, {lab.Hops6, extra6}} {
			dests := append([]netip.Addr{fam.hops[3], fam.hops[3]}, fam.extras...)
			for i, d := range dests {
				path := append(append([]netip.Addr{}, fam.hops[:3]...), d)
				targets = append(targets, &muxLabTarget{name: fmt.Sprintf("%v %v #%d", proto, d, i), cfg: Config{Target: d, Protocol: proto}, path: path})
			}
			r2 := fam.hops[1]
			targets = append(targets, &muxLabTarget{name: fmt.Sprintf("%v %v (router)", proto, r2), cfg: Config{Target: r2, Protocol: proto}, path: fam.hops[:2]})
			if proto != ICMPProbes {
				// Paris mode: one flow (ports) for every probe, so the payload or the
				// sequence number alone names the probe.
				path := append(append([]netip.Addr{}, fam.hops[:3]...), fam.extras[0])
				targets = append(targets, &muxLabTarget{name: fmt.Sprintf("%v %v (Paris)", proto, fam.extras[0]), cfg: Config{Target: fam.extras[0], Protocol: proto, Paris: true}, path: path})
			}
		}
	}
	before := openSockets(t)
	m := NewMux(MuxOptions{})
	defer m.Close()
	err := lab.Run(func() error {
		for _, tg := range targets {
			p, err := m.Open(tg.cfg)
			if err != nil {
				return fmt.Errorf("%s: %w", tg.name, err)
			}
			if _, ok := p.(*muxProber); !ok {
				return fmt.Errorf("%s: got a %T, not a shared prober", tg.name, p)
			}
			tg.p, tg.ttlOf = p, map[uint16]int{}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after := openSockets(t)
	for kind, want := range map[sockKind]int{
		{unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP}:      3, // ICMP probes, and TCP's and SCTP's errors
		{unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_ICMPV6}:   3,
		{unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_TCP}:       1,
		{unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_TCP}:      1,
		{unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_SCTP}:      1,
		{unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_SCTP}:     1,
		{unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP}:     2, // the destination twice: two sockets
		{unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_UDP}:    2,
		{unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP}:    0, // no ping sockets
		{unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_ICMPV6}: 0,
	} {
		if got := after[kind] - before[kind]; got != want {
			t.Errorf("sockets %+v: %d opened for %d targets; want %d", kind, got, len(targets), want)
		}
	}
	// Room for bursts: root may force the buffer past net.core.rmem_max.
	for _, s := range m.socks {
		var n int
		_ = s.rc.Control(func(fd uintptr) { n, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
		if n < muxRcvBuf {
			t.Errorf("receive buffer %d; want at least %d", n, muxRcvBuf)
		}
	}
	// Three rounds: every target sends its TTLs with sequences from 0, all interleaved.
	seq := uint16(0)
	for round := 0; round < 3; round++ {
		for ttl := 1; ttl <= 4; ttl++ {
			for _, tg := range targets {
				if ttl > len(tg.path) {
					continue
				}
				s := seq + uint16(ttl)
				if _, err := tg.p.Send(s, ttl); err != nil {
					t.Fatalf("%s: send seq %d ttl %d: %v", tg.name, s, ttl, err)
				}
				tg.ttlOf[s] = ttl
			}
		}
		seq += 10
	}
	deadline := time.After(10 * time.Second)
	stampable, unstamped := 0, 0
	for _, tg := range targets {
		for len(tg.ttlOf) > 0 {
			select {
			case r := <-tg.p.Replies():
				ttl, ok := tg.ttlOf[r.Seq]
				if !ok {
					t.Errorf("%s: answer %+v to no probe of its own (a duplicate, or another target's)", tg.name, r)
					continue
				}
				delete(tg.ttlOf, r.Seq)
				if want := tg.path[ttl-1]; r.From != want {
					t.Errorf("%s: seq %d ttl %d answered by %v; want %v", tg.name, r.Seq, ttl, r.From, want)
				}
				last := ttl == len(tg.path)
				wantKind := map[bool]Kind{false: TimeExceeded, true: map[Protocol]Kind{ICMPProbes: EchoReply, UDPProbes: Unreachable, TCPProbes: Reached, SCTPProbes: Reached}[tg.cfg.Protocol]}[last]
				if r.Kind != wantKind {
					t.Errorf("%s: seq %d ttl %d: %v; want %v", tg.name, r.Seq, ttl, r.Kind, wantKind)
				}
				if tg.cfg.Protocol != TCPProbes && tg.cfg.Protocol != SCTPProbes {
					stampable++
					if r.Sent.IsZero() {
						unstamped++
					}
				}
			case <-deadline:
				t.Fatalf("%s: %d probes unanswered: %v", tg.name, len(tg.ttlOf), tg.ttlOf)
			}
		}
	}
	// Kernel send times are TestLabMuxTxStamps's to check; here only that they come at all. A
	// loaded machine loses the odd one (the first probes also wait for neighbour discovery).
	if unstamped*10 > stampable {
		t.Errorf("%d of %d answers without a kernel send time", unstamped, stampable)
	}
	// No answer for one target reached another (each got exactly its own, checked above), and
	// none is left over.
	time.Sleep(100 * time.Millisecond)
	for _, tg := range targets {
		select {
		case r := <-tg.p.Replies():
			t.Errorf("%s: extra answer %+v", tg.name, r)
		default:
		}
	}
	st := m.Stats()
	if st.QueueFull != 0 || st.KernelDrops != 0 {
		t.Errorf("stats %+v: answers dropped", st)
	}
	if st.Demuxed == 0 {
		t.Errorf("stats %+v: nothing counted", st)
	}
	t.Logf("%d targets, stats %+v", len(targets), st)
	// Closing a target releases it only: the others keep their sockets and answers.
	if err := targets[0].p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-targets[0].p.Replies(); ok {
		t.Error("Replies still open after Close")
	}
	if _, err := targets[0].p.Send(1, 1); err == nil {
		t.Error("Send after Close succeeded")
	}
	tg := targets[1]
	if _, err := tg.p.Send(500, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-tg.p.Replies():
		if r.Seq != 500 || r.From != tg.path[0] {
			t.Errorf("after another target closed: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer after another target closed")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := openSockets(t); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("sockets after Close %v; before %v", got, before)
	}
}

// TestLabMuxTOS: the TOS (traffic class) of one target travels with its packets only; the
// others on the socket keep theirs, also after SetTOS.
func TestLabMuxTOS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 3})
	capt, err := lab.Capture()
	if err != nil {
		t.Fatal(err)
	}
	defer capt.Close()
	for _, proto := range []Protocol{ICMPProbes, UDPProbes, TCPProbes, SCTPProbes} {
		for _, target := range []netip.Addr{lab.Target4, lab.Target6} {
			m := NewMux(MuxOptions{})
			var a, b Prober
			err := lab.Run(func() error {
				var err error
				if a, err = m.Open(Config{Target: target, Protocol: proto, TOS: 0x20}); err != nil {
					return err
				}
				b, err = m.Open(Config{Target: target, Protocol: proto})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := capt.Take(); err != nil {
				t.Fatal(err)
			}
			for _, step := range []struct {
				p   Prober
				ttl int
				tos int
			}{{a, 1, -1}, {b, 2, -1}, {a, 3, 0x48}} {
				if step.tos >= 0 {
					if err := step.p.(tunable).SetTOS(step.tos); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := step.p.Send(uint16(step.ttl), step.ttl); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(200 * time.Millisecond)
			pkts, err := capt.Take()
			if err != nil {
				t.Fatal(err)
			}
			got := map[int]int{}
			for _, pk := range pkts {
				d := pk.Data
				if !pk.Out || len(d) < 40 {
					continue
				}
				var ttl, tos int
				var dst netip.Addr
				if d[0]>>4 == 4 {
					ttl, tos, dst = int(d[8]), int(d[1]), netip.AddrFrom4([4]byte(d[16:20]))
				} else {
					ttl, tos, dst = int(d[7]), int(d[0]&0x0f)<<4|int(d[1]>>4), netip.AddrFrom16([16]byte(d[24:40]))
				}
				if dst == target && ttl <= 3 {
					got[ttl] = tos
				}
			}
			if want := map[int]int{1: 0x20, 2: 0, 3: 0x48}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%v to %v: TOS by TTL %v; want %v", proto, target, got, want)
			}
			m.Close()
		}
	}
}

// BenchmarkLabMux sends ICMP probes for N targets at once through one Mux in the lab, as fast as
// the Mux's pace allows (the default, or MTRGO_MUX_RATE), and waits for every answer. It reports
// probes/s, the probes left unanswered (on a clean path: false loss), CPU per 1,000 probes and
// the Mux's drops.
func BenchmarkLabMux(b *testing.B) {
	benchRate := 0 // the default pace; MTRGO_MUX_RATE overrides it, to find the ceiling
	if r, err := strconv.Atoi(os.Getenv("MTRGO_MUX_RATE")); err == nil {
		benchRate = r
	}
	lab := netlab.New(b, netlab.Spec{Routers: 3})
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			m := NewMux(MuxOptions{Rate: benchRate})
			defer m.Close()
			probers := make([]Prober, n)
			paths := make([]int, n)
			err := lab.Run(func() error {
				for i := range probers {
					paths[i] = 1 + i%len(lab.Hops4) // the target is hop paths[i]
					var err error
					if probers[i], err = m.Open(Config{Target: lab.Hops4[paths[i]-1]}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			var answered atomic.Int64
			var wg sync.WaitGroup
			for _, p := range probers {
				wg.Go(func() {
					for range p.Replies() {
						answered.Add(1)
					}
				})
			}
			var ru0, ru1 unix.Rusage
			_ = unix.Getrusage(unix.RUSAGE_SELF, &ru0)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				k := i % n
				seq := uint16(i / n)
				if _, err := probers[k].Send(seq, 1+int(seq)%paths[k]); err != nil {
					b.Fatal(err)
				}
			}
			sendTime := time.Since(start)
			deadline := time.Now().Add(5 * time.Second)
			for answered.Load() < int64(b.N) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			b.StopTimer()
			_ = unix.Getrusage(unix.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			st := m.Stats()
			b.ReportMetric(float64(b.N)/sendTime.Seconds(), "probes/s")
			b.ReportMetric(float64(int64(b.N)-answered.Load()), "lost")
			b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-s/1000probes")
			b.ReportMetric(float64(st.QueueFull+st.KernelDrops), "dropped")
			m.Close()
			wg.Wait()
		})
	}
}

// TestLabMuxPreopen: Preopen opens the shared sockets of both families up front, and targets
// opened later use them (a server drops its privileges in between); UDP targets at one address
// with a fixed local port cannot share it, and say so.
func TestLabMuxPreopen(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	before := openSockets(t)
	m := NewMux(MuxOptions{})
	defer m.Close()
	var afterPre map[sockKind]int
	err := lab.Run(func() error {
		if err := m.Preopen(Config{}, ICMPProbes, UDPProbes, TCPProbes); err != nil {
			return err
		}
		afterPre = openSockets(t)
		for _, proto := range []Protocol{ICMPProbes, UDPProbes, TCPProbes} {
			for _, target := range []netip.Addr{lab.Target4, lab.Target6} {
				if _, err := m.Open(Config{Target: target, Protocol: proto}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for k, n := range afterPre {
		opened += n - before[k]
	}
	if opened != 8 { // per family: ICMP, UDP, raw TCP and the ICMP socket of its errors
		t.Errorf("Preopen opened %d sockets; want 8 (%v)", opened, afterPre)
	}
	if got := openSockets(t); fmt.Sprint(got) != fmt.Sprint(afterPre) {
		t.Errorf("targets opened sockets of their own: %v; after Preopen %v", got, afterPre)
	}
	err = lab.Run(func() error {
		cfg := Config{Target: lab.Target4, Protocol: UDPProbes, LocalPort: 40000}
		if _, err := m.Open(cfg); err != nil {
			return err
		}
		if _, err := m.Open(cfg); err == nil {
			return fmt.Errorf("two UDP targets at %v shared local port 40000", lab.Target4)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A closed Mux opens nothing more.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	err = lab.Run(func() error {
		if _, err := m.Open(Config{Target: lab.Target4}); err == nil {
			return errors.New("a closed Mux opened a target")
		}
		if err := m.Preopen(Config{}); err == nil {
			return errors.New("a closed Mux preopened sockets")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if got := openSockets(t); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("sockets after Close %v; before %v", got, before)
	}
}

// TestLabMuxTxStamps: on a shared socket, two targets sending the same sequences each get their
// own probes' kernel send times: with per-packet keys (slot<<16 | seq), and with the socket's
// counter (kernels before 6.13), which must find its place again after sends that failed (the
// client's firewall drops every probe with TTL 2 after the kernel built it).
func TestLabMuxTxStamps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 3})
	rules := "table inet txtest {\n chain out {\n  type filter hook output priority 0;\n  ip ttl 2 drop\n  ip6 hoplimit 2 drop\n }\n}\n"
	cmd := exec.Command("ip", "netns", "exec", lab.Client, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	for _, tc := range []struct {
		name    string
		target  netip.Addr
		proto   Protocol
		counted bool
	}{
		{"ICMP keyed", lab.Target4, ICMPProbes, false},
		{"ICMP counted", lab.Target4, ICMPProbes, true},
		{"ICMPv6 counted", lab.Target6, ICMPProbes, true},
		{"UDP keyed", lab.Target4, UDPProbes, false},
		{"UDPv6 counted", lab.Target6, UDPProbes, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMux(MuxOptions{})
			defer m.Close()
			var ps []Prober
			err := lab.Run(func() error {
				for _, target := range []netip.Addr{tc.target, lab.Hops4[2]} {
					if tc.target.Is6() {
						target = map[netip.Addr]netip.Addr{tc.target: tc.target, lab.Hops4[2]: lab.Hops6[2]}[target]
					}
					p, err := m.Open(Config{Target: target, Protocol: tc.proto})
					if err != nil {
						return err
					}
					ps = append(ps, p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			s := ps[0].(*muxProber).s
			if s != ps[1].(*muxProber).s {
				t.Fatal("the two targets are not on one socket")
			}
			if tc.counted {
				s.counted.Store(true)
			}
			sent := []map[uint16]time.Time{{}, {}}
			failed := 0
			for seq := uint16(1); seq <= 20; seq++ {
				for i, p := range ps {
					ttl := 1 + int(seq+uint16(i))%3
					at, err := p.Send(seq, ttl)
					if ttl == 2 {
						if !errors.Is(err, syscall.EPERM) {
							t.Fatalf("seq %d TTL 2: got %v; want EPERM from the firewall", seq, err)
						}
						failed++
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					sent[i][seq] = at
					time.Sleep(2 * time.Millisecond) // a stamp of the wrong probe is then ms off
				}
			}
			deadline := time.After(5 * time.Second)
			for i, p := range ps {
				for len(sent[i]) > 0 {
					select {
					case r := <-p.Replies():
						user, ok := sent[i][r.Seq]
						if !ok {
							continue
						}
						delete(sent[i], r.Seq)
						if r.Sent.IsZero() {
							t.Errorf("target %d seq %d: no kernel send time", i, r.Seq)
							continue
						}
						if d := r.Sent.Sub(user); d < 0 || d > 50*time.Millisecond {
							t.Errorf("target %d seq %d: kernel send time %v after the user-space one: another probe's stamp", i, r.Seq, d)
						}
					case <-deadline:
						t.Fatalf("target %d: no answer to %d probes", i, len(sent[i]))
					}
				}
			}
			if failed == 0 {
				t.Error("no send failed")
			}
		})
	}
}

// withoutNetRaw runs fn on this (locked) thread with CAP_NET_RAW out of its effective set, as in
// a process without the privilege: capabilities are per thread, and socket() checks the caller's.
func withoutNetRaw(fn func() error) error {
	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	saved := data
	data[unix.CAP_NET_RAW/32].Effective &^= 1 << (unix.CAP_NET_RAW % 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	err := fn()
	if rerr := unix.Capset(&hdr, &saved[0]); rerr != nil {
		return errors.Join(err, rerr) // the thread stays locked, so it dies with its goroutine
	}
	runtime.UnlockOSThread()
	return err
}

// TestLabMuxFallbacks: without CAP_NET_RAW, Mux.Open falls back as OpenProber does: ICMP to a
// ping socket, TCP to connect(); UDP needs nothing and stays shared. Without ping sockets
// either, ICMP fails with ErrNoPrivilege.
func TestLabMuxFallbacks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	m := NewMux(MuxOptions{})
	defer m.Close()
	var icmpP, tcpP, udpP Prober
	err := lab.Run(func() error {
		return withoutNetRaw(func() error {
			var err error
			if icmpP, err = m.Open(Config{Target: lab.Target4}); err != nil {
				return err
			}
			if tcpP, err = m.Open(Config{Target: lab.Target4, Protocol: TCPProbes}); err != nil {
				return err
			}
			udpP, err = m.Open(Config{Target: lab.Target4, Protocol: UDPProbes})
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    Prober
		want string
	}{{icmpP, "*probe.Dgram"}, {tcpP, "*probe.TCP"}, {udpP, "*probe.muxProber"}} {
		if got := fmt.Sprintf("%T", c.p); got != c.want {
			t.Errorf("got a %s; want a %s", got, c.want)
		}
		if _, ok := c.p.(Sequencer); !ok {
			t.Errorf("%T is no Sequencer", c.p)
		}
	}
	if _, err := icmpP.Send(1, 64); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-icmpP.Replies():
		if r.Kind != EchoReply || r.From != lab.Target4 {
			t.Errorf("ping socket answer %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer on the ping socket")
	}
	if out, err := exec.Command("ip", "netns", "exec", lab.Client, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0").CombinedOutput(); err != nil {
		t.Fatalf("sysctl: %v: %s", err, out)
	}
	err = lab.Run(func() error {
		return withoutNetRaw(func() error {
			_, err := m.Open(Config{Target: lab.Target6})
			return err
		})
	})
	if !errors.Is(err, ErrNoPrivilege) || !errors.Is(err, ErrPermission) {
		t.Errorf("ICMP with neither raw nor ping sockets: %v; want ErrNoPrivilege and ErrPermission", err)
	}
	for _, p := range []Prober{icmpP, tcpP, udpP} {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestLabMuxTCPSourcePorts: two classic TCP targets at one address and port, stepping through
// the same sequences, never send SYNs of one 4-tuple (the destination would see one connection).
func TestLabMuxTCPSourcePorts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 1, TCPOpen: []int{80}})
	capt, err := lab.Capture()
	if err != nil {
		t.Fatal(err)
	}
	defer capt.Close()
	m := NewMux(MuxOptions{})
	defer m.Close()
	var ps []Prober
	err = lab.Run(func() error {
		for range 2 {
			p, err := m.Open(Config{Target: lab.Target4, Protocol: TCPProbes})
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := capt.Take(); err != nil {
		t.Fatal(err)
	}
	answered := []map[uint16]bool{{}, {}}
	for seq := range uint16(20) {
		for _, p := range ps {
			if _, err := p.Send(seq, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.After(5 * time.Second)
	for i, p := range ps {
		for len(answered[i]) < 20 {
			select {
			case r := <-p.Replies():
				if r.Kind == Reached {
					answered[i][r.Seq] = true
				}
			case <-deadline:
				t.Fatalf("target %d: %d of 20 SYNs answered", i, len(answered[i]))
			}
		}
	}
	pkts, err := capt.Take()
	if err != nil {
		t.Fatal(err)
	}
	tuples := map[uint16]int{}
	for _, pk := range pkts {
		d := pk.Data
		if !pk.Out || len(d) < 40 || d[0]>>4 != 4 || d[9] != protoTCP || d[20+13] != tcpFlagSYN {
			continue
		}
		tuples[binary.BigEndian.Uint16(d[20:])]++
	}
	if len(tuples) != 40 {
		t.Errorf("40 SYNs left from %d source ports: %v", len(tuples), tuples)
	}
}
