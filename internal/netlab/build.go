package netlab

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	netnsRunDir = "/var/run/netns" // where `ip netns` keeps its namespace handles
	etcNetnsDir = "/etc/netns"     // per-namespace /etc overlays of `ip netns exec`
)

// Interface names are the same in every namespace: each namespace has at most
// one link towards the client and one towards the destination.
const (
	ifClient = "toclient"
	ifDest   = "todest"
)

// Sysctls for every namespace. Rate limits are off so that loss is only what
// a fault asks for: icmp_ratelimit/ratelimit switch off the per-peer token
// bucket, the empty ratemasks also exempt every type from the global
// icmp_msgs_per_sec bucket. rp_filter is off because a looped packet arrives
// on the "wrong" interface. DAD is off (unless Spec.FreshIPv6) so link-local addresses (used by
// neighbour discovery) are usable at once. icmp_errors_use_inbound_ifaddr=0
// (the default, set for clarity) makes ICMP errors come from the address of
// the route back to the sender, i.e. the client-facing interface, even for
// looped packets. ping_group_range lets unprivileged ICMP sockets work.
var commonSysctls = []string{
	"net.ipv4.conf.all.rp_filter=0",
	"net.ipv4.conf.default.rp_filter=0",
	"net.ipv4.conf.all.send_redirects=0",
	"net.ipv4.conf.default.send_redirects=0",
	"net.ipv4.icmp_ratelimit=0",
	"net.ipv4.icmp_ratemask=0",
	"net.ipv4.icmp_errors_use_inbound_ifaddr=0",
	"net.ipv4.ping_group_range=0 2147483647",
	"net.ipv6.icmp.ratelimit=0",
	"net.ipv6.icmp.ratemask=",
	"net.ipv6.conf.all.accept_dad=0",
	"net.ipv6.conf.default.accept_dad=0",
	"net.ipv6.conf.all.accept_ra=0",
	"net.ipv6.conf.default.accept_ra=0",
}

var routerSysctls = []string{
	"net.ipv4.ip_forward=1",
	"net.ipv6.conf.all.forwarding=1",
}

func (l *Lab) build() error {
	n := l.Spec.Routers
	for i, ns := range l.namespaces {
		if err := addNamespace(ns); err != nil {
			return err
		}
		args := append([]string{"netns", "exec", ns, "sysctl", "-q", "-w"}, commonSysctls...)
		if i >= 1 && i <= n {
			args = append(args, routerSysctls...)
		}
		if i == l.Spec.ECMP {
			args = append(args, ecmpSysctls...)
		}
		if l.Spec.FreshIPv6 && i > 0 {
			// Later values win: the kernel's defaults, DAD on.
			args = append(args, "net.ipv6.conf.all.accept_dad=1", "net.ipv6.conf.default.accept_dad=1")
		}
		if i == 0 && l.Spec.NoPingGroup {
			args = append(args, "net.ipv4.ping_group_range=1 0") // the kernel's default: nobody
		}
		if _, err := run("", "ip", args...); err != nil {
			return err
		}
	}
	for i := 0; i <= n; i++ {
		left, right := l.namespaces[i], l.namespaces[i+1]
		if _, err := run("", "ip", "-n", left, "link", "add", ifDest, "type", "veth", "peer", "name", ifClient, "netns", right); err != nil {
			return err
		}
	}
	if l.Spec.ECMP > 0 {
		if err := l.buildECMP(); err != nil {
			return err
		}
		if err := ipBatch(l.parallel, l.ecmpConfig()); err != nil {
			return err
		}
	}
	if l.returnNS != "" {
		if err := l.buildReturn(); err != nil {
			return err
		}
		if err := ipBatch(l.returnNS, l.returnConfig()); err != nil {
			return err
		}
		if rules := l.returnRules(); rules != "" {
			if _, err := run(rules, "ip", "netns", "exec", l.returnNS, "nft", "-f", "-"); err != nil {
				return err
			}
		}
	}
	for i, ns := range l.namespaces {
		lines := append(l.ecmpRouterLines(i), l.returnRouterLines(i)...)
		lines = append(lines, l.nsConfig(i)...)
		if err := ipBatch(ns, append(lines, l.returnRoutes(i)...)); err != nil {
			return err
		}
		if rules := l.nftRules(i); rules != "" {
			if _, err := run(rules, "ip", "netns", "exec", ns, "nft", "-f", "-"); err != nil {
				return err
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(l.Spec.SlowAnswer)) {
		if err := l.startSlow(k, l.Spec.SlowAnswer[k]); err != nil {
			return err
		}
	}
	// Every lab gets its own resolv.conf and hosts for the client, so that
	// programs run there never consult the host's resolver (whose address
	// would be unreachable from the lab anyway) or the host's /etc/hosts.
	if err := l.writeEtc(); err != nil {
		return err
	}
	if l.Spec.DNS {
		if err := l.startDNS(); err != nil {
			return err
		}
	}
	if len(l.Spec.TCPOpen) > 0 {
		if err := l.startListeners(); err != nil {
			return err
		}
	}
	return nil
}

// nsConfig returns the `ip -batch` lines that set up addresses and routes of
// namespace i (0 = client, 1..N = routers, N+1 = destination).
func (l *Lab) nsConfig(i int) []string {
	n, s := l.Spec.Routers, l.Spec
	lines := []string{"link set lo up"}
	nodad := " nodad"
	if s.FreshIPv6 && i > 0 {
		nodad = ""
	}
	if i > 0 { // right end of link i-1
		lines = append(lines,
			"link set "+ifClient+" up",
			fmt.Sprintf("addr add %s/24 dev %s", linkAddr4(i-1, true), ifClient),
			fmt.Sprintf("addr add %s/64 dev %s%s", linkAddr6(i-1, true), ifClient, nodad))
	}
	if i <= n { // left end of link i
		lines = append(lines,
			"link set "+ifDest+" up",
			fmt.Sprintf("addr add %s/24 dev %s", linkAddr4(i, false), ifDest),
			fmt.Sprintf("addr add %s/64 dev %s%s", linkAddr6(i, false), ifDest, nodad))
	}
	switch {
	case i == 0:
		lines = append(lines,
			fmt.Sprintf("route add default via %s", linkAddr4(0, true)),
			fmt.Sprintf("route add ::/0 via %s", linkAddr6(0, true)))
	case i == n+1:
		lines = append(lines,
			fmt.Sprintf("route add default via %s", linkAddr4(n, false)),
			fmt.Sprintf("route add ::/0 via %s", linkAddr6(n, false)))
		if s.DestAddrs > 0 {
			// IPv4 AnyIP: a local route makes every address in it the host's own, so the
			// kernel answers on each (echo replies, unreachables and RSTs from the address
			// probed) without an interface address per target. IPv6 answers echo and TCP
			// that way too, but its ICMP errors take the probed address as source only when
			// it is an interface address (the port unreachable would come from the
			// destination's link address), so IPv6 gets one address each on lo.
			lines = append(lines, fmt.Sprintf("route add local %s dev lo", destPrefix4(s.DestAddrs)))
			for _, a := range l.DestAddrs6 {
				lines = append(lines, fmt.Sprintf("addr add %s/128 dev lo nodad", a))
			}
		}
	default: // router i: explicit routes to every link that is not attached
		back4, back6 := linkAddr4(i-1, false), linkAddr6(i-1, false)
		fwd4, fwd6 := linkAddr4(i, true), linkAddr6(i, true)
		// Routes back to the client side name the client-facing address as
		// preferred source. IPv4 uses it for ICMP errors anyway; IPv6
		// would otherwise answer from the inbound interface's address when
		// a packet arrives from the destination side (a loop), making the
		// hop's address depend on the direction the probe came from.
		src4, src6 := linkAddr4(i-1, true), " src "+linkAddr6(i-1, true).String()
		if s.FreshIPv6 {
			// The kernel refuses a tentative preferred source; such a lab
			// has no loop to need it (normalize).
			src6 = ""
		} else {
			lines = append(lines, fmt.Sprintf("route replace %s dev %s proto kernel metric 256%s", linkPrefix6(i-1), ifClient, src6))
		}
		for j := 0; j < i-1; j++ {
			lines = append(lines,
				fmt.Sprintf("route add %s via %s src %s", linkPrefix4(j), back4, src4),
				fmt.Sprintf("route add %s via %s%s", linkPrefix6(j), back6, src6))
		}
		for j := i + 1; j < n; j++ {
			lines = append(lines, l.forwardRoute(i, linkPrefix4(j), fwd4), l.forwardRoute(i, linkPrefix6(j), fwd6))
		}
		// The destination's link, where NoRoute and Loop apply.
		p4, p6 := linkPrefix4(n), linkPrefix6(n)
		if i == n && (s.NoRoute == i || s.Loop == i) {
			// Attached: drop the kernel's prefix routes first.
			lines = append(lines,
				fmt.Sprintf("route del %s dev %s", p4, ifDest),
				fmt.Sprintf("route del %s dev %s", p6, ifDest))
		}
		switch {
		case s.NoRoute == i:
		case s.Loop == i:
			lines = append(lines,
				fmt.Sprintf("route add %s via %s", p4, back4),
				fmt.Sprintf("route add %s via %s", p6, back6))
		case i < n:
			lines = append(lines, l.forwardRoute(i, p4, fwd4), l.forwardRoute(i, p6, fwd6))
		}
		// The destination's further addresses go wherever its link does; router N, attached to
		// that link, reaches them through the destination's own address.
		if s.DestAddrs > 0 {
			m4, m6 := destPrefix4(s.DestAddrs), destPrefix6(s.DestAddrs)
			switch {
			case s.NoRoute == i:
			case s.Loop == i:
				lines = append(lines,
					fmt.Sprintf("route add %s via %s", m4, back4),
					fmt.Sprintf("route add %s via %s", m6, back6))
			default:
				lines = append(lines, l.forwardRoute(i, m4, fwd4), l.forwardRoute(i, m6, fwd6))
			}
		}
	}
	return lines
}

// nftRules returns the nftables ruleset for namespace i, or "" when it needs
// none. Each lab namespace gets its own table, so the rules never touch the
// host's.
func (l *Lab) nftRules(i int) string {
	n, s := l.Spec.Routers, l.Spec
	var chains []string
	// Neighbour discovery is exempt from drops that would otherwise hit it:
	// losing it would turn silence or loss into "address unreachable" errors
	// from the previous router, which is not what the fault is meant to show.
	const ndAccept = "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept"
	if i >= 1 && i <= n {
		if p := s.Throttle[i]; p > 0 {
			// Output hook: the ICMP error has been generated (and counted)
			// but never leaves, exactly like a rate-limited control plane.
			chains = append(chains, fmt.Sprintf(`chain throttle {
		type filter hook output priority filter; policy accept;
		icmp type time-exceeded numgen random mod 100 < %d drop
		icmpv6 type time-exceeded numgen random mod 100 < %d drop
	}`, p, p))
		}
		if s.SlowAnswer[i] > 0 {
			chains = append(chains, slowRules)
		}
		if s.LossFrom == i && s.LossPercent > 0 {
			chains = append(chains, lossRule(ifClient, s.LossPercent))
		}
		if s.NAT == i {
			chains = append(chains, natChain())
		}
		if s.Reject == i {
			d4, d6 := linkPrefix4(n).String(), linkPrefix6(n).String()
			if s.DestAddrs > 0 {
				d4 = "{ " + d4 + ", " + destPrefix4(s.DestAddrs).String() + " }"
				d6 = "{ " + d6 + ", " + destPrefix6(s.DestAddrs).String() + " }"
			}
			chains = append(chains, fmt.Sprintf(`chain noroute {
		type filter hook forward priority filter; policy accept;
		ip daddr %s reject with icmp type net-unreachable
		ip6 daddr %s reject with icmpv6 type no-route
	}`, d4, d6))
		}
		if s.Dead == i {
			// The forward hook runs after the TTL check, so the router still
			// answers probes that expire at it but passes nothing on.
			chains = append(chains, `chain dead {
		type filter hook forward priority filter; policy drop;
	}`)
		}
	}
	if i == n+1 && s.SilentDest {
		chains = append(chains, fmt.Sprintf(`chain silent {
		type filter hook input priority filter; policy accept;
		%s
		iifname %q drop
	}`, ndAccept, ifClient))
	}
	if i == n+1 && s.ThrottleDest > 0 {
		// Output hook, as for a router's Throttle: the destination has
		// received the probe and answered, only the answer is lost. Its
		// own traffic to the client is nothing but answers (no echo
		// requests, no SYNs), so neighbour discovery is all that must pass.
		p := s.ThrottleDest
		chains = append(chains, fmt.Sprintf(`chain throttledest {
		type filter hook output priority filter; policy accept;
		icmp type { echo-reply, destination-unreachable } numgen random mod 100 < %d drop
		icmpv6 type { echo-reply, destination-unreachable } numgen random mod 100 < %d drop
		tcp flags & (syn | ack) == syn | ack numgen random mod 100 < %d drop
		tcp flags & rst == rst numgen random mod 100 < %d drop
	}`, p, p, p, p))
	}
	if len(chains) == 0 {
		return ""
	}
	return "table inet netlab {\n\t" + strings.Join(chains, "\n\t") + "\n}\n"
}

// writeEtc creates /etc/netns/<client>/{resolv.conf,hosts}, which
// `ip netns exec` bind-mounts over /etc/resolv.conf and /etc/hosts.
func (l *Lab) writeEtc() error {
	if err := os.MkdirAll(l.etcDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", l.etcDir, err)
	}
	// Without DNS nothing listens on 127.0.0.1:53, so lookups fail at once
	// instead of timing out.
	resolv := "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	for name, data := range map[string]string{"resolv.conf": resolv, "hosts": hosts} {
		p := filepath.Join(l.etcDir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// run runs a command with stdin and returns its stdout; errors name the
// command and carry its stderr.
func run(stdin, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.String(), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, msg)
	}
	return stdout.String(), nil
}

var batchLine = regexp.MustCompile(`Command failed -:(\d+)`)

// ipBatch runs lines with `ip -n ns -batch -`: one process per namespace
// instead of one per command. An error names the line that failed.
func ipBatch(ns string, lines []string) error {
	_, err := run(strings.Join(lines, "\n")+"\n", "ip", "-n", ns, "-batch", "-")
	if err != nil {
		if m := batchLine.FindStringSubmatch(err.Error()); m != nil {
			if k, _ := strconv.Atoi(m[1]); k >= 1 && k <= len(lines) {
				err = fmt.Errorf("%w (line %q)", err, lines[k-1])
			}
		}
	}
	return err
}

// addNamespace creates namespace ns, first removing a leftover of the same
// name (a crashed run whose pid has been reused).
func addNamespace(ns string) error {
	if _, err := os.Stat(filepath.Join(netnsRunDir, ns)); err == nil {
		if err := removeNamespace(ns); err != nil {
			return fmt.Errorf("remove leftover namespace: %w", err)
		}
	}
	_, err := run("", "ip", "netns", "add", ns)
	return err
}

// removeNamespace kills whatever still runs in ns (dnsmasq of a crashed run,
// a test's stray child) and deletes it; the kernel then deletes its veths.
// A namespace that does not exist is not an error.
func removeNamespace(ns string) error {
	if _, err := os.Stat(filepath.Join(netnsRunDir, ns)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	out, err := run("", "ip", "netns", "pids", ns)
	if err != nil {
		return err
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// Our own children are reaped by whoever started them; others are
	// orphans whose exit only needs a moment.
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids {
		for processAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	_, err = run("", "ip", "netns", "del", ns)
	return err
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses, which may itself
	// contain parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// sweepLeftovers removes namespaces and /etc/netns directories of earlier
// processes that died without closing their labs: those whose pid is no
// longer running, or is ours (a pid reused after a crash; this process has
// not built anything yet when the sweep runs).
func sweepLeftovers() {
	stale := func(name string) bool {
		rest, ok := strings.CutPrefix(name, namePrefix)
		if !ok {
			return false
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		if !ok {
			return false
		}
		pid, err := strconv.ParseInt(pidStr, 36, 64)
		if err != nil {
			return false
		}
		return int(pid) == os.Getpid() || !processAlive(int(pid))
	}
	if entries, err := os.ReadDir(netnsRunDir); err == nil {
		for _, e := range entries {
			if stale(e.Name()) {
				_ = removeNamespace(e.Name())
			}
		}
	}
	if entries, err := os.ReadDir(etcNetnsDir); err == nil {
		for _, e := range entries {
			if stale(e.Name()) {
				_ = os.RemoveAll(filepath.Join(etcNetnsDir, e.Name()))
			}
		}
	}
}
