package main

import (
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
	"github.com/mtr-go/mtr-go/internal/vocab"
)

// reports splits the output of several -r reports into each one's report and start time.
func reports(t *testing.T, out string) ([]report, []time.Time) {
	t.Helper()
	var rs []report
	var starts []time.Time
	for _, part := range strings.Split(out, "Start: ")[1:] {
		line, _, _ := strings.Cut(part, "\n")
		at, err := time.Parse(vocab.TimeLayout, line)
		if err != nil {
			t.Fatalf("start line %q: %v", line, err)
		}
		starts = append(starts, at)
		rs = append(rs, parseReport(t, "Start: "+part))
	}
	return rs, starts
}

// sameReport checks that a report of several targets' run shows what the target's run alone
// showed: the same hops and addresses, every hop sent every round and clean.
func sameReport(t *testing.T, who string, got, alone report, rounds int) {
	t.Helper()
	if len(got.rows) != len(alone.rows) {
		t.Errorf("%s: %d hops, alone %d\n%s\nalone:\n%s", who, len(got.rows), len(alone.rows), got.raw, alone.raw)
		return
	}
	for i, r := range got.rows {
		a := alone.rows[i]
		addrs := append([]string{r.host}, r.extra...)
		aloneAddrs := append([]string{a.host}, a.extra...)
		switch {
		case r.hop != a.hop:
			t.Errorf("%s: hop %d where alone it is %d", who, r.hop, a.hop)
		case !slices.Equal(addrs, aloneAddrs):
			t.Errorf("%s: hop %d from %v, alone %v", who, r.hop, addrs, aloneAddrs)
		}
		if r.snt != rounds || r.loss != 0 || a.snt != rounds || a.loss != 0 {
			t.Errorf("%s: hop %d Snt %d Loss %.1f%% (alone %d, %.1f%%), want %d and 0%%", who, r.hop, r.snt, r.loss, a.snt, a.loss, rounds)
		}
	}
}

// Three targets traced at once: A at the end of the chain, B router 2 (a shorter path, which
// ends there), C the destination again over IPv6, behind A's routers.
func TestLabSeveralTargetsAtOnce(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 4, TCPOpen: []int{80}, DNS: true})
	targets := []netip.Addr{lab.Target4, lab.Hops4[1], lab.Target6}
	const rounds = 10
	for _, proto := range []struct {
		name string
		args []string
	}{{"ICMP", nil}, {"UDP", []string{"-u"}}, {"TCP", []string{"-T"}}} {
		t.Run(proto.name, func(t *testing.T) {
			base := append(slices.Clone(proto.args), "-r", "-n", "-c", "10", "-i", "0.2")
			var alone []report
			began := time.Now()
			for _, a := range targets {
				alone = append(alone, mtrgo(t, lab, append(slices.Clone(base), a.String())...))
			}
			oneByOne := time.Since(began)

			began = time.Now()
			out := run(t, lab, binary(t), append(slices.Clone(base), addrs(targets)...)...)
			atOnce := time.Since(began)
			t.Logf("%s -c %d -i 0.2, 3 targets: at once %v; one after another %v", proto.name, rounds, atOnce.Round(time.Millisecond), oneByOne.Round(time.Millisecond))

			got, starts := reports(t, out)
			if len(got) != len(targets) {
				t.Fatalf("%d reports, want %d:\n%s", len(got), len(targets), out)
			}
			// A run takes 1.8 s at least (10 rounds at -i 0.2): one after another, the third
			// start (to the second) would be 3 s or more after the first.
			for i, s := range starts {
				if d := s.Sub(starts[0]); d < 0 || d > time.Second {
					t.Errorf("report %d started %v after the first: the targets did not run at once", i+1, d)
				}
			}
			for i := range targets {
				if !strings.HasPrefix(got[i].rows[len(got[i].rows)-1].host, targets[i].String()) {
					t.Errorf("report %d does not end at %v: out of command-line order?\n%s", i+1, targets[i], got[i].raw)
				}
				sameReport(t, targets[i].String(), got[i], alone[i], rounds)
			}
		})
	}

	// The other formats keep command-line order too: streamed (raw, split) or whole (CSV, JSON).
	// Target C is the only IPv6 one, so every line about it comes after every line about A and B.
	for _, format := range []string{"-l", "-p", "-C", "-j", "-x"} {
		t.Run("format "+format, func(t *testing.T) {
			out := run(t, lab, binary(t), format, "-n", "-c", "3", "-i", "0.1", lab.Target4.String(), lab.Hops4[1].String(), lab.Target6.String())
			lines := strings.Split(strings.TrimSpace(out), "\n")
			lastV4, firstV6 := -1, len(lines)
			for i, l := range lines {
				if strings.Contains(l, "198.18.") {
					lastV4 = i
				}
				if strings.Contains(l, "2001:db8:") && i < firstV6 {
					firstV6 = i
				}
			}
			if lastV4 < 0 || firstV6 == len(lines) || lastV4 > firstV6 {
				t.Errorf("IPv4 lines up to %d, IPv6 from %d: not in command-line order\n%s", lastV4+1, firstV6+1, out)
			}
			switch format {
			case "-C":
				if n := strings.Count(out, "Mtr_Version,"); n != 1 || !strings.HasPrefix(out, "Mtr_Version,") {
					t.Errorf("%d CSV headers, want one table under one header:\n%s", n, out)
				}
				var hosts []string
				for _, l := range lines[1:] {
					if h := strings.Split(l, ",")[3]; len(hosts) == 0 || hosts[len(hosts)-1] != h {
						hosts = append(hosts, h)
					}
				}
				if want := addrs([]netip.Addr{lab.Target4, lab.Hops4[1], lab.Target6}); !slices.Equal(hosts, want) {
					t.Errorf("CSV rows by target %v, want %v", hosts, want)
				}
			case "-j":
				if n := strings.Count(out, `"dst":`); n != 3 {
					t.Errorf("%d JSON documents, want 3:\n%s", n, out)
				}
			}
		})
	}

	t.Run("unknown host among them", func(t *testing.T) {
		out, errOut, err := runErr(lab, binary(t), "-r", "-n", "-c", "2", "-i", "0.1", lab.Target4.String(), "no-such-host.lab.test", lab.Target6.String())
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("exit: %v, want code 1", err)
		}
		if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || lines[0] != "mtr-go: unknown host: no-such-host.lab.test" {
			t.Errorf("stderr %q, want the one line for the unknown host", errOut)
		}
		got, _ := reports(t, out)
		if len(got) != 2 || got[0].rows[len(got[0].rows)-1].host != lab.Target4.String() || got[1].rows[len(got[1].rows)-1].host != lab.Target6.String() {
			t.Errorf("want the reports of the two known targets, in order:\n%s", out)
		}
	})
}

// summaryRE reads a line of the live view's summary of several targets: number, target,
// destination Loss% and Avg, hops, path changes, protocol.
var summaryRE = regexp.MustCompile(`(?m)^ *(\d+)\. (\S+) +([\d.]+%|-) +([\d.]+|-) +(\d+) +(\d+)  (ICMP|UDP|TCP) *$`)

func TestLabLiveUISeveralTargets(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 3})
	targets := []netip.Addr{lab.Target4, lab.Hops4[1], lab.Target6}
	p := newPane(t, fmt.Sprintf("ip netns exec %s %s -n -i 0.2 %s; echo mtr-go-exit=$?; sleep 600", lab.Client, binary(t), strings.Join(addrs(targets), " ")))

	// The summary: one line per target, in order, each reaching its destination, clean.
	wantHops := []string{"4", "2", "4"}
	s := p.waitScreen("3 summary lines, every destination reached", func(s string) bool {
		m := summaryRE.FindAllStringSubmatch(s, -1)
		if len(m) != 3 {
			return false
		}
		for i, l := range m {
			if l[2] != targets[i].String() || l[3] != "0.0%" || l[5] != wantHops[i] || l[7] != "ICMP" {
				return false
			}
		}
		return true
	})
	if !strings.Contains(s, "-> 3 targets") {
		t.Errorf("summary title:\n%s", s)
	}

	// Tab, Tab: target 2's full view, its two hops.
	p.keys("Tab")
	p.waitScreen("target 1's view", func(s string) bool { return strings.Contains(s, "[1/3]") })
	p.keys("Tab")
	s = p.waitScreen("target 2's hops", func(s string) bool {
		h := liveHops(s)
		return strings.Contains(s, "[2/3]") && len(h) == 2 && h[1].host == lab.Hops4[0].String() && h[2].host == targets[1].String()
	})
	if !strings.Contains(s, "-> "+targets[1].String()) {
		t.Errorf("target 2's view does not name it:\n%s", s)
	}

	// r resets target 2 only: target 3's counts go on.
	p.waitScreen("Snt above 10", func(s string) bool { return liveHops(s)[1].snt > 10 })
	p.keys("r")
	// Reset, and its path found again (the final table below ends at its destination).
	p.waitScreen("target 2 reset", func(s string) bool {
		h := liveHops(s)
		return h[1].snt > 0 && h[1].snt <= 5 && len(h) == 2 && h[2].host == targets[1].String()
	})
	p.keys("Tab")
	s = p.waitScreen("target 3's hops", func(s string) bool {
		h := liveHops(s)
		return strings.Contains(s, "[3/3]") && len(h) == 4 && h[4].host == targets[2].String()
	})
	if h := liveHops(s); h[1].snt <= 10 {
		t.Errorf("r in target 2's view reset target 3 too (Snt %d):\n%s", h[1].snt, s)
	}

	// l: the list again; q quits all, with each target's final table in order.
	p.keys("l")
	p.waitScreen("the summary again", func(s string) bool { return len(summaryRE.FindAllString(s, -1)) == 3 })
	p.keys("q")
	s = p.waitScreen("the final tables", func(s string) bool { return strings.Contains(s, "mtr-go-exit=") })
	if !strings.Contains(s, "mtr-go-exit=0") || strings.Count(s, "Start: ") != 3 {
		t.Errorf("after q:\n%s", s)
	}
	last := regexp.MustCompile(`(?m)^ +\d+\.\|-- (\S+)`).FindAllStringSubmatch(s, -1)
	var ends []string
	for i, m := range last {
		if i+1 == len(last) || strings.HasPrefix(last[i+1][0], "  1.") {
			ends = append(ends, m[1])
		}
	}
	if !slices.Equal(ends, addrs(targets)) {
		t.Errorf("final tables end at %v, want %v:\n%s", ends, addrs(targets), s)
	}
}
