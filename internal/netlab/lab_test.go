package netlab

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// TestMain checks, after all tests, that Close left nothing behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := leftovers(); err != nil {
		fmt.Fprintln(os.Stderr, "netlab leak:", err)
		code = 1
	}
	os.Exit(code)
}

// leftovers reports this process's namespaces, /etc/netns directories and
// dnsmasq children that still exist.
func leftovers() error {
	prefix := namePrefix + strconv.FormatInt(int64(os.Getpid()), 36) + "-"
	var found []string
	for _, dir := range []string{netnsRunDir, etcNetnsDir} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				found = append(found, filepath.Join(dir, e.Name()))
			}
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(dnsmasq") {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			found = append(found, "dnsmasq "+p)
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%v", found)
	}
	return nil
}

// hub is one hop of mtr's --json report.
type hub struct {
	Count int     `json:"count"`
	Host  string  `json:"host"`
	Loss  float64 `json:"Loss%"`
	Snt   int     `json:"Snt"`
	Avg   float64 `json:"Avg"`
	Best  float64 `json:"Best"`
	Wrst  float64 `json:"Wrst"`
	StDev float64 `json:"StDev"`
}

// mtr runs the system's mtr in report mode in the lab's client namespace.
func mtr(t *testing.T, l *Lab, target netip.Addr, args ...string) []hub {
	t.Helper()
	return mtrIn(t, l, l.Client, target, args...)
}

// mtrIn runs the system's mtr in report mode in namespace ns of the lab.
func mtrIn(t *testing.T, l *Lab, ns string, target netip.Addr, args ...string) []hub {
	t.Helper()
	Require(t, Tool("mtr", "mtr-tiny"))
	args = append(append([]string{"--json", "-i", "0.05", "-G", "0.5"}, args...), target.String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := l.CommandIn(ctx, ns, "mtr", args...).Output()
	if err != nil {
		t.Fatalf("mtr %v: %v: %s", args, err, out)
	}
	var rep struct {
		Report struct {
			Hubs []hub `json:"hubs"`
		} `json:"report"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("mtr %v: parse: %v\n%s", args, err, out)
	}
	return rep.Report.Hubs
}

// family runs check for IPv4 and IPv6 at the same time, each in a subtest.
func bothFamilies(t *testing.T, l *Lab, check func(t *testing.T, target netip.Addr, hops []netip.Addr)) {
	t.Run("v4", func(t *testing.T) {
		t.Parallel()
		check(t, l.Target4, l.Hops4)
	})
	t.Run("v6", func(t *testing.T) {
		t.Parallel()
		check(t, l.Target6, l.Hops6)
	})
}

func hosts(hs []hub) []string {
	var s []string
	for _, h := range hs {
		s = append(s, h.Host)
	}
	return s
}

func strs(as ...netip.Addr) []string {
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return s
}

// wantPath fails unless the hops' addresses are want, in order.
func wantPath(t *testing.T, hs []hub, want []string) {
	t.Helper()
	if got := hosts(hs); !slices.Equal(got, want) {
		t.Fatalf("path = %v, want %v", got, want)
	}
}

// wantLoss fails unless hop k's (1-based) loss lies within [lo, hi] %.
func wantLoss(t *testing.T, hs []hub, k int, lo, hi float64) {
	t.Helper()
	if k > len(hs) {
		t.Errorf("hop %d missing (path %v)", k, hosts(hs))
		return
	}
	if l := hs[k-1].Loss; l < lo || l > hi {
		t.Errorf("hop %d (%s) loss = %.1f%%, want %.0f..%.0f%%", k, hs[k-1].Host, l, lo, hi)
	}
}

func TestCleanChain(t *testing.T) {
	t.Parallel()
	l := New(t, Spec{Routers: 5})
	if len(l.Hops4) != 6 || l.Hops4[5] != l.Target4 || l.Hops6[5] != l.Target6 {
		t.Fatalf("Hops4 = %v, Hops6 = %v, targets %v %v", l.Hops4, l.Hops6, l.Target4, l.Target6)
	}
	bothFamilies(t, l, func(t *testing.T, target netip.Addr, want []netip.Addr) {
		hs := mtr(t, l, target, "-n", "-c", "10")
		wantPath(t, hs, strs(want...))
		for k := range hs {
			wantLoss(t, hs, k+1, 0, 0)
		}
	})
}

// tcpMu keeps mtr's TCP runs in one lab one at a time (see TestFaults).
var tcpMu sync.Mutex

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spec  Spec
		check func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr)
	}{
		{
			name: "ICMP throttled at hop 2 shows loss there only",
			spec: Spec{Throttle: map[int]int{2: 50}},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				hs := mtr(t, l, target, "-n", "-c", "50")
				wantPath(t, hs, strs(hops...))
				for k := range hs {
					if k+1 == 2 {
						wantLoss(t, hs, 2, 20, 80) // 50 % ± >4 standard deviations
					} else {
						wantLoss(t, hs, k+1, 0, 0)
					}
				}
			},
		},
		{
			// Echo replies, port unreachables, RSTs and SYN-ACKs are each
			// the destination's own answer, so each probe kind loses them.
			name: "destination throttling 50 % shows loss at the destination only",
			spec: Spec{ThrottleDest: 50, TCPOpen: []int{443}},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				for _, mode := range [][]string{
					nil, {"-u"},
					// mtr's TCP probes are connect()s: the client's kernel
					// retransmits a SYN whose RST or SYN-ACK was dropped, and
					// the answer to that could still count; -Z 1 closes the
					// socket before the retransmission at 1 s. Port 80
					// answers RST, 443 SYN-ACK.
					{"-Z", "1", "-T", "-P", "80"}, {"-Z", "1", "-T", "-P", "443"},
				} {
					// Run side by side in the one client namespace, the two
					// families' mtr -T to the open port lost 2-16 % of the
					// routers' answers over IPv6 in one run of three (never
					// alone, five runs): one at a time.
					hs := func() []hub {
						if slices.Contains(mode, "-T") {
							tcpMu.Lock()
							defer tcpMu.Unlock()
						}
						return mtr(t, l, target, append([]string{"-n", "-c", "50"}, mode...)...)
					}()
					wantPath(t, hs, strs(hops...))
					t.Logf("mtr %v: destination loss %.0f%%", mode, hs[len(hs)-1].Loss)
					for k := 1; k < len(hs); k++ {
						wantLoss(t, hs, k, 0, 0)
					}
					wantLoss(t, hs, len(hs), 20, 80) // 50 % ± >4 standard deviations
				}
			},
		},
		{
			name: "real loss from hop 3 shows on every later hop",
			spec: Spec{LossFrom: 3, LossPercent: 30},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				hs := mtr(t, l, target, "-n", "-c", "50")
				wantPath(t, hs, strs(hops...))
				wantLoss(t, hs, 1, 0, 0)
				wantLoss(t, hs, 2, 0, 0)
				for k := 3; k <= len(hs); k++ {
					wantLoss(t, hs, k, 2, 70)
				}
			},
		},
		{
			name: "silent destination",
			spec: Spec{SilentDest: true},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				hs := mtr(t, l, target, "-n", "-c", "5", "-m", "8")
				wantPath(t, hs, append(strs(hops[:5]...), "???"))
				wantLoss(t, hs, 6, 100, 100)
			},
		},
		{
			name: "loop between hops 2 and 3",
			spec: Spec{Loop: 3},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				hs := mtr(t, l, target, "-n", "-c", "5", "-m", "8")
				a, b := hops[1].String(), hops[2].String()
				wantPath(t, hs, []string{hops[0].String(), a, b, a, b, a, b, a})
			},
		},
		{
			name: "loop at the last router",
			spec: Spec{Loop: 5},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				hs := mtr(t, l, target, "-n", "-c", "5", "-m", "8")
				a, b := hops[3].String(), hops[4].String()
				wantPath(t, hs, append(strs(hops[:3]...), a, b, a, b, a))
			},
		},
		{
			name: "dead node at hop 3",
			spec: Spec{Dead: 3},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				hs := mtr(t, l, target, "-n", "-c", "5", "-m", "8")
				wantPath(t, hs, append(strs(hops[:3]...), "???"))
				wantLoss(t, hs, 3, 0, 0)
				wantLoss(t, hs, 4, 100, 100)
			},
		},
		{
			name: "no route at hop 3",
			spec: Spec{NoRoute: 3},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				// Router 3 answers every probe that reaches it with the
				// unreachable, even those expiring there: the route lookup
				// comes before the TTL check. Probe before mtr runs: IPv4's
				// answers are rate limited by a host-wide kernel limiter.
				for _, ttl := range []int{3, 4, 64} {
					from, typ, code := probe(t, l, target, ttl)
					var want icmp.Type = ipv4.ICMPTypeDestinationUnreachable
					if target.Is6() {
						want = ipv6.ICMPTypeDestinationUnreachable
					}
					if from != hops[2] || typ != want || code != 0 {
						t.Errorf("TTL %d: answer from %v: %v code %d, want %v: %v code 0", ttl, from, typ, code, hops[2], want)
					}
				}
				hs := mtr(t, l, target, "-n", "-c", "5", "-m", "8")
				wantPath(t, hs, strs(hops[:3]...))
			},
		},
		{
			name: "reject at hop 3",
			spec: Spec{Reject: 3},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				// Hop 3 answers time-exceeded, hop 4 is router 3's
				// unreachable, where mtr stops.
				hs := mtr(t, l, target, "-n", "-c", "20", "-m", "8")
				wantPath(t, hs, append(strs(hops[:3]...), hops[2].String()))
				wantLoss(t, hs, 3, 0, 0)
				wantLoss(t, hs, 4, 0, 0)
				from, typ, _ := probe(t, l, target, 3)
				if from != hops[2] || (typ != ipv4.ICMPTypeTimeExceeded && typ != ipv6.ICMPTypeTimeExceeded) {
					t.Errorf("TTL 3: answer from %v: %v, want time exceeded from %v", from, typ, hops[2])
				}
				for range 10 { // more than any rate limiter's burst
					from, typ, code := probe(t, l, target, 64)
					if from != hops[2] || (typ != ipv4.ICMPTypeDestinationUnreachable && typ != ipv6.ICMPTypeDestinationUnreachable) || code != 0 {
						t.Fatalf("answer from %v: %v code %d, want unreachable code 0 from %v", from, typ, code, hops[2])
					}
				}
			},
		},
		{
			name: "no route at the last router",
			spec: Spec{NoRoute: 5},
			check: func(t *testing.T, l *Lab, target netip.Addr, hops []netip.Addr) {
				from, _, code := probe(t, l, target, 64)
				if from != hops[4] || code != 0 {
					t.Errorf("answer from %v code %d, want %v code 0", from, code, hops[4])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := New(t, tt.spec)
			bothFamilies(t, l, func(t *testing.T, target netip.Addr, hops []netip.Addr) {
				tt.check(t, l, target, hops)
			})
		})
	}
}

// probe sends one ICMP echo request with the given TTL from the client
// namespace (through Run) and returns who answered, with what.
func probe(t *testing.T, l *Lab, target netip.Addr, ttl int) (from netip.Addr, typ icmp.Type, code int) {
	t.Helper()
	return probeFrom(t, l, l.Client, target, ttl)
}

// probeFrom is probe sent from namespace ns of the lab.
func probeFrom(t *testing.T, l *Lab, ns string, target netip.Addr, ttl int) (from netip.Addr, typ icmp.Type, code int) {
	t.Helper()
	network, listen, proto := "ip4:icmp", "0.0.0.0", 1
	var echo icmp.Type = ipv4.ICMPTypeEcho
	if target.Is6() {
		network, listen, proto = "ip6:ipv6-icmp", "::", 58
		echo = ipv6.ICMPTypeEchoRequest
	}
	var c *icmp.PacketConn
	if err := l.RunIn(ns, func() error {
		var err error
		c, err = icmp.ListenPacket(network, listen)
		return err
	}); err != nil {
		t.Fatalf("open ICMP socket in namespace %s: %v", ns, err)
	}
	defer c.Close()
	if target.Is6() {
		if err := c.IPv6PacketConn().SetHopLimit(ttl); err != nil {
			t.Fatal(err)
		}
	} else if err := c.IPv4PacketConn().SetTTL(ttl); err != nil {
		t.Fatal(err)
	}
	id := os.Getpid() & 0xffff
	msg := icmp.Message{Type: echo, Body: &icmp.Echo{ID: id, Seq: ttl, Data: []byte("netlab")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo(b, &net.IPAddr{IP: target.AsSlice()}); err != nil {
		t.Fatalf("send echo to %v: %v", target, err)
	}
	if err := c.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	for {
		n, peer, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no answer to TTL %d echo to %v: %v", ttl, target, err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		switch m.Type {
		case ipv4.ICMPTypeEchoReply, ipv4.ICMPTypeTimeExceeded, ipv4.ICMPTypeDestinationUnreachable,
			ipv6.ICMPTypeEchoReply, ipv6.ICMPTypeTimeExceeded, ipv6.ICMPTypeDestinationUnreachable:
		default:
			continue // neighbour discovery and the like
		}
		a, _ := netip.AddrFromSlice(peer.(*net.IPAddr).IP)
		return a.Unmap(), m.Type, m.Code
	}
}

func TestDNS(t *testing.T) {
	t.Parallel()
	l := New(t, Spec{Routers: 3, DNS: true})

	t.Run("mtr shows names", func(t *testing.T) {
		hs := mtr(t, l, l.Target4, "-c", "1")
		wantPath(t, hs, []string{"r1.lab.test", "r2.lab.test", "r3.lab.test", "dest.lab.test"})
	})
	t.Run("libc resolver in the client namespace", func(t *testing.T) {
		for _, a := range []netip.Addr{l.Hops4[1], l.Hops6[1], l.Target6} {
			out, err := l.Command(context.Background(), "getent", "hosts", a.String()).Output()
			if err != nil {
				t.Fatalf("getent hosts %v: %v", a, err)
			}
			if f := strings.Fields(string(out)); len(f) < 2 || f[1] != l.Names[a] {
				t.Errorf("getent hosts %v = %q, want %s", a, out, l.Names[a])
			}
		}
	})
	t.Run("hosts file has only localhost", func(t *testing.T) {
		out, err := l.Command(context.Background(), "cat", "/etc/hosts").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !strings.Contains(line, "localhost") {
				t.Errorf("unexpected /etc/hosts line %q", line)
			}
		}
	})
	t.Run("Go resolver", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		names, err := l.Resolver().LookupAddr(ctx, l.Hops6[2].String())
		if err != nil || len(names) != 1 || names[0] != "r3.lab.test." {
			t.Errorf("LookupAddr(%v) = %v, %v; want [r3.lab.test.]", l.Hops6[2], names, err)
		}
		if _, err := l.Resolver().LookupAddr(ctx, "198.18.77.1"); err == nil {
			t.Error("unknown lab address resolved")
		}
	})
	t.Run("AS records", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for name, want := range map[string]string{
			// r2's address, l.Hops4[1] = 198.18.1.2.
			"2.1.18.198.origin.asn.cymru.com": "64502 | 198.18.1.0/24 | ZZ | other | 2026-01-01",
			// The destination, 2001:db8:3::2 (top 64 bits only).
			"0.0.0.0.3.0.0.0.8.b.d.0.1.0.0.2.origin6.asn.cymru.com": "64999 | 2001:db8:3::/64 | ZZ | other | 2026-01-01",
			"AS64501.asn.cymru.com":                                 "64501 | ZZ | other | 2026-01-01 | LAB-CARRIER-1",
		} {
			txt, err := l.Resolver().LookupTXT(ctx, name)
			if err != nil || len(txt) != 1 || txt[0] != want {
				t.Errorf("TXT %s = %q, %v; want %q", name, txt, err, want)
			}
		}
		if l.AS[l.Hops4[1]] != 64502 || l.AS[l.Target6] != 64999 || l.ASNames[64503] != "LAB-CARRIER-3" {
			t.Errorf("AS = %v, names %v", l.AS, l.ASNames)
		}
		if _, err := l.Resolver().LookupTXT(ctx, "9.9.9.9.origin.asn.cymru.com"); err == nil {
			t.Error("unknown address has an AS record")
		}
	})
}

func TestRun(t *testing.T) {
	t.Parallel()
	l := New(t, Spec{Routers: 1})
	var names []string
	if err := l.Run(func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"lo", ifDest}) {
		t.Errorf("interfaces inside Run = %v, want [lo %s]", names, ifDest)
	}
	if _, err := net.InterfaceByName(ifDest); err == nil {
		t.Errorf("%s visible after Run: the thread did not switch back", ifDest)
	}
	// Run nests: an inner Run restores the outer namespace.
	if err := l.Run(func() error {
		if err := l.RunIn(l.Dest(), func() error { return nil }); err != nil {
			return err
		}
		_, err := net.InterfaceByName(ifDest)
		return err
	}); err != nil {
		t.Errorf("nested Run: %v", err)
	}
	if from, _, _ := probe(t, l, l.Target6, 64); from != l.Target6 {
		t.Errorf("echo to %v answered by %v", l.Target6, from)
	}
}

// TestTwoLabsAtOnce builds labs concurrently, as parallel tests of different
// packages do, and traces through both at the same time.
func TestTwoLabsAtOnce(t *testing.T) {
	t.Parallel()
	// Skipping is only possible from the test's goroutine, not from the builders below.
	Require(t, func() error { return AvailableFor(Spec{DNS: true}) })
	labs := make([]*Lab, 2)
	var wg sync.WaitGroup
	for i := range labs {
		wg.Go(func() { labs[i] = New(t, Spec{Routers: 2 + i, DNS: true}) })
	}
	wg.Wait()
	for _, l := range labs {
		if l == nil {
			t.FailNow()
		}
	}
	if a, b := labs[0].Namespaces(), labs[1].Namespaces(); slices.ContainsFunc(a, func(ns string) bool { return slices.Contains(b, ns) }) {
		t.Fatalf("namespaces collide: %v %v", a, b)
	}
	for i, l := range labs {
		t.Run(fmt.Sprint(l.Spec.Routers, "routers"), func(t *testing.T) {
			t.Parallel()
			hs := mtr(t, l, l.Target4, "-n", "-c", "3")
			wantPath(t, hs, strs(labs[i].Hops4...))
		})
	}
}

// TestLeftovers plays a crashed earlier run: its namespaces, with a process
// still inside, must not stop new labs from being built.
func TestLeftovers(t *testing.T) {
	Require(t, Available)
	// A namespace of a dead process (pid beyond any pid_max), with a child
	// running in it and an /etc/netns directory.
	dead := namePrefix + strconv.FormatInt(1<<23, 36) + "-0c"
	if err := addNamespace(dead); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(etcNetnsDir, dead), 0o755); err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("ip", "netns", "exec", dead, "sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { sleep.Wait(); close(done) }()

	sweepLeftovers()
	select {
	case <-done:
	case <-time.After(15 * time.Second): // generous: other labs may be building on a busy machine
		t.Error("process in the leftover namespace still runs")
	}
	for _, p := range []string{filepath.Join(netnsRunDir, dead), filepath.Join(etcNetnsDir, dead)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived the sweep", p)
		}
	}

	// A namespace with the very name the next lab will use (our pid reused
	// after the sweep ran).
	next := namePrefix + strconv.FormatInt(int64(os.Getpid()), 36) + "-" + strconv.FormatUint(labCounter.Load(), 36) + "r1"
	if err := addNamespace(next); err != nil {
		t.Fatal(err)
	}
	l := New(t, Spec{Routers: 1})
	if l.Router(1) != next {
		t.Fatalf("lab router 1 = %s, want %s (the name the test occupied)", l.Router(1), next)
	}
}

// TestShortBuildsNoLab: go test -short is the unit tests only, so New must skip before it
// creates anything, even as root and even where a lab is required.
func TestShortBuildsNoLab(t *testing.T) {
	was := flag.Lookup("test.short").Value.String()
	t.Cleanup(func() { flag.Set("test.short", was) })
	if err := flag.Set("test.short", "true"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MTRGO_LAB", "require")
	t.Setenv("CI", "true")
	before := labCounter.Load()
	checked, reached := false, false
	t.Run("require", func(t *testing.T) {
		Require(t, func() error { checked = true; return nil })
		reached = true
	})
	t.Run("new", func(t *testing.T) {
		New(t, Spec{Routers: 1})
		reached = true
	})
	if checked || reached {
		t.Errorf("under -short: check ran %v, test went on %v; want both skipped", checked, reached)
	}
	if n := labCounter.Load(); n != before {
		t.Errorf("under -short New built %d labs", n-before)
	}
	if err := leftovers(); err != nil {
		t.Error(err)
	}
}
