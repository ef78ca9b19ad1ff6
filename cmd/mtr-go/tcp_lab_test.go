package main

// Lab tests of TCP probes on a path with real loss: the kernel retransmits an unanswered SYN
// after 1 s, 3 s, ..., with the same TTL and ports, and an answer to a retransmission must never
// count as a (late) answer to the probe.

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// wrst reads the Wrst column (ms) of a report row of the default fields.
func wrst(t *testing.T, r row) float64 {
	t.Helper()
	f := strings.Fields(r.line)
	if len(f) < 9 {
		t.Fatalf("row %q has no Wrst field", r.line)
	}
	v, err := strconv.ParseFloat(f[7], 64)
	if err != nil {
		t.Fatalf("row %q: Wrst %q: %v", r.line, f[7], err)
	}
	return v
}

// checkRealLoss checks a TCP report of count probes a hop on a path where router lossFrom drops
// 30 % of what the client sends: no loss before it, about 30 % at it and after it (10..55 % for
// 60 probes, 5..60 % for 40: a binomial with p = 0.3 leaves those ranges with a probability of
// about 1e-4), and no hop's worst time anywhere near the 1 s of the first SYN retransmission.
func checkRealLoss(t *testing.T, who string, got report, hops []string, lossFrom, count int) {
	t.Helper()
	if strings.Join(got.hosts(), " ") != strings.Join(hops, " ") {
		t.Fatalf("%s: hops %v, want %v\n%s", who, got.hosts(), hops, got.raw)
	}
	for _, r := range got.rows {
		switch {
		case r.snt != count:
			t.Errorf("%s: hop %d sent %d, want %d\n%s", who, r.hop, r.snt, count, got.raw)
		case r.hop < lossFrom && r.loss != 0:
			t.Errorf("%s: hop %d before the lossy router shows %.1f%% loss\n%s", who, r.hop, r.loss, got.raw)
		case r.hop >= lossFrom && (count >= 60 && (r.loss < 10 || r.loss > 55) || r.loss < 5 || r.loss > 60):
			t.Errorf("%s: hop %d behind the lossy router shows %.1f%% loss, want about 30%%\n%s", who, r.hop, r.loss, got.raw)
		}
		if w := wrst(t, r); w >= 500 {
			t.Errorf("%s: hop %d Wrst %.1f ms: an answer to a retransmitted SYN was counted\n%s", who, r.hop, w, got.raw)
		}
	}
}

func TestLabTCPRealLossIsNotHiddenBySYNRetransmissions(t *testing.T) {
	const lossFrom = 6
	lab := netlab.New(t, netlab.Spec{Routers: 8, LossFrom: lossFrom, LossPercent: 30, TCPOpen: []int{80}})
	for _, fam := range families(lab) {
		hops := addrs(fam.hops)
		args := []string{"-T", "-P", "80", "-r", "-c", "60", "-i", "0.1", "-n", fam.target.String()}
		t.Run(fam.name+"/raw SYNs (root)", func(t *testing.T) {
			checkRealLoss(t, "mtr-go as root", mtrgo(t, lab, args...), hops, lossFrom, 60)
		})
		t.Run(fam.name+"/connect (no privilege)", func(t *testing.T) {
			// Without privilege rounds are at least 1 s apart, as in mtr: 40 of them, both
			// families at once.
			t.Parallel()
			slow := []string{"-T", "-P", "80", "-r", "-c", "40", "-i", "1", "-n", fam.target.String()}
			name, nargs := asNobody(nobodyCopy(t, false), slow...)
			out, errOut, err := runErr(lab, name, nargs...)
			if err != nil {
				t.Fatalf("%v: %s", err, errOut)
			}
			checkRealLoss(t, "mtr-go without privilege", parseReport(t, out), hops, lossFrom, 40)
		})
		t.Run(fam.name+"/mtr 0.95 side by side", func(t *testing.T) {
			// Not checked, only shown: mtr 0.95 counts the retransmissions' answers, so it shows
			// no loss and worst times of 1 s and more.
			mtr := parseReport(t, run(t, lab, "mtr", "-T", "-P", "80", "-r", "-c", "30", "-i", "0.1", "-n", fam.target.String()))
			var loss []string
			for _, r := range mtr.rows {
				loss = append(loss, strconv.FormatFloat(r.loss, 'f', 1, 64)+"%/"+strconv.FormatFloat(wrst(t, r), 'f', 0, 64)+"ms")
			}
			t.Logf("mtr 0.95 -T, loss/Wrst by hop: %s", strings.Join(loss, " "))
		})
	}
}

// TestLabTCPWithoutPrivilege: the connect prober, as an ordinary user, reaches an open port
// (SYN-ACK) and a closed one (RST) over both families.
func TestLabTCPWithoutPrivilege(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 3, TCPOpen: []int{80}})
	bin := nobodyCopy(t, false)
	for _, fam := range families(lab) {
		for _, port := range []string{"80", "81"} {
			for _, paris := range [][]string{nil, {"--paris"}} {
				// Without privilege rounds are at least 1 s apart: the eight runs go at once.
				args := append([]string{"-T", "-P", port, "-r", "-n", "-c", "3", "-i", "1", fam.target.String()}, paris...)
				t.Run(strings.Join(args[:3], " ")+" "+strings.Join(paris, "")+" "+fam.name, func(t *testing.T) {
					t.Parallel()
					name, nargs := asNobody(bin, args...)
					out, errOut, err := runErr(lab, name, nargs...)
					if err != nil {
						t.Fatalf("%v: %v: %s", args, err, errOut)
					}
					got := parseReport(t, out)
					if strings.Join(got.hosts(), " ") != strings.Join(addrs(fam.hops), " ") {
						t.Errorf("%v: hops %v, want %v\n%s", args, got.hosts(), addrs(fam.hops), out)
					}
					for _, r := range got.rows {
						if r.loss != 0 {
							t.Errorf("%v: hop %d loss %.1f%%\n%s", args, r.hop, r.loss, out)
						}
					}
				})
			}
		}
	}
}
