package netlab

import "fmt"

// Faults of the client itself, switched on and off while a program runs there: the ways a
// send (sendmsg) fails on a real host. Each pair restores exactly what the lab had before.

// CutClientRoute removes the client's default routes (IPv4 and IPv6), as when a host's
// uplink or its DHCP lease goes away: from then on every send from the client to anything
// behind router 1 fails at once with ENETUNREACH ("network is unreachable"). Only router 1's
// address on the client's own link stays reachable, and probes are addressed to the
// destination, so every probe fails. RestoreClientRoute puts the routes back.
func (l *Lab) CutClientRoute() error {
	for _, fam := range []string{"-4", "-6"} {
		if _, err := run("", "ip", fam, "-n", l.Client, "route", "del", "default"); err != nil {
			return fmt.Errorf("netlab: cut the client's route: %w", err)
		}
	}
	return nil
}

// RestoreClientRoute undoes CutClientRoute. Calling it while the routes are there is not
// an error.
func (l *Lab) RestoreClientRoute() error {
	for _, gw := range []string{linkAddr4(0, true).String(), linkAddr6(0, true).String()} {
		if _, err := run("", "ip", "-n", l.Client, "route", "replace", "default", "via", gw); err != nil {
			return fmt.Errorf("netlab: restore the client's route: %w", err)
		}
	}
	return nil
}

// clientBlockTable is the nftables table of BlockClientOutput, apart from any other so that
// unblocking deletes only it.
const clientBlockTable = "netlabblock"

// BlockClientOutput makes the client's own firewall drop every packet it sends into the lab
// (neighbour discovery excepted), as a local nftables or iptables rule does: the kernel then
// fails each send with EPERM ("operation not permitted"). UnblockClientOutput removes it.
func (l *Lab) BlockClientOutput() error {
	rules := fmt.Sprintf(`table inet %s {
	chain output {
		type filter hook output priority filter; policy accept;
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		ip daddr 198.18.0.0/15 drop
		ip6 daddr 2001:db8::/32 drop
	}
}
`, clientBlockTable)
	if _, err := run(rules, "ip", "netns", "exec", l.Client, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("netlab: block the client's output: %w", err)
	}
	return nil
}

// UnblockClientOutput undoes BlockClientOutput.
func (l *Lab) UnblockClientOutput() error {
	if _, err := run("", "ip", "netns", "exec", l.Client, "nft", "delete", "table", "inet", clientBlockTable); err != nil {
		return fmt.Errorf("netlab: unblock the client's output: %w", err)
	}
	return nil
}
