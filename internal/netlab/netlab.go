// Package netlab builds throw-away networks of Linux network namespaces (a
// client, a chain of real kernel routers, a destination) for testing mtr-go
// against real routers.
//
// A lab is a line of namespaces joined by veth pairs:
//
//	client — r1 — r2 — … — rN — dest
//
// Link i (0 = client–r1, N = rN–dest) carries 198.18.i.0/24 and
// 2001:db8:i::/64; the left end is .1 / ::1, the right end .2 / ::2. Every
// router answers from its client-facing address, so hop k of a clean trace is
// 198.18.(k-1).2 / 2001:db8:k-1::2 and the destination is 198.18.N.2 /
// 2001:db8:N::2 (see Lab.Hops4 and Lab.Hops6).
//
// Two shapes change the chain itself: an asymmetric return path through a
// return-only router, which may drop part of what it forwards (Spec.ReturnVia,
// see asym.go), and a NAT in front of the client (Spec.NAT).
//
// Faults (answers throttled at a router or at the destination, real loss,
// silent destination, routing loop, dead node, missing route) are made with
// nftables tables and routes inside the namespaces, so what the client sees
// is produced by the real kernel; slow answers hold the kernel's own ICMP
// errors in a TUN device for a while (see slow.go). All traffic stays inside
// the lab: only 198.18.0.0/15 and 2001:db8::/32 are used and the client has
// no path to the host's network.
//
// Building a lab needs root, iproute2 (ip) and nftables (nft); DNS needs
// dnsmasq. Tests use New, which skips when those are missing.
package netlab

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Spec describes a lab. The zero value is a clean chain of 5 routers.
type Spec struct {
	// Routers is the number of routers between client and destination
	// (default 5, at most MaxRouters).
	Routers int
	// Throttle maps hop k to the percentage (0..100) of the ICMP
	// time-exceeded messages router k generates that it drops again: the
	// look-alike of ICMP rate limiting, where hop k shows loss but the hops
	// behind it do not.
	Throttle map[int]int
	// ThrottleDest is the percentage (0..100) of the answers the
	// destination generates itself (ICMP echo replies, ICMP destination
	// unreachables, TCP SYN-ACKs and RSTs) that it drops again: the
	// look-alike of a host that rate limits or firewalls its answers, where
	// only the last hop shows loss and every router answers.
	ThrottleDest int
	// SlowAnswer maps hop k to the time router k's ICMP errors (time
	// exceeded, and the unreachables it generates) are held before they
	// leave: the look-alike of a busy control plane, where hop k's RTT is
	// about the delay while the traffic it forwards is not delayed, so the
	// hops behind it answer at once (see slow.go). Delays are 1 ms..30 s.
	SlowAnswer map[int]time.Duration
	// LossFrom, if > 0, makes router LossFrom drop LossPercent % of all
	// packets arriving from the client side: real loss, shown by hop
	// LossFrom and every hop after it.
	LossFrom    int
	LossPercent int
	// SilentDest makes the destination drop every packet sent to it, so it
	// never answers.
	SilentDest bool
	// Loop, if > 0 (it must be >= 2), makes router Loop route traffic for the
	// destination back to router Loop-1, which sends it forward again: the
	// trace alternates between the two routers' addresses.
	Loop int
	// Dead, if > 0, makes router Dead answer probes that expire at it but
	// forward nothing, so every hop after it is silent.
	Dead int
	// NoRoute, if > 0, removes router NoRoute's routes to the destination's
	// network. The router answers every probe that reaches it, even one
	// whose TTL expires there (Linux looks up the route before checking the
	// TTL), with ICMP destination unreachable: IPv4 network unreachable
	// (type 3 code 0), IPv6 no route (type 1 code 0). The IPv4 answers are
	// rate limited by a host-wide kernel limiter that no namespace can
	// switch off (net.ipv4.route.error_burst/error_cost: 5 at once, then 1
	// per second per client address), so a fast IPv4 trace sees most of
	// them lost; IPv6 answers are not limited. Use Reject for an
	// unreachable that is never rate limited.
	NoRoute int
	// Reject, if > 0, makes router Reject refuse to forward traffic for the
	// destination's network with an nftables reject in its forward hook:
	// ICMP network unreachable (IPv6: no route), never rate limited. Probes
	// that expire at the router still get time-exceeded, as with most
	// hardware routers.
	Reject int
	// DNS runs dnsmasq inside the client namespace, serving the names in
	// Lab.Names (forward and reverse) at Lab.DNSServer.
	DNS bool
	// HostileNames (with DNS) serves hop 1 (Hops4[0], Hops6[0]) a PTR name and its AS a
	// name that carry terminal escape sequences and control characters (HostilePTR,
	// HostileASName), as a record's owner may.
	HostileNames bool
	// ECMP, if > 0, makes router ECMP balance everything behind it over two
	// equal-cost paths by L4 hash: the chain's next router and a parallel
	// one (see ecmp.go), so hop ECMP+1 is either Hops4[ECMP] or Parallel4.
	// It needs ECMP+2 <= Routers, where the two paths join again.
	ECMP int
	// TCPOpen lists TCP ports the destination listens on (IPv4 and IPv6);
	// every other port answers a SYN with a RST.
	TCPOpen []int
	// FreshIPv6 leaves IPv6 duplicate address detection on in the routers
	// and the destination, as on a path whose addresses were just
	// configured: Build returns while their IPv6 addresses, link-local ones
	// included, are still tentative (a random wait of up to a second, then
	// a second for one neighbour solicitation). Neighbour discovery towards
	// them fails until then, so the probes wait in the client's neighbour
	// queue and the first answers from every hop come about 2 s after
	// Build, all at once. The client's address is ready at once, as on a
	// host that was up before the path; IPv4 is not affected. It cannot be
	// combined with Loop or ECMP, whose routes need a preferred source.
	FreshIPv6 bool
	// DestAddrs, if > 0, makes the destination answer on that many more
	// addresses (at most MaxDestAddrs), listed in Lab.DestAddrs4 and
	// Lab.DestAddrs6: ICMP echo, UDP port unreachable and TCP SYN-ACK (the
	// TCPOpen ports) or RST, each from the address probed, as with
	// Target4/Target6. They come from 198.19.16.0/20 and 2001:db8:2000::/116;
	// the routers route the smallest prefix that holds DestAddrs to the
	// destination. The IPv4 ones are AnyIP (one local route, however many),
	// the IPv6 ones interface addresses on lo (see nsConfig). For tracing
	// many targets behind one path at once.
	DestAddrs int
	// NoPingGroup closes net.ipv4.ping_group_range in the client namespace
	// (labs open it by default), so no one may open unprivileged ICMP
	// sockets there.
	NoPingGroup bool
	// ReturnVia, if > 0 (2..Routers), makes the path asymmetric: router
	// ReturnVia sends what is addressed to the client not back along the
	// chain but through a return-only router "rx" that joins it to router 1
	// (see asym.go). The answers of hop ReturnVia and every hop after it,
	// the destination's included, come back through rx; the forward path
	// and the answers of the hops before ReturnVia never cross it. A trace
	// from the destination to the client shows it (Lab.Reverse4). It
	// cannot be combined with ECMP, Loop or FreshIPv6.
	ReturnVia int
	// ReturnLoss is the percentage (0..100) of what rx forwards towards the
	// client that it drops, as LossFrom drops at a chain router: real loss
	// on the return path only. It needs ReturnVia.
	ReturnLoss int
	// NAT, if > 0, makes router NAT masquerade what the client sends on
	// towards the destination (nftables, IPv4 and IPv6), as a home router
	// in front of the client does: the destination and the routers after
	// router NAT see the client as router NAT's destination-side address
	// (Lab.Public4, Lab.Public6), and the routers' answers to the client's
	// probes still reach it, translated back by the NAT's connection
	// tracking.
	NAT int
}

// MaxRouters is the longest chain a lab can have: link i uses 198.18.i.0/24.
const MaxRouters = 250

// MaxDestAddrs is the most addresses Spec.DestAddrs may ask for: a /20 of IPv4.
const MaxDestAddrs = 4096

// Lab is a built lab. Its fields are read-only; Close removes everything.
type Lab struct {
	// Client is the name of the client namespace, where probes are sent
	// from (see Command and Run).
	Client string
	// Target4 and Target6 are the destination's addresses.
	Target4 netip.Addr
	Target6 netip.Addr
	// Hops4 and Hops6 list the address expected at hop 1..N and then the
	// destination: what a traceroute from the client shows on a clean path.
	Hops4 []netip.Addr
	Hops6 []netip.Addr
	// Names maps every lab address to its name (r1.lab.test, …,
	// dest.lab.test, client.lab.test). They are served only when Spec.DNS.
	Names map[netip.Addr]string
	// DNSServer is where dnsmasq listens, seen from the client namespace;
	// zero unless Spec.DNS.
	DNSServer netip.AddrPort
	// AS and ASNames are the origin AS of every address a trace shows (the
	// Hops and the parallel router) and the AS names, as the lab's DNS
	// answers Team Cymru's TXT queries (origin.asn.cymru.com,
	// origin6.asn.cymru.com, AS<n>.asn.cymru.com): router k is in private-use
	// AS 64500+k named LAB-CARRIER-k, the destination in AS 64999 named
	// LAB-DEST. Nil unless Spec.DNS.
	AS      map[netip.Addr]uint32
	ASNames map[uint32]string
	// DestAddrs4 and DestAddrs6 are the destination's Spec.DestAddrs further
	// addresses, in order; nil without DestAddrs. Every hop before them is
	// that of Target4/Target6.
	DestAddrs4 []netip.Addr
	DestAddrs6 []netip.Addr
	// Parallel4 and Parallel6 are the addresses the parallel router of
	// Spec.ECMP answers from at hop ECMP+1; zero without ECMP.
	Parallel4 netip.Addr
	Parallel6 netip.Addr
	// Client4 and Client6 are the client's own addresses.
	Client4 netip.Addr
	Client6 netip.Addr
	// Public4 and Public6 are the client's addresses as the destination
	// sees them: the client's own, or with Spec.NAT the NAT router's.
	Public4 netip.Addr
	Public6 netip.Addr
	// Reverse4 and Reverse6 list what a trace from the destination to
	// Public4/Public6 shows at hop 1..M, ending at that address: each
	// router answers the destination from its destination-side address, in
	// reverse order, and with Spec.ReturnVia the return-only router
	// (Return4/Return6) stands in for routers 2..ReturnVia-1.
	Reverse4 []netip.Addr
	Reverse6 []netip.Addr
	// Return4 and Return6 are the addresses the return-only router of
	// Spec.ReturnVia answers a trace from the destination from; zero
	// without ReturnVia. No trace from the client ever shows them.
	Return4 netip.Addr
	Return6 netip.Addr
	// Spec is the spec the lab was built from, with defaults filled in.
	Spec Spec

	namespaces []string // client, r1..rN, dest
	etcDir     string   // /etc/netns/<client>
	stateDir   string   // dnsmasq's hosts file and log
	dns        *dnsmasq
	parallel   string // the ECMP parallel router's namespace, or ""
	returnNS   string // the return-only router's namespace (Spec.ReturnVia), or ""
	tcp        *listeners
	slow       []*delayer // Spec.SlowAnswer's, one per slow router

	closeOnce sync.Once
	closeErr  error
}

// Namespace-name prefix. Names are "mgl" + pid (base 36) + "-" + lab number
// (base 36) + role, e.g. "mglb3k-0r12": unique per process and per lab, and
// short enough that interface-name limits never matter. The pid lets a new
// process recognise leftovers of a crashed one.
const namePrefix = "mgl"

var (
	labCounter atomic.Uint64
	sweepOnce  sync.Once
)

// Build creates the lab described by spec. Unlike New it works outside
// tests; the caller must Close the lab. On error nothing is left behind.
func Build(spec Spec) (*Lab, error) {
	spec, err := spec.normalize()
	if err != nil {
		return nil, err
	}
	if err := AvailableFor(spec); err != nil {
		return nil, err
	}
	sweepOnce.Do(sweepLeftovers)

	n := spec.Routers
	base := namePrefix + strconv.FormatInt(int64(os.Getpid()), 36) + "-" +
		strconv.FormatUint(labCounter.Add(1)-1, 36)
	l := &Lab{
		Client:  base + "c",
		Target4: linkAddr4(n, true),
		Target6: linkAddr6(n, true),
		Names:   make(map[netip.Addr]string),
		Spec:    spec,
	}
	l.namespaces = append(l.namespaces, l.Client)
	for k := 1; k <= n; k++ {
		l.namespaces = append(l.namespaces, base+"r"+strconv.Itoa(k))
	}
	l.namespaces = append(l.namespaces, base+"d")
	l.etcDir = filepath.Join(etcNetnsDir, l.Client)
	if spec.ECMP > 0 {
		l.parallel = base + "r" + strconv.Itoa(spec.ECMP+1) + "b"
		l.Parallel4, l.Parallel6 = ecmpAddr4(0, true), ecmpAddr6(0, true)
		name := "r" + strconv.Itoa(spec.ECMP+1) + "b.lab.test"
		l.Names[l.Parallel4], l.Names[l.Parallel6] = name, name
	}
	if spec.DestAddrs > 0 {
		p4, p6 := destPrefix4(spec.DestAddrs), destPrefix6(spec.DestAddrs)
		for a4, a6 := p4.Addr(), p6.Addr(); len(l.DestAddrs4) < spec.DestAddrs; a4, a6 = a4.Next(), a6.Next() {
			l.DestAddrs4 = append(l.DestAddrs4, a4)
			l.DestAddrs6 = append(l.DestAddrs6, a6)
		}
	}
	for i := 0; i <= n; i++ {
		l.Hops4 = append(l.Hops4, linkAddr4(i, true))
		l.Hops6 = append(l.Hops6, linkAddr6(i, true))
	}
	if spec.ReturnVia > 0 {
		l.returnNS = base + "rx"
		l.Return4, l.Return6 = returnAddr4(0, true), returnAddr6(0, true)
		for _, a := range []netip.Addr{returnAddr4(0, true), returnAddr6(0, true), returnAddr4(1, false), returnAddr6(1, false)} {
			l.Names[a] = "rx.lab.test"
		}
	}
	l.reversePath()
	for i := range l.namespaces {
		name := "r" + strconv.Itoa(i) + ".lab.test"
		switch i {
		case 0:
			name = "client.lab.test"
		case n + 1:
			name = "dest.lab.test"
		}
		if i > 0 { // right end of link i-1
			l.Names[linkAddr4(i-1, true)] = name
			l.Names[linkAddr6(i-1, true)] = name
		}
		if i <= n { // left end of link i
			l.Names[linkAddr4(i, false)] = name
			l.Names[linkAddr6(i, false)] = name
		}
	}

	if err := l.build(); err != nil {
		if cerr := l.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up after failed build: %w", cerr))
		}
		return nil, fmt.Errorf("build lab %s: %w", base, err)
	}
	return l, nil
}

// Router returns the namespace name of router k (1..N), for tests that want
// to run ip or nft there. It panics on a k outside the chain, which is a bug
// in the calling test.
func (l *Lab) Router(k int) string {
	if k < 1 || k > l.Spec.Routers {
		panic(fmt.Sprintf("netlab: router %d outside 1..%d", k, l.Spec.Routers))
	}
	return l.namespaces[k]
}

// Dest returns the namespace name of the destination.
func (l *Lab) Dest() string { return l.namespaces[len(l.namespaces)-1] }

// Namespaces returns the names of all the lab's namespaces: client, routers
// in order, destination.
func (l *Lab) Namespaces() []string { return slices.Clone(l.namespaces) }

// Close stops dnsmasq and every other process left in the lab, deletes the
// namespaces (which deletes their veths) and the /etc/netns directory. It is
// safe to call more than once; later calls return the first result.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.teardown() })
	return l.closeErr
}

func (l *Lab) teardown() error {
	var errs []error
	if l.dns != nil {
		if err := l.dns.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if l.tcp != nil {
		if err := l.tcp.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range l.slow {
		if err := d.close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ns := range l.allNamespaces() {
		if err := removeNamespace(ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(l.etcDir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", l.etcDir, err))
	}
	if l.stateDir != "" {
		if err := os.RemoveAll(l.stateDir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", l.stateDir, err))
		}
	}
	return errors.Join(errs...)
}

func (s Spec) normalize() (Spec, error) {
	if s.Routers == 0 {
		s.Routers = 5
	}
	n := s.Routers
	if n < 1 || n > MaxRouters {
		return s, fmt.Errorf("netlab: Routers = %d, want 1..%d", n, MaxRouters)
	}
	inChain := func(field string, k, min int) error {
		if k != 0 && (k < min || k > n) {
			return fmt.Errorf("netlab: %s = %d, want 0 (off) or %d..%d", field, k, min, n)
		}
		return nil
	}
	percent := func(field string, p int) error {
		if p < 0 || p > 100 {
			return fmt.Errorf("netlab: %s = %d, want 0..100", field, p)
		}
		return nil
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(s.Throttle)) {
		errs = append(errs, inChain("Throttle hop", k, 1), percent(fmt.Sprintf("Throttle[%d]", k), s.Throttle[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(s.SlowAnswer)) {
		errs = append(errs, inChain("SlowAnswer hop", k, 1))
		if d := s.SlowAnswer[k]; d < time.Millisecond || d > 30*time.Second {
			errs = append(errs, fmt.Errorf("netlab: SlowAnswer[%d] = %v, want 1ms..30s", k, d))
		}
	}
	errs = append(errs,
		inChain("LossFrom", s.LossFrom, 1),
		percent("LossPercent", s.LossPercent),
		percent("ThrottleDest", s.ThrottleDest),
		inChain("Loop", s.Loop, 2),
		inChain("Dead", s.Dead, 1),
		inChain("NoRoute", s.NoRoute, 1),
		inChain("Reject", s.Reject, 1),
		inChain("ReturnVia", s.ReturnVia, 2),
		percent("ReturnLoss", s.ReturnLoss),
		inChain("NAT", s.NAT, 1),
	)
	if s.ReturnLoss > 0 && s.ReturnVia == 0 {
		errs = append(errs, errors.New("netlab: ReturnLoss needs ReturnVia (the return-only router that drops)"))
	}
	if s.ReturnVia != 0 && (s.ECMP != 0 || s.Loop != 0 || s.FreshIPv6) {
		errs = append(errs, errors.New("netlab: ReturnVia cannot be combined with ECMP, Loop or FreshIPv6"))
	}
	if s.ECMP != 0 && (s.ECMP < 1 || s.ECMP+2 > n) {
		errs = append(errs, fmt.Errorf("netlab: ECMP = %d, want 0 (off) or 1..%d (the paths join at router ECMP+2)", s.ECMP, n-2))
	}
	for _, p := range s.TCPOpen {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("netlab: TCPOpen port %d, want 1..65535", p))
		}
	}
	if s.DestAddrs < 0 || s.DestAddrs > MaxDestAddrs {
		errs = append(errs, fmt.Errorf("netlab: DestAddrs = %d, want 0..%d", s.DestAddrs, MaxDestAddrs))
	}
	if s.FreshIPv6 && (s.Loop != 0 || s.ECMP != 0) {
		errs = append(errs, errors.New("netlab: FreshIPv6 cannot be combined with Loop or ECMP"))
	}
	if s.Loop != 0 && s.Loop == s.NoRoute {
		errs = append(errs, fmt.Errorf("netlab: Loop and NoRoute both on router %d", s.Loop))
	}
	s.Throttle = maps.Clone(s.Throttle)
	s.SlowAnswer = maps.Clone(s.SlowAnswer)
	s.TCPOpen = slices.Clone(s.TCPOpen)
	return s, errors.Join(errs...)
}

// linkAddr4 is the IPv4 address of the left (right=false) or right end of
// link i.
func linkAddr4(i int, right bool) netip.Addr {
	host := byte(1)
	if right {
		host = 2
	}
	return netip.AddrFrom4([4]byte{198, 18, byte(i), host})
}

// linkAddr6 is the IPv6 address of the left or right end of link i.
func linkAddr6(i int, right bool) netip.Addr {
	a := [16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}
	a[15] = 1
	if right {
		a[15] = 2
	}
	return netip.AddrFrom16(a)
}

// linkPrefix4 and linkPrefix6 are the networks of link i.
func linkPrefix4(i int) netip.Prefix { return netip.PrefixFrom(linkAddr4(i, false), 24).Masked() }
func linkPrefix6(i int) netip.Prefix { return netip.PrefixFrom(linkAddr6(i, false), 64).Masked() }

// destPrefix4 and destPrefix6 are the smallest prefixes from the start of the destination's
// AnyIP ranges (198.19.16.0/20, 2001:db8:2000::/116) that hold n addresses: 198.19.0.0/24 and
// 198.19.1.0/24 are the ECMP branch's links, 2001:db8:0..ff::/64 the chain's.
func destPrefix4(n int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, 16, 0}), 32-hostBits(n))
}

func destPrefix6(n int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x20}), 128-hostBits(n))
}

// hostBits is the number of host bits a prefix needs to hold n >= 1 addresses.
func hostBits(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}
