package netlab

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// dnsmasq is a dnsmasq process running in the foreground inside the client
// namespace, so that we are its parent and reap it.
type dnsmasq struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, valid after done
}

// startDNS writes the lab's names into a hosts file and serves them with
// dnsmasq on 127.0.0.1:53 in the client namespace (the address the client's
// resolv.conf names). It returns once a reverse lookup succeeds.
func (l *Lab) startDNS() error {
	dir, err := os.MkdirTemp("", l.Client+"-")
	if err != nil {
		return fmt.Errorf("create dnsmasq state dir: %w", err)
	}
	l.stateDir = dir
	// dnsmasq may read its files after dropping privileges.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	var hosts strings.Builder
	var hostile []string
	for _, a := range slices.SortedFunc(maps.Keys(l.Names), netip.Addr.Compare) {
		if l.Spec.HostileNames && (a == l.Hops4[0] || a == l.Hops6[0]) {
			// Neither a hosts file nor --ptr-record takes such a name; a PTR record can hold it
			// byte for byte, so it is given as the record's wire data (type 12).
			hostile = append(hostile, "--dns-rr="+reversePTR(a)+",12,"+wireName(HostilePTR))
			continue
		}
		fmt.Fprintf(&hosts, "%s\t%s\n", a, l.Names[a])
	}
	hostsFile := filepath.Join(dir, "hosts")
	if err := os.WriteFile(hostsFile, []byte(hosts.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", hostsFile, err)
	}

	l.DNSServer = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 53)
	d := &dnsmasq{done: make(chan struct{})}
	args := []string{"netns", "exec", l.Client, "dnsmasq",
		"--keep-in-foreground",
		"--conf-file=/dev/null", // ignore the host's /etc/dnsmasq.conf
		"--user=root",
		"--pid-file=", // none
		"--listen-address=" + l.DNSServer.Addr().String(),
		"--port=53",
		"--bind-interfaces",
		"--no-resolv", "--no-hosts", "--no-poll",
		"--addn-hosts=" + hostsFile,
		// Answer for the lab's zones only, and authoritatively: unknown
		// names get NXDOMAIN at once instead of a forwarding attempt.
		"--local=/lab.test/",
		"--local=/18.198.in-addr.arpa/",
		"--local=/19.198.in-addr.arpa/",
		"--local=/8.b.d.0.1.0.0.2.ip6.arpa/",
		"--local=/asn.cymru.com/",
		"--log-facility=-",
	}
	args = append(args, hostile...)
	d.cmd = exec.Command("ip", append(args, l.asRecords()...)...)
	d.cmd.Stdout = &d.stderr
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("start dnsmasq: %w", err)
	}
	l.dns = d
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()

	// Wait until dnsmasq answers (it binds its socket shortly after start).
	r := l.Resolver()
	probe := l.Hops4[0]
	if l.Spec.HostileNames {
		probe = l.Hops4[1]
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		names, err := r.LookupAddr(ctx, probe.String())
		cancel()
		if err == nil && len(names) > 0 {
			return nil
		}
		select {
		case <-d.done:
			return fmt.Errorf("dnsmasq exited: %v: %s", d.err, strings.TrimSpace(d.stderr.String()))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dnsmasq does not answer a reverse lookup of %s: %v (output: %s)",
				probe, err, strings.TrimSpace(d.stderr.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The lab's AS numbers: private-use ones (RFC 6996), so nothing looks like a real network.
const (
	labASBase = 64500 // router k is in AS labASBase+k
	labASDest = 64999
)

// asRecords fills l.AS and l.ASNames and returns dnsmasq's --txt-record options serving them as
// Team Cymru does: "<reversed address>.origin[6].asn.cymru.com" → "ASN | prefix | country |
// registry | allocated", and "AS<n>.asn.cymru.com" → "ASN | country | registry | allocated |
// name". IPv6 names hold only the top 64 bits, as mtr asks, so only addresses a trace shows get
// records: each /64 then has one owner.
func (l *Lab) asRecords() []string {
	l.AS = make(map[netip.Addr]uint32)
	l.ASNames = make(map[uint32]string)
	n := len(l.Hops4) - 1
	for k := range l.Hops4 {
		asn, name := uint32(labASBase+k+1), fmt.Sprintf("LAB-CARRIER-%d", k+1)
		switch {
		case k == n:
			asn, name = labASDest, "LAB-DEST"
		case k == 0 && l.Spec.HostileNames:
			name = HostileASName
		}
		l.AS[l.Hops4[k]], l.AS[l.Hops6[k]] = asn, asn
		l.ASNames[asn] = name
	}
	if l.Parallel4.IsValid() {
		asn := uint32(labASBase + l.Spec.ECMP + 1)
		l.AS[l.Parallel4], l.AS[l.Parallel6] = asn, asn
	}
	var opts []string
	for _, a := range slices.SortedFunc(maps.Keys(l.AS), netip.Addr.Compare) {
		bits, zone := 24, "origin.asn.cymru.com"
		if a.Is6() {
			bits, zone = 64, "origin6.asn.cymru.com"
		}
		p := netip.PrefixFrom(a, bits).Masked()
		opts = append(opts, fmt.Sprintf("--txt-record=%s.%s,%d | %s | ZZ | other | 2026-01-01",
			reverseName(a), zone, l.AS[a], p))
	}
	for _, asn := range slices.Sorted(maps.Keys(l.ASNames)) {
		opts = append(opts, fmt.Sprintf("--txt-record=AS%d.asn.cymru.com,%d | ZZ | other | 2026-01-01 | %s",
			asn, asn, l.ASNames[asn]))
	}
	return opts
}

// What Spec.HostileNames serves: a clear-screen (CSI 2J), a window title (OSC 0, ended by BEL),
// a C1 CSI colour, a carriage return and a line feed inside a PTR name; colours, a DEL and a
// backspace inside an AS name.
const (
	HostilePTR    = "r1\x1b[2J\x1b]0;pwned-title\x07\u009b31mred\rover\nline.lab.test"
	HostileASName = "LAB-\x1b[31mRED\x1b[0m-\x7fCARRIER\x08X"
)

// wireName is name in DNS wire format (length-prefixed labels, then the root), in hex.
func wireName(name string) string {
	var b []byte
	for _, l := range strings.Split(name, ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return hex.EncodeToString(append(b, 0))
}

// reversePTR is a's PTR record name: in-addr.arpa or ip6.arpa.
func reversePTR(a netip.Addr) string {
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", b[3], b[2], b[1], b[0])
	}
	b := a.As16()
	var s []string
	for k := 15; k >= 0; k-- {
		s = append(s, fmt.Sprintf("%x", b[k]&0xf), fmt.Sprintf("%x", b[k]>>4))
	}
	return strings.Join(s, ".") + ".ip6.arpa"
}

// reverseName is a's name under a Cymru origin zone: IPv4 octets reversed, or the nibbles of
// the top 64 bits of an IPv6 address reversed.
func reverseName(a netip.Addr) string {
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0])
	}
	b := a.As16()
	var s []string
	for k := 7; k >= 0; k-- {
		s = append(s, fmt.Sprintf("%x", b[k]&0xf), fmt.Sprintf("%x", b[k]>>4))
	}
	return strings.Join(s, ".")
}

// stop terminates dnsmasq and waits for it.
func (d *dnsmasq) stop() error {
	select {
	case <-d.done:
		return nil // already gone (its namespace may have been removed)
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return nil
	case <-time.After(2 * time.Second):
	}
	_ = d.cmd.Process.Kill()
	select {
	case <-d.done:
		return nil
	case <-time.After(2 * time.Second):
		return errors.New("dnsmasq does not exit after SIGKILL")
	}
}

// Resolver returns a resolver that asks the lab's dnsmasq, for Go code that
// resolves lab addresses: inside Run only the network namespace changes, not
// /etc/resolv.conf, so the default resolver would ask the host's servers.
// Its sockets are opened in the client namespace whichever thread dials.
// Without Spec.DNS every query fails (nothing listens).
func (l *Lab) Resolver() *net.Resolver {
	server := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 53)
	if l.DNSServer.IsValid() {
		server = l.DNSServer
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var conn net.Conn
			err := l.Run(func() error {
				var d net.Dialer
				var err error
				conn, err = d.DialContext(ctx, network, server.String())
				return err
			})
			return conn, err
		},
	}
}
