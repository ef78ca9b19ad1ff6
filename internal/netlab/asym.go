package netlab

import (
	"fmt"
	"net/netip"
	"slices"
)

// An asymmetric return path (Spec.ReturnVia = k): router k reaches the client through a
// return-only router rx, joined to router k and to router 1, instead of through router k-1:
//
//	client — r1 — r2 — … — rk — … — rN — dest      (forward: the chain)
//	          \               /
//	           ——— rx ————————                      (return from rk on: rk → rx → r1)
//
// rx's links use 198.19.2.0/24 (rk .1, rx .2) and 198.19.3.0/24 (rx .1, r1 .2), and
// 2001:db8:1002::/64 and 2001:db8:1003::/64, next to the ECMP branch's, still inside the lab's
// ranges. Router k keeps naming its client-facing address as the source of what it sends to the
// client, as routers that answer from the interface a probe came in on do (Linux would take the
// address of the interface towards rx), so a trace from the client shows the same addresses as
// on a symmetric chain: the asymmetry shows only in loss (Spec.ReturnLoss) and in a trace from
// the destination (Lab.Reverse4). rx drops whatever it forwards, TCP included, as a faulty
// router does: a connection from the client to the destination loses its segments back too.

// Interfaces of the return branch: on rk towards rx, and on r1 from rx. rx itself has the usual
// two, ifDest towards rk (where the returning traffic comes from) and ifClient towards r1.
const (
	ifToReturn   = "toreturn"
	ifFromReturn = "fromreturn"
)

func returnAddr4(link int, right bool) netip.Addr { return ecmpAddr4(2+link, right) }
func returnAddr6(link int, right bool) netip.Addr { return ecmpAddr6(2+link, right) }

// ReturnRouter returns the namespace name of the return-only router, or "" without
// Spec.ReturnVia.
func (l *Lab) ReturnRouter() string { return l.returnNS }

// allNamespaces is every namespace of the lab, the side branches' included.
func (l *Lab) allNamespaces() []string {
	ns := slices.Clone(l.namespaces)
	for _, extra := range []string{l.parallel, l.returnNS} {
		if extra != "" {
			ns = append(ns, extra)
		}
	}
	return ns
}

// reversePath fills in the client's addresses as it has them and as the destination sees them,
// and what a trace from the destination to the latter shows.
func (l *Lab) reversePath() {
	s, n := l.Spec, l.Spec.Routers
	l.Client4, l.Client6 = linkAddr4(0, false), linkAddr6(0, false)
	l.Public4, l.Public6 = l.Client4, l.Client6
	if s.NAT > 0 {
		l.Public4, l.Public6 = linkAddr4(s.NAT, false), linkAddr6(s.NAT, false)
	}
	l.Reverse4, l.Reverse6 = nil, nil
	// Router k answers the destination from its destination-side address, the left end of
	// link k; the NAT router is the end of the trace, its address being the target.
	for k := n; k >= max(1, s.NAT); k-- {
		if s.ReturnVia > 0 && k < s.ReturnVia && k > 1 {
			continue // the return from router ReturnVia skips these
		}
		if s.ReturnVia > 0 && k == 1 {
			l.Reverse4 = append(l.Reverse4, l.Return4)
			l.Reverse6 = append(l.Reverse6, l.Return6)
		}
		l.Reverse4 = append(l.Reverse4, linkAddr4(k, false))
		l.Reverse6 = append(l.Reverse6, linkAddr6(k, false))
	}
	if s.NAT == 0 {
		l.Reverse4 = append(l.Reverse4, l.Client4)
		l.Reverse6 = append(l.Reverse6, l.Client6)
	}
}

// buildReturn creates rx's namespace and its two veths; addresses and routes come with the other
// namespaces' configuration (returnConfig, returnRouterLines, nsConfig).
func (l *Lab) buildReturn() error {
	if err := addNamespace(l.returnNS); err != nil {
		return err
	}
	args := append([]string{"netns", "exec", l.returnNS, "sysctl", "-q", "-w"}, commonSysctls...)
	args = append(args, routerSysctls...)
	if _, err := run("", "ip", args...); err != nil {
		return err
	}
	k := l.Spec.ReturnVia
	if _, err := run("", "ip", "-n", l.namespaces[k], "link", "add", ifToReturn, "type", "veth", "peer", "name", ifDest, "netns", l.returnNS); err != nil {
		return err
	}
	_, err := run("", "ip", "-n", l.returnNS, "link", "add", ifClient, "type", "veth", "peer", "name", ifFromReturn, "netns", l.namespaces[1])
	return err
}

// returnConfig is rx's `ip -batch`: the client (and a NAT at router 1) through router 1,
// everything else back through router ReturnVia, so its own answers to the destination go the
// way the destination's traffic came.
func (l *Lab) returnConfig() []string {
	lines := []string{"link set lo up",
		"link set " + ifDest + " up",
		fmt.Sprintf("addr add %s/24 dev %s", returnAddr4(0, true), ifDest),
		fmt.Sprintf("addr add %s/64 dev %s nodad", returnAddr6(0, true), ifDest),
		"link set " + ifClient + " up",
		fmt.Sprintf("addr add %s/24 dev %s", returnAddr4(1, false), ifClient),
		fmt.Sprintf("addr add %s/64 dev %s nodad", returnAddr6(1, false), ifClient),
		fmt.Sprintf("route add default via %s", returnAddr4(0, false)),
		fmt.Sprintf("route add ::/0 via %s", returnAddr6(0, false)),
	}
	for _, p := range l.returnPrefixes() {
		via := returnAddr4(1, true)
		if p.Addr().Is6() {
			via = returnAddr6(1, true)
		}
		lines = append(lines, fmt.Sprintf("route add %s via %s", p, via))
	}
	return lines
}

// returnPrefixes are what router ReturnVia sends through rx: the client's link and, with a NAT at
// router 1, the NAT's address. Only what lies behind router 1 may go that way; anything on the
// chain between would come back to router ReturnVia and loop.
func (l *Lab) returnPrefixes() []netip.Prefix {
	ps := []netip.Prefix{linkPrefix4(0), linkPrefix6(0)}
	if l.Spec.NAT == 1 {
		ps = append(ps, netip.PrefixFrom(linkAddr4(1, false), 32), netip.PrefixFrom(linkAddr6(1, false), 128))
	}
	return ps
}

// returnRouterLines adds the return branch's interface to router i when it is one of its ends.
func (l *Lab) returnRouterLines(i int) []string {
	k := l.Spec.ReturnVia
	switch {
	case k == 0:
		return nil
	case i == k:
		return []string{"link set " + ifToReturn + " up",
			fmt.Sprintf("addr add %s/24 dev %s", returnAddr4(0, false), ifToReturn),
			fmt.Sprintf("addr add %s/64 dev %s nodad", returnAddr6(0, false), ifToReturn)}
	case i == 1:
		return []string{"link set " + ifFromReturn + " up",
			fmt.Sprintf("addr add %s/24 dev %s", returnAddr4(1, true), ifFromReturn),
			fmt.Sprintf("addr add %s/64 dev %s nodad", returnAddr6(1, true), ifFromReturn)}
	}
	return nil
}

// returnRoutes are router ReturnVia's routes to the client's side through rx, with its
// client-facing address as the source, so its answers keep the address a trace from the
// client expects. Router 1's IPv6 routes ahead name its destination-side address as the source
// too: IPv6 would otherwise answer a probe that came in from rx from its rx-side address, which
// is not the address a trace from the destination shows on a symmetric path.
func (l *Lab) returnRoutes(i int) []string {
	k, n := l.Spec.ReturnVia, l.Spec.Routers
	if k == 0 || (i != k && i != 1) {
		return nil
	}
	var lines []string
	if i == 1 {
		for j := 2; j <= n; j++ {
			lines = append(lines, fmt.Sprintf("route replace %s via %s src %s", linkPrefix6(j), linkAddr6(1, true), linkAddr6(1, false)))
		}
		return lines
	}
	for _, p := range l.returnPrefixes() {
		via, src := returnAddr4(0, true), linkAddr4(i-1, true)
		if p.Addr().Is6() {
			via, src = returnAddr6(0, true), linkAddr6(i-1, true)
		}
		lines = append(lines, fmt.Sprintf("route replace %s via %s src %s", p, via, src))
	}
	return lines
}

// lossRule drops percent % of the packets arriving on iif, neighbour discovery excepted.
// Prerouting at raw priority runs before the forwarding code decrements the TTL, so probes that
// would expire at this router are lost too: the router's own hop shows the loss, as do all
// hops whose packets it forwards.
func lossRule(iif string, percent int) string {
	return fmt.Sprintf(`chain loss {
		type filter hook prerouting priority raw; policy accept;
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		iifname %q numgen random mod 100 < %d drop
	}`, iif, percent)
}

// returnRules is rx's nftables ruleset, or "".
func (l *Lab) returnRules() string {
	if l.Spec.ReturnLoss == 0 {
		return ""
	}
	return "table inet netlab {\n\t" + lossRule(ifDest, l.Spec.ReturnLoss) + "\n}\n"
}

// natChain masquerades what the client sends out of router NAT's destination side. Connection
// tracking translates the answers back, ICMP errors that quote a translated probe included.
func natChain() string {
	return fmt.Sprintf(`chain nat {
		type nat hook postrouting priority srcnat; policy accept;
		oifname %q ip saddr %s masquerade
		oifname %q ip6 saddr %s masquerade
	}`, ifDest, linkPrefix4(0), ifDest, linkPrefix6(0))
}
