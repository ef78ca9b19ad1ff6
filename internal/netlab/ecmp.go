package netlab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
)

// ECMP: router k (Spec.ECMP) reaches everything behind it over two equal-cost paths, the chain's
// router k+1 and a parallel router "r(k+1)b" that joins the chain again at router k+2:
//
//	… — rk ——— r(k+1) ——— r(k+2) — …
//	     \                  /
//	      ——— r(k+1)b ——————
//
// rk hashes on the L4 five-tuple read from the headers (fib_multipath_hash_policy=3), as routers
// balancing real traffic do, so a probe's path depends on its ports: classic UDP/TCP probes, whose ports change, show
// both routers at hop k+1; probes that keep one flow show one. ICMP echo has no ports and always
// takes one branch. The parallel router's links use 198.19.0.0/24 and 198.19.1.0/24
// (2001:db8:1000::/64 and 2001:db8:1001::/64), still inside the lab's ranges.

// Interfaces of the parallel branch: on rk towards the parallel router, and on r(k+2) from it.
const (
	ifToECMP   = "toecmp"
	ifFromECMP = "fromecmp"
)

// ecmpAddr4/6 are the ends of the parallel router's two links: link 0 joins rk (left) to the
// parallel router (right), link 1 joins the parallel router (left) to r(k+2) (right).
func ecmpAddr4(link int, right bool) netip.Addr {
	host := byte(1)
	if right {
		host = 2
	}
	return netip.AddrFrom4([4]byte{198, 19, byte(link), host})
}

func ecmpAddr6(link int, right bool) netip.Addr {
	a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x10, byte(link)}
	a[15] = 1
	if right {
		a[15] = 2
	}
	return netip.AddrFrom16(a)
}

// Parallel returns the namespace name of the parallel router, or "" without Spec.ECMP.
func (l *Lab) Parallel() string { return l.parallel }

// buildECMP creates the parallel router's namespace and its two veths; addresses and routes
// come with the other namespaces' configuration (nsConfig, ecmpConfig).
func (l *Lab) buildECMP() error {
	k := l.Spec.ECMP
	if err := addNamespace(l.parallel); err != nil {
		return err
	}
	args := append([]string{"netns", "exec", l.parallel, "sysctl", "-q", "-w"}, commonSysctls...)
	args = append(args, routerSysctls...)
	if _, err := run("", "ip", args...); err != nil {
		return err
	}
	if _, err := run("", "ip", "-n", l.namespaces[k], "link", "add", ifToECMP, "type", "veth", "peer", "name", ifClient, "netns", l.parallel); err != nil {
		return err
	}
	_, err := run("", "ip", "-n", l.parallel, "link", "add", ifDest, "type", "veth", "peer", "name", ifFromECMP, "netns", l.namespaces[k+2])
	return err
}

// ecmpConfig is the parallel router's `ip -batch`: everything ahead through r(k+2), the
// client's side back through rk, answering from its rk-facing address like every router here.
func (l *Lab) ecmpConfig() []string {
	k := l.Spec.ECMP
	lines := []string{"link set lo up",
		"link set " + ifClient + " up",
		fmt.Sprintf("addr add %s/24 dev %s", ecmpAddr4(0, true), ifClient),
		fmt.Sprintf("addr add %s/64 dev %s nodad", ecmpAddr6(0, true), ifClient),
		"link set " + ifDest + " up",
		fmt.Sprintf("addr add %s/24 dev %s", ecmpAddr4(1, false), ifDest),
		fmt.Sprintf("addr add %s/64 dev %s nodad", ecmpAddr6(1, false), ifDest),
		fmt.Sprintf("route add default via %s", ecmpAddr4(1, true)),
		fmt.Sprintf("route add ::/0 via %s", ecmpAddr6(1, true)),
	}
	for j := 0; j < k; j++ {
		lines = append(lines,
			fmt.Sprintf("route add %s via %s src %s", linkPrefix4(j), ecmpAddr4(0, false), ecmpAddr4(0, true)),
			fmt.Sprintf("route add %s via %s src %s", linkPrefix6(j), ecmpAddr6(0, false), ecmpAddr6(0, true)))
	}
	return lines
}

// ecmpRouterLines adds the parallel branch's interface to router i when it is one of its ends.
func (l *Lab) ecmpRouterLines(i int) []string {
	k := l.Spec.ECMP
	switch {
	case k == 0:
		return nil
	case i == k:
		return []string{"link set " + ifToECMP + " up",
			fmt.Sprintf("addr add %s/24 dev %s", ecmpAddr4(0, false), ifToECMP),
			fmt.Sprintf("addr add %s/64 dev %s nodad", ecmpAddr6(0, false), ifToECMP)}
	case i == k+2:
		return []string{"link set " + ifFromECMP + " up",
			fmt.Sprintf("addr add %s/24 dev %s", ecmpAddr4(1, true), ifFromECMP),
			fmt.Sprintf("addr add %s/64 dev %s nodad", ecmpAddr6(1, true), ifFromECMP)}
	}
	return nil
}

// forwardRoute is router i's route to prefix p through its next router at via: on the ECMP
// router a multipath route over both branches.
func (l *Lab) forwardRoute(i int, p netip.Prefix, via netip.Addr) string {
	if i != l.Spec.ECMP || l.Spec.ECMP == 0 {
		return fmt.Sprintf("route add %s via %s", p, via)
	}
	alt := ecmpAddr4(0, true)
	if p.Addr().Is6() {
		alt = ecmpAddr6(0, true)
	}
	return fmt.Sprintf("route add %s nexthop via %s dev %s nexthop via %s dev %s", p, via, ifDest, alt, ifToECMP)
}

// ecmpSysctls make the ECMP router hash on the five-tuple read from the packet's headers
// (policy 3, custom fields 0x37: addresses, protocol, ports). Policy 1 would prefer a flow hash
// the packet already carries, and a veth hands over the sending socket's random one: every TCP
// probe socket would then pick a branch at random, whatever its ports.
var ecmpSysctls = []string{
	"net.ipv4.fib_multipath_hash_policy=3",
	"net.ipv4.fib_multipath_hash_fields=0x0037",
	"net.ipv6.fib_multipath_hash_policy=3",
	"net.ipv6.fib_multipath_hash_fields=0x0037",
}

// listeners accept on the destination's open TCP ports (Spec.TCPOpen) and close at once: the
// kernel completes handshakes itself, but an accept queue nobody drains fills up and then
// drops SYNs, which would look like loss.
type listeners struct {
	ls []net.Listener
	wg sync.WaitGroup
}

func (l *Lab) startListeners() error {
	l.tcp = &listeners{}
	return l.RunIn(l.Dest(), func() error {
		for _, port := range l.Spec.TCPOpen {
			// "tcp" on the unspecified address listens on IPv4 and IPv6 at once.
			ln, err := net.Listen("tcp", net.JoinHostPort("::", strconv.Itoa(port)))
			if err != nil {
				return fmt.Errorf("listen on TCP port %d at the destination: %w", port, err)
			}
			l.tcp.ls = append(l.tcp.ls, ln)
			l.tcp.wg.Add(1)
			go func() {
				defer l.tcp.wg.Done()
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
		return nil
	})
}

func (t *listeners) stop() error {
	var errs []error
	for _, ln := range t.ls {
		errs = append(errs, ln.Close())
	}
	t.wg.Wait()
	return errors.Join(errs...)
}
