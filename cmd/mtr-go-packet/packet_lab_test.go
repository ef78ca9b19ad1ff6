package main

// Network-lab tests: the real mtr-go-packet binary in a lab's client namespace, driven over a
// pipe as mtr drives mtr-packet, and real mtr (Debian mtr-tiny) on top of it.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// helperBinary builds mtr-go-packet once, as the Makefile does (without cgo, so dropping
// capabilities reaches every thread).
func helperBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mtr-go-packet-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mtr-go-packet")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// helper is a running mtr-go-packet with its pipes.
type helper struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

func startHelper(t *testing.T, lab *netlab.Lab) *helper {
	t.Helper()
	return startHelperCmd(t, lab, helperBinary(t))
}

// startHelperCmd starts the helper as the command name args... runs it (e.g. through setpriv).
func startHelperCmd(t *testing.T, lab *netlab.Lab, name string, args ...string) *helper {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := lab.Command(ctx, name, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{t: t, cmd: cmd, in: in, lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(func() { in.Close(); cmd.Wait(); cancel() })
	return h
}

func (h *helper) send(line string) {
	h.t.Helper()
	if _, err := io.WriteString(h.in, line+"\n"); err != nil {
		h.t.Fatalf("write %q: %v", line, err)
	}
}

func (h *helper) read() string {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			h.t.Fatal("the helper closed its output")
		}
		return l
	case <-time.After(15 * time.Second):
		h.t.Fatal("no reply within 15 s")
	}
	return ""
}

// expect reads one reply and checks it against a pattern where RTT stands for the round trip.
func (h *helper) expect(want string) string {
	h.t.Helper()
	got := h.read()
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(want), "RTT", `\d+`) + "$"
	if !regexp.MustCompile(re).MatchString(got) {
		h.t.Fatalf("got %q, want %q", got, want)
	}
	return got
}

// TestLabHelperReplies drives the helper through every kind of answer a lab path gives, for
// IPv4 and IPv6: a router's ttl-expired, the destination's reply to ICMP, UDP (closed port) and
// TCP (open and closed ports), no-reply at the requested timeout from a router that drops its
// answers, and a near probe whose slow router answers after the far probe's destination.
func TestLabHelperReplies(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 3, SlowAnswer: map[int]time.Duration{1: 400 * time.Millisecond}, TCPOpen: []int{80}, NoPingGroup: true})
	// Router 2 drops all its time-exceeded answers (Spec.Throttle stops at 99 %).
	drop := exec.Command("ip", "netns", "exec", lab.Router(2), "nft", "-f", "-")
	drop.Stdin = strings.NewReader("table inet mtrgopk {\n chain out {\n  type filter hook output priority 0;\n  icmp type time-exceeded drop\n  icmpv6 type time-exceeded drop\n }\n}\n")
	if out, err := drop.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	for _, fam := range []struct {
		ip     string
		target netip.Addr
		hops   []netip.Addr
	}{{"ip-4", lab.Target4, lab.Hops4}, {"ip-6", lab.Target6, lab.Hops6}} {
		t.Run(fam.ip, func(t *testing.T) {
			h := startHelper(t, lab)
			T, r1 := fam.target.String(), fam.hops[0].String()
			h.send("1 check-support feature " + fam.ip)
			h.expect("1 feature-support support ok")
			h.send("2 check-support feature sctp")
			h.expect("2 feature-support support ok")
			// Near (slow router 1) first, far second: the far one completes first.
			h.send(fmt.Sprintf("10 send-probe %s %s ttl 1 timeout 5", fam.ip, T))
			h.send(fmt.Sprintf("11 send-probe %s %s timeout 5", fam.ip, T))
			h.expect(fmt.Sprintf("11 reply %s %s round-trip-time RTT", fam.ip, T))
			got := h.expect(fmt.Sprintf("10 ttl-expired %s %s round-trip-time RTT", fam.ip, r1))
			var rtt int
			fmt.Sscanf(got[strings.LastIndex(got, " ")+1:], "%d", &rtt)
			if rtt < 390_000 {
				t.Errorf("slow router's round trip %d µs, want at least its 400 ms delay", rtt)
			}
			for i, c := range []struct{ args, want string }{
				{"protocol udp", "reply %s %s"},
				{"protocol udp port 53", "reply %s %s"},
				{"protocol tcp port 80", "reply %s %s"},
				{"protocol tcp port 81", "reply %s %s"},
				{"protocol tcp port 80 ttl 1", "ttl-expired %s " + r1},
				{"protocol udp ttl 1", "ttl-expired %s " + r1},
				// The lab's destination has no SCTP: its protocol unreachable is the answer.
				{"protocol sctp port 80", "reply %s %s"},
				{"protocol sctp ttl 1", "ttl-expired %s " + r1},
			} {
				tok := 20 + i
				h.send(fmt.Sprintf("%d send-probe %s %s %s timeout 5", tok, fam.ip, T, c.args))
				want := c.want
				if strings.Count(want, "%s") == 2 {
					want = fmt.Sprintf(want, fam.ip, T)
				} else {
					want = fmt.Sprintf(want, fam.ip)
				}
				h.expect(fmt.Sprintf("%d %s round-trip-time RTT", tok, want))
			}
			// A UDP port open at the destination takes the probe and answers nothing (as a
			// service that ignores it would): no-reply, where a closed port's answer is reply.
			var udp *net.UDPConn
			if err := lab.RunIn(lab.Dest(), func() (err error) {
				udp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(fam.target, 5353)))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer udp.Close()
			h.send(fmt.Sprintf("29 send-probe %s %s protocol udp port 5353 timeout 1", fam.ip, T))
			h.expect("29 no-reply")
			// Router 2 drops every answer: no-reply once the 1 s timeout is over, not before.
			start := time.Now()
			h.send(fmt.Sprintf("30 send-probe %s %s ttl 2 timeout 1", fam.ip, T))
			h.expect("30 no-reply")
			if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
				t.Errorf("no-reply after %v, want about 1 s", d)
			}
			// Privileges are gone while it runs: no capability in any set.
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
				if m := regexp.MustCompile(`(?m)^` + set + `:\s*(\S+)`).FindStringSubmatch(string(status)); m == nil || m[1] != "0000000000000000" {
					t.Errorf("/proc/PID/status %s = %v, want none", set, m)
				}
			}
			// stdin closed with a probe in flight: its reply comes, then the helper exits.
			h.send(fmt.Sprintf("40 send-probe %s %s ttl 1 timeout 5", fam.ip, T))
			h.in.Close()
			h.expect(fmt.Sprintf("40 ttl-expired %s %s round-trip-time RTT", fam.ip, r1))
			if err := h.cmd.Wait(); err != nil {
				t.Errorf("helper exit: %v", err)
			}
		})
	}
}

// hostsRE reads the host column of an mtr report's hop lines.
var hostsRE = regexp.MustCompile(`(?m)^ *\d+\.\|-- (\S+)`)

// TestLabMtrOnHelper runs real mtr on top of mtr-go-packet (MTR_PACKET) and on its own
// mtr-packet on the same lab path: the same hops, every one answering.
func TestLabMtrOnHelper(t *testing.T) {
	netlab.Require(t, netlab.Tool("mtr", "mtr-tiny"))
	lab := netlab.New(t, netlab.Spec{Routers: 4, TCPOpen: []int{80}, NoPingGroup: true}) // ICMP only through the raw sockets opened before the drop
	bin := helperBinary(t)
	for _, c := range []struct {
		name   string
		target netip.Addr
		hops   []netip.Addr
		args   []string
	}{
		{"icmp4", lab.Target4, lab.Hops4, nil},
		{"icmp6", lab.Target6, lab.Hops6, nil},
		{"udp4", lab.Target4, lab.Hops4, []string{"-u"}},
		{"tcp6", lab.Target6, lab.Hops6, []string{"-T", "-P", "80"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-r", "-n", "-c", "3", "-i", "0.2", "-G", "1"}, c.args...)
			args = append(args, c.target.String())
			var reports [2]string
			for i, env := range []string{"MTR_PACKET=" + bin, ""} {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cmd := lab.Command(ctx, "mtr", args...)
				if env != "" {
					cmd.Env = append(os.Environ(), env)
				}
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					t.Fatalf("mtr %v (%s): %v\n%s", args, env, err, out)
				}
				reports[i] = string(out)
			}
			var hosts [2][]string
			for i, r := range reports {
				for _, m := range hostsRE.FindAllStringSubmatch(r, -1) {
					hosts[i] = append(hosts[i], m[1])
				}
			}
			var want []string
			for _, a := range c.hops {
				want = append(want, a.String())
			}
			if strings.Join(hosts[0], " ") != strings.Join(want, " ") {
				t.Errorf("mtr on mtr-go-packet shows %v, want %v\n%s", hosts[0], want, reports[0])
			}
			if strings.Join(hosts[0], " ") != strings.Join(hosts[1], " ") {
				t.Errorf("mtr on mtr-go-packet shows %v, on its own mtr-packet %v\n%s\n%s", hosts[0], hosts[1], reports[0], reports[1])
			}
			if strings.Contains(reports[0], "100.0") {
				t.Errorf("a hop lost every probe on mtr-go-packet:\n%s", reports[0])
			}
		})
	}
}

var (
	uiOnce sync.Once
	uiPath string
	uiErr  error
)

// uiBinary builds mtr-go (the UI) into the helper's directory.
func uiBinary(t *testing.T) string {
	t.Helper()
	dir := filepath.Dir(helperBinary(t))
	uiOnce.Do(func() {
		uiPath = filepath.Join(dir, "mtr-go")
		cmd := exec.Command("go", "build", "-o", uiPath, "../mtr-go")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			uiErr = fmt.Errorf("go build mtr-go: %v\n%s", err, out)
		}
	})
	if uiErr != nil {
		t.Fatal(uiErr)
	}
	return uiPath
}

// labRun runs a command in the lab's client namespace, with extra environment.
func labRun(t *testing.T, lab *netlab.Lab, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := lab.Command(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func reportHosts(out string) []string {
	var h []string
	for _, m := range hostsRE.FindAllStringSubmatch(out, -1) {
		h = append(h, m[1])
	}
	return h
}

// TestLabMtrGoOnHelper runs mtr-go on top of a helper: mtr-go-packet by --packet-helper and by
// MTR_PACKET, and mtr's own mtr-packet; every hop of the path answers, to SCTP probes too.
func TestLabMtrGoOnHelper(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 4, TCPOpen: []int{443}})
	ui, ours := uiBinary(t), helperBinary(t)
	type tc struct {
		name   string
		env    []string
		args   []string
		target netip.Addr
		hops   []netip.Addr
	}
	cases := []tc{
		{"flag-icmp4", nil, []string{"--packet-helper", ours}, lab.Target4, lab.Hops4},
		{"env-udp6", []string{"MTR_PACKET=" + ours}, []string{"-u"}, lab.Target6, lab.Hops6},
		{"flag-tcp4", nil, []string{"--packet-helper", ours, "-T", "-P", "443"}, lab.Target4, lab.Hops4},
		// The destination has no SCTP: its protocol unreachable is the last hop's answer.
		{"flag-sctp6", nil, []string{"--packet-helper", ours, "-S"}, lab.Target6, lab.Hops6},
	}
	if p, err := exec.LookPath("mtr-packet"); err == nil {
		cases = append(cases, tc{"mtr-packet-icmp6", nil, []string{"--packet-helper", p}, lab.Target6, lab.Hops6},
			tc{"mtr-packet-tcp4", []string{"MTR_PACKET=" + p}, []string{"-T", "-P", "443"}, lab.Target4, lab.Hops4})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-r", "-n", "-c", "3", "-i", "0.2", "-G", "1"}, c.args...)
			out, err := labRun(t, lab, c.env, ui, append(args, c.target.String())...)
			if err != nil {
				t.Fatalf("mtr-go %v: %v\n%s", args, err, out)
			}
			var want []string
			for _, a := range c.hops {
				want = append(want, a.String())
			}
			if got := reportHosts(out); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("hops %v, want %v\n%s", got, want, out)
			}
			if strings.Contains(out, "100.0") {
				t.Errorf("a hop lost every probe:\n%s", out)
			}
		})
	}
	t.Run("helper-gone", func(t *testing.T) {
		out, err := labRun(t, lab, nil, ui, "-r", "-n", "-c", "1", "--packet-helper", "/nonexistent/mtr-go-packet", lab.Target4.String())
		if err == nil || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.HasPrefix(out, "mtr-go: ") {
			t.Errorf("a missing helper: %v, %q; want exit 1 and one line", err, out)
		}
	})
}

// TestLabOrdinaryUserOnCapableHelper installs as make install does, in a temporary directory:
// mtr-go without any capability, mtr-go-packet beside it with cap_net_raw. An ordinary user
// (uid 65534, no capabilities) then traces with ICMP, the helper found beside mtr-go; and a
// mtr-go given cap_net_raw itself refuses MTR_PACKET.
func TestLabOrdinaryUserOnCapableHelper(t *testing.T) {
	netlab.Require(t, netlab.Tool("setcap", "libcap2-bin"))
	netlab.Require(t, netlab.Tool("setpriv", "util-linux"))
	lab := netlab.New(t, netlab.Spec{Routers: 3, NoPingGroup: true})
	dir, err := os.MkdirTemp("", "mtr-go-install")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	install := func(src, name string, caps string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name)
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
		if caps != "" {
			if out, err := exec.Command("setcap", caps, dst).CombinedOutput(); err != nil {
				t.Fatalf("setcap: %v\n%s", err, out)
			}
		}
		return dst
	}
	ui := install(uiBinary(t), "mtr-go", "")
	helper := install(helperBinary(t), "mtr-go-packet", "cap_net_raw+ep")
	nobody := []string{"--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all,+net_raw"}

	// Without the helper, the ordinary user has no way to send ICMP here (ping sockets closed).
	os.Rename(helper, helper+".off")
	out, err := labRun(t, lab, nil, "setpriv", append(nobody, ui, "-r", "-n", "-c", "1", lab.Target4.String())...)
	if err == nil {
		t.Fatalf("an ordinary user traced with ICMP without a helper:\n%s", out)
	}
	os.Rename(helper+".off", helper)

	out, err = labRun(t, lab, nil, "setpriv", append(nobody, ui, "-r", "-n", "-c", "2", "-G", "1", lab.Target4.String())...)
	if err != nil {
		t.Fatalf("mtr-go as uid 65534 over a capable helper: %v\n%s", err, out)
	}
	var want []string
	for _, a := range lab.Hops4 {
		want = append(want, a.String())
	}
	if got := reportHosts(out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("hops %v, want %v\n%s", got, want, out)
	}

	// A mtr-go that gets cap_net_raw from its file must not run what MTR_PACKET names.
	capUI := install(uiBinary(t), "mtr-go-cap", "cap_net_raw+ep")
	out, err = labRun(t, lab, []string{"MTR_PACKET=" + helper}, "setpriv", append(nobody, capUI, "-r", "-n", "-c", "1", lab.Target4.String())...)
	if err == nil || !strings.Contains(out, "MTR_PACKET refused") {
		t.Errorf("a mtr-go with file capabilities took MTR_PACKET: %v\n%s", err, out)
	}
	out, err = labRun(t, lab, nil, "setpriv", append(nobody, capUI, "-r", "-n", "-c", "1", "--packet-helper", helper, lab.Target4.String())...)
	if err == nil || !strings.Contains(out, "--packet-helper refused") {
		t.Errorf("a mtr-go with file capabilities took --packet-helper: %v\n%s", err, out)
	}
}

// TestLabSetuidHelper installs the helper setuid root, as mtr-packet may be installed, and runs
// it as uid 65534: it probes through the raw sockets it opened as root, and once it reads
// commands no id of the process is 0 any more (real, effective, saved) and no capability is
// left, so a bug in what it parses cannot act as root's files' owner.
func TestLabSetuidHelper(t *testing.T) {
	netlab.Require(t, netlab.Tool("setpriv", "util-linux"))
	lab := netlab.New(t, netlab.Spec{Routers: 2, NoPingGroup: true})
	dir, err := os.MkdirTemp("", "mtr-go-setuid")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(helperBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mtr-go-packet")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	h := startHelperCmd(t, lab, "setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all", bin)
	// An ICMP probe with ping sockets closed: only the raw sockets opened as root can send it.
	h.send(fmt.Sprintf("1 send-probe ip-4 %s ttl 1 timeout 5", lab.Target4))
	h.expect(fmt.Sprintf("1 ttl-expired ip-4 %s round-trip-time RTT", lab.Hops4[0]))
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"Uid", "Gid"} {
		if m := regexp.MustCompile(`(?m)^` + line + `:\s*(.*)$`).FindStringSubmatch(string(status)); m == nil || strings.Join(strings.Fields(m[1]), " ") != "65534 65534 65534 65534" {
			t.Errorf("/proc/PID/status %s: %v, want 65534 in every place", line, m)
		}
	}
	for _, set := range []string{"CapPrm", "CapEff"} {
		if m := regexp.MustCompile(`(?m)^` + set + `:\s*(\S+)`).FindStringSubmatch(string(status)); m == nil || m[1] != "0000000000000000" {
			t.Errorf("/proc/PID/status %s = %v, want none", set, m)
		}
	}
}
