package main

// Network-lab tests: the real mtr-go binary, run inside the client namespace of a lab of kernel
// routers (internal/netlab), read the way a user reads its report. Every one goes through
// netlab.Require: under -short they skip; as a normal user they skip, or with CI=true or
// MTRGO_LAB=require they fail instead.

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// binary is the mtr-go under test (netlab.MtrGo: built once per test run, or MTRGO_BIN).
func binary(t *testing.T) string {
	t.Helper()
	return netlab.MtrGo(t)
}

func TestMain(m *testing.M) {
	// The live views the tests run record their hosts in the history: never the user's own.
	state, err := os.MkdirTemp("", "mtr-go-state")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_STATE_HOME", state)
	code := m.Run()
	os.RemoveAll(state)
	netlab.RemoveMtrGo()
	os.Exit(code)
}

// row is one hop line of an mtr report.
type row struct {
	hop   int
	host  string
	loss  float64
	snt   int
	extra []string // further addresses of the hop, on their own lines
	line  string
}

type report struct {
	header string
	rows   []row
	raw    string
}

var rowRE = regexp.MustCompile(`^ *(\d+)\.\|-- (\S+(?: \(\S+\))?) +([\d.]+)%? +(\d+) `)

// parseReport reads mtr's (and mtr-go's) -r output.
func parseReport(t *testing.T, out string) report {
	t.Helper()
	r := report{raw: out}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "Start: "):
		case strings.HasPrefix(l, "HOST: "):
			r.header = l
		case rowRE.MatchString(l):
			m := rowRE.FindStringSubmatch(l)
			hop, _ := strconv.Atoi(m[1])
			loss, _ := strconv.ParseFloat(m[3], 64)
			snt, _ := strconv.Atoi(m[4])
			r.rows = append(r.rows, row{hop: hop, host: m[2], loss: loss, snt: snt, line: l})
		case strings.HasPrefix(l, "        ") && len(r.rows) > 0:
			last := &r.rows[len(r.rows)-1]
			last.extra = append(last.extra, strings.TrimSpace(l))
		default:
			t.Fatalf("unexpected report line %q in:\n%s", l, out)
		}
	}
	return r
}

func (r report) hosts() []string {
	var h []string
	for _, x := range r.rows {
		h = append(h, x.host)
	}
	return h
}

// run runs a program in the lab's client namespace and returns its stdout.
func run(t *testing.T, lab *netlab.Lab, name string, args ...string) string {
	t.Helper()
	out, errOut, err := runErr(lab, name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\nstderr: %s\nstdout: %s", name, args, err, errOut, out)
	}
	return out
}

func runErr(lab *netlab.Lab, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := lab.Command(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func mtrgo(t *testing.T, lab *netlab.Lab, args ...string) report {
	t.Helper()
	return parseReport(t, run(t, lab, binary(t), args...))
}

func addrs(as []netip.Addr) []string {
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return s
}

func TestLabCleanPathMatchesMtr(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5})
	for _, fam := range []struct {
		name   string
		target netip.Addr
		hops   []netip.Addr
	}{{"IPv4", lab.Target4, lab.Hops4}, {"IPv6", lab.Target6, lab.Hops6}} {
		t.Run(fam.name, func(t *testing.T) {
			args := []string{"-r", "-n", "-c", "5", "-i", "0.2", "-G", "0.5", fam.target.String()}
			got := mtrgo(t, lab, args...)
			want := addrs(fam.hops)
			if strings.Join(got.hosts(), " ") != strings.Join(want, " ") {
				t.Fatalf("hops %v, want %v\n%s", got.hosts(), want, got.raw)
			}
			for _, r := range got.rows {
				if r.loss != 0 || r.snt != 5 {
					t.Errorf("hop %d: loss %.1f%% snt %d, want 0%% 5\n%s", r.hop, r.loss, r.snt, got.raw)
				}
			}
			mtr := parseReport(t, run(t, lab, "mtr", args...))
			if strings.Join(mtr.hosts(), " ") != strings.Join(got.hosts(), " ") {
				t.Errorf("mtr shows hops %v, mtr-go %v", mtr.hosts(), got.hosts())
			}
			// Same columns as mtr on every line: each field ends where mtr's does.
			if a, b := fieldEnds(mtr.header), fieldEnds(got.header); a != b {
				t.Errorf("header columns differ:\nmtr:    %q\nmtr-go: %q", mtr.header, got.header)
			}
			for i := range min(len(mtr.rows), len(got.rows)) {
				if a, b := fieldEnds(mtr.rows[i].line), fieldEnds(got.rows[i].line); a != b {
					t.Errorf("row %d columns differ:\nmtr:    %q\nmtr-go: %q", i+1, mtr.rows[i].line, got.rows[i].line)
				}
				if mtr.rows[i].snt != got.rows[i].snt {
					t.Errorf("row %d: Snt %d (mtr) vs %d (mtr-go)", i+1, mtr.rows[i].snt, got.rows[i].snt)
				}
			}
		})
	}
}

// fieldEnds returns the column where each whitespace-separated field of a line ends.
func fieldEnds(line string) string {
	var ends []string
	for i := range len(line) {
		if line[i] != ' ' && (i+1 == len(line) || line[i+1] == ' ') {
			ends = append(ends, strconv.Itoa(i))
		}
	}
	return strings.Join(ends, ",")
}

func TestLabThrottledHopIsTheOnlyLoss(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5, Throttle: map[int]int{2: 50}})
	got := mtrgo(t, lab, "-r", "-n", "-c", "40", "-i", "0.05", lab.Target4.String())
	if len(got.rows) != 6 {
		t.Fatalf("want 6 hops:\n%s", got.raw)
	}
	for _, r := range got.rows {
		switch {
		case r.hop == 2 && (r.loss < 20 || r.loss > 80):
			t.Errorf("throttling hop 2 shows %.1f%% loss, want about 50%%\n%s", r.loss, got.raw)
		case r.hop != 2 && r.loss != 0:
			t.Errorf("hop %d shows %.1f%% loss, want none\n%s", r.hop, r.loss, got.raw)
		}
	}
}

func TestLabRealLossFromOneRouterOn(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5, LossFrom: 3, LossPercent: 30})
	got := mtrgo(t, lab, "-r", "-n", "-c", "40", "-i", "0.05", lab.Target4.String())
	if strings.Join(got.hosts(), " ") != strings.Join(addrs(lab.Hops4), " ") {
		t.Fatalf("hops %v\n%s", got.hosts(), got.raw)
	}
	for _, r := range got.rows {
		switch {
		case r.hop < 3 && r.loss != 0:
			t.Errorf("hop %d before the lossy router shows %.1f%% loss\n%s", r.hop, r.loss, got.raw)
		case r.hop >= 3 && (r.loss < 5 || r.loss > 65):
			t.Errorf("hop %d behind the lossy router shows %.1f%% loss, want about 30%%\n%s", r.hop, r.loss, got.raw)
		}
	}
}

func TestLabDeadNodeThenSilence(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5, Dead: 3})
	for _, target := range []netip.Addr{lab.Target4, lab.Target6} {
		got := mtrgo(t, lab, "-r", "-n", "-c", "3", "-i", "0.1", target.String())
		hops := lab.Hops4
		if target.Is6() {
			hops = lab.Hops6
		}
		want := append(addrs(hops[:3]), "???")
		if strings.Join(got.hosts(), " ") != strings.Join(want, " ") {
			t.Errorf("hops %v, want %v\n%s", got.hosts(), want, got.raw)
			continue
		}
		if r := got.rows[3]; r.loss != 100 || r.snt != 3 {
			t.Errorf("??? row: loss %.1f snt %d, want 100 3\n%s", r.loss, r.snt, got.raw)
		}
	}
}

func TestLabSilentDestination(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5, SilentDest: true})
	start := time.Now()
	got := mtrgo(t, lab, "-r", "-n", "-c", "2", "-i", "0.1", "-G", "1", lab.Target4.String())
	want := append(addrs(lab.Hops4[:5]), "???")
	if strings.Join(got.hosts(), " ") != strings.Join(want, " ") {
		t.Errorf("hops %v, want %v\n%s", got.hosts(), want, got.raw)
	}
	// The destination never answered, so its answer might still come: like mtr, the report waits
	// for it, but only up to -G. Not a timing assertion on speed: a check that -G bounds the wait
	// (2 rounds of 0.1 s and 1 s of grace, against mtr-go's default 5 s).
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("report took %v with -G 1", d)
	}
}

func TestLabRoutingLoopAlternates(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5, Loop: 4})
	got := mtrgo(t, lab, "-r", "-n", "-c", "2", "-i", "0.05", "-m", "10", lab.Target4.String())
	if len(got.rows) != 10 {
		t.Fatalf("a loop should fill every TTL up to -m 10:\n%s", got.raw)
	}
	for _, r := range got.rows[3:] {
		want := lab.Hops4[3] // router 4
		if (r.hop-4)%2 == 1 {
			want = lab.Hops4[2] // router 3
		}
		if r.host != want.String() {
			t.Errorf("hop %d: %s, want %s (loop between routers 3 and 4)\n%s", r.hop, r.host, want, got.raw)
		}
	}
}

func TestLabNoRouteEndsAtTheUnreachableHop(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5, NoRoute: 3})
	got := mtrgo(t, lab, "-r", "-n", "-c", "3", "-i", "0.1", lab.Target4.String())
	want := addrs(lab.Hops4[:3])
	if strings.Join(got.hosts(), " ") != strings.Join(want, " ") {
		t.Errorf("hops %v, want %v\n%s", got.hosts(), want, got.raw)
	}
}

func TestLabReverseDNSNames(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5, DNS: true})
	got := mtrgo(t, lab, "-r", "-c", "2", "-i", "0.1", lab.Target4.String())
	var want []string
	for _, a := range lab.Hops4 {
		want = append(want, lab.Names[a])
	}
	if strings.Join(got.hosts(), " ") != strings.Join(want, " ") {
		t.Errorf("names %v, want %v\n%s", got.hosts(), want, got.raw)
	}
	got = mtrgo(t, lab, "-r", "-b", "-w", "-c", "1", "-i", "0.1", lab.Target6.String())
	if r := got.rows[0]; r.host != fmt.Sprintf("%s (%s)", lab.Names[lab.Hops6[0]], lab.Hops6[0]) {
		t.Errorf("-b row: %q\n%s", r.host, got.raw)
	}
	got = mtrgo(t, lab, "-r", "-n", "-c", "1", "-i", "0.1", lab.Target4.String())
	if got.rows[0].host != lab.Hops4[0].String() {
		t.Errorf("-n shows %q", got.rows[0].host)
	}
}

func TestLabConcurrentInstancesDoNotStealAnswers(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5})
	var wg sync.WaitGroup
	outs := make([]string, 4)
	errs := make([]error, 4)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var errOut string
			outs[i], errOut, errs[i] = runErr(lab, binary(t), "-r", "-n", "-c", "10", "-i", "0.1", lab.Target4.String())
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%v: %s", errs[i], errOut)
			}
		}()
	}
	wg.Wait()
	for i, out := range outs {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		r := parseReport(t, out)
		if len(r.rows) != 6 {
			t.Errorf("instance %d: %d hops\n%s", i, len(r.rows), out)
		}
		for _, x := range r.rows {
			if x.loss != 0 || x.snt != 10 {
				t.Errorf("instance %d hop %d: loss %.1f%% snt %d\n%s", i, x.hop, x.loss, x.snt, out)
			}
		}
	}
}

func TestLabErrorsAreOneLine(t *testing.T) {
	// NoPingGroup: without it an unprivileged user traces through ping sockets, not an error.
	lab := netlab.New(t, netlab.Spec{Routers: 1, DNS: true, NoPingGroup: true})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown host", []string{"-r", "-c", "1", "no-such-host.lab.test"}, "mtr-go: unknown host: no-such-host.lab.test"},
		{"value out of range", []string{"-r", "-m", "300", lab.Target4.String()}, "mtr-go: -m/--max-ttl: value out of range (1-255): 300"},
		{"family mismatch", []string{"-r", "-4", lab.Target6.String()}, "is not an IPv4 address"},
		{"no permission", []string{"-r", "-c", "1", lab.Target4.String()}, "run with sudo, or give the binary the capability once (sudo setcap cap_net_raw+ep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name, args := binary(t), tc.args
			if tc.name == "no permission" {
				// An unprivileged user: setpriv drops to nobody with no capabilities.
				name, args = "setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", binary(t)}, args...)
				if err := os.Chmod(filepath.Dir(binary(t)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			out, errOut, err := runErr(lab, name, args...)
			if err == nil {
				t.Fatalf("exit 0; stdout %q", out)
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Errorf("exit: %v, want code 1", err)
			}
			if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q, want one line containing %q", errOut, tc.want)
			}
		})
	}
}

// lossPattern marks each hop as lossy (x) or clean (.), the way an engineer first reads a report.
func lossPattern(r report) string {
	var b strings.Builder
	for _, x := range r.rows {
		if x.loss > 0 {
			b.WriteByte('x')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func TestLabSideBySideWithMtrOnFaultyPaths(t *testing.T) {
	tests := []struct {
		name    string
		spec    netlab.Spec
		args    []string
		pattern string // expected loss pattern, hop 1 first
	}{
		{"throttling hop", netlab.Spec{Routers: 5, Throttle: map[int]int{2: 50}}, []string{"-c", "30", "-i", "0.05"}, ".x...."},
		{"real loss from hop 3", netlab.Spec{Routers: 5, LossFrom: 3, LossPercent: 40}, []string{"-c", "30", "-i", "0.05"}, "..xxxx"},
		{"dead node", netlab.Spec{Routers: 5, Dead: 3}, []string{"-c", "3", "-i", "0.1"}, "...x"},
		{"silent destination", netlab.Spec{Routers: 5, SilentDest: true}, []string{"-c", "3", "-i", "0.1"}, ".....x"},
		{"routing loop", netlab.Spec{Routers: 5, Loop: 4}, []string{"-c", "3", "-i", "0.05", "-m", "12"}, "............"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lab := netlab.New(t, tc.spec)
			for _, target := range []netip.Addr{lab.Target4, lab.Target6} {
				// -G 0.5 spares mtr its fixed 5 s wait; lab answers take well under a millisecond.
				args := append([]string{"-r", "-n", "-G", "0.5"}, tc.args...)
				args = append(args, target.String())
				got := mtrgo(t, lab, args...)
				mtr := parseReport(t, run(t, lab, "mtr", args...))
				if strings.Join(got.hosts(), " ") != strings.Join(mtr.hosts(), " ") {
					t.Errorf("%s: hops differ\nmtr:\n%s\nmtr-go:\n%s", target, mtr.raw, got.raw)
					continue
				}
				for i := range got.rows {
					if got.rows[i].snt != mtr.rows[i].snt {
						t.Errorf("%s hop %d: Snt %d, mtr %d", target, i+1, got.rows[i].snt, mtr.rows[i].snt)
					}
				}
				if p, m := lossPattern(got), lossPattern(mtr); p != tc.pattern || m != tc.pattern {
					t.Errorf("%s: loss pattern mtr-go %s, mtr %s, want %s\nmtr:\n%s\nmtr-go:\n%s", target, p, m, tc.pattern, mtr.raw, got.raw)
				}
			}
		})
	}
}

func TestLabInterruptedReportPrintsWhatItHas(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := lab.Command(ctx, binary(t), "-r", "-n", "-c", "1000", "-i", "0.1", lab.Target4.String())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("exit %v, want 130; stderr %q", err, stderr.String())
	}
	r := parseReport(t, stdout.String())
	if len(r.rows) != 4 {
		t.Fatalf("want the 4 hops so far:\n%s", r.raw)
	}
	for _, x := range r.rows {
		if x.snt < 5 || x.snt > 30 || x.loss != 0 {
			t.Errorf("hop %d: snt %d loss %.1f%% after 1.5 s at -i 0.1\n%s", x.hop, x.snt, x.loss, r.raw)
		}
	}
}

func TestLabSeveralTargetsEachWithItsOwnStart(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	out := run(t, lab, binary(t), "-r", "-n", "-c", "2", "-i", "0.1", lab.Target4.String(), lab.Target6.String())
	parts := strings.Split(out, "Start: ")
	if len(parts) != 3 {
		t.Fatalf("want two reports:\n%s", out)
	}
	for i, want := range [][]netip.Addr{lab.Hops4, lab.Hops6} {
		r := parseReport(t, "Start: "+parts[i+1])
		if strings.Join(r.hosts(), " ") != strings.Join(addrs(want), " ") {
			t.Errorf("report %d: hops %v, want %v", i+1, r.hosts(), want)
		}
	}
}

func TestLabSourceAddressAndInterface(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	src4 := netip.MustParseAddr("198.18.0.1") // the client's end of link 0
	for _, args := range [][]string{
		{"-a", src4.String(), lab.Target4.String()},
		{"-I", "todest", lab.Target4.String()},
		{"-I", "todest", lab.Target6.String()},
	} {
		want := lab.Hops4
		if strings.Contains(args[2], ":") {
			want = lab.Hops6
		}
		r := mtrgo(t, lab, append([]string{"-r", "-n", "-c", "2", "-i", "0.1"}, args...)...)
		if strings.Join(r.hosts(), " ") != strings.Join(addrs(want), " ") {
			t.Errorf("%v: hops %v, want %v", args, r.hosts(), want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-a", "198.18.99.99", lab.Target4.String()}, "198.18.99.99"},
		{[]string{"-I", "nosuchif0", lab.Target4.String()}, "no such interface nosuchif0"},
		{[]string{"-a", "2001:db8::1", lab.Target4.String()}, "2001:db8::1"},
	} {
		_, errOut, err := runErr(lab, binary(t), append([]string{"-r", "-n", "-c", "1"}, tc.args...)...)
		if err == nil || !strings.HasPrefix(errOut, "mtr-go: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: err %v, stderr %q; want one line naming %q", tc.args, err, errOut, tc.want)
		}
	}
}
