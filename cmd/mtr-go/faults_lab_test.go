package main

// Lab tests of answers that come late and sends that fail (issue 9): a router with a slow
// control plane, a freshly configured IPv6 path, a client whose route flaps or whose firewall
// refuses its probes. Each runs the built binary the way a user would and checks what an
// engineer reading the report expects, side by side with mtr 0.95 where mtr gets it right.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// avg is a report row's Avg column in ms (mtr prints 1500.4 as "1500.").
func avg(t *testing.T, r row) float64 {
	t.Helper()
	f := strings.Fields(r.line) // hop, host, Loss%, Snt, Last, Avg, Best, Wrst, StDev
	if len(f) < 5 {
		t.Fatalf("no Avg in %q", r.line)
	}
	v, err := strconv.ParseFloat(f[len(f)-4], 64)
	if err != nil {
		t.Fatalf("Avg of %q: %v", r.line, err)
	}
	return v
}

func TestLabSlowHopIsWaitedFor(t *testing.T) {
	const delay = 1500 * time.Millisecond // router 2's answers; forwarding through it is not slowed
	lab := netlab.New(t, netlab.Spec{Routers: 5, SlowAnswer: map[int]time.Duration{2: delay}})
	for _, fam := range families(lab) {
		t.Run(fam.name, func(t *testing.T) {
			args := []string{"-r", "-n", "-c", "3", "-i", "0.2", fam.target.String()}
			start := time.Now()
			got := mtrgo(t, lab, args...)
			t.Logf("mtr-go %v took %v\n%s", args, time.Since(start), got.raw)
			// Within its 5 s gracetime the hop's answers are all in: it is a slow hop, not a lossy
			// one, and mtr shows it so.
			if strings.Join(got.hosts(), " ") != strings.Join(addrs(fam.hops), " ") {
				t.Fatalf("hops %v, want %v\n%s", got.hosts(), addrs(fam.hops), got.raw)
			}
			for _, r := range got.rows {
				if r.loss != 0 || r.snt != 3 {
					t.Errorf("hop %d: loss %.1f%% snt %d, want 0%% 3\n%s", r.hop, r.loss, r.snt, got.raw)
				}
				a, slow := avg(t, r), r.hop == 2
				switch {
				case slow && (a < 1450 || a > 2500):
					t.Errorf("slow hop 2: Avg %.1f ms, want about %v", a, delay)
				case !slow && a > 500:
					t.Errorf("hop %d behind or before the slow router: Avg %.1f ms, want a few ms", r.hop, a)
				}
			}
			if fam.target.Is6() {
				return // one comparison with mtr is enough; each costs its 5 s gracetime
			}
			mtr := parseReport(t, run(t, lab, "mtr", args...))
			if strings.Join(mtr.hosts(), " ") != strings.Join(got.hosts(), " ") || mtr.rows[1].loss != 0 {
				t.Errorf("mtr shows hops %v, mtr-go %v; want both with hop 2 at 0%% loss\nmtr:\n%s", mtr.hosts(), got.hosts(), mtr.raw)
			}
		})
	}
	t.Run("gracetime shorter than the answers", func(t *testing.T) {
		// -G 1: the report may not wait for all of hop 2's answers (the third leaves the router
		// 1.9 s into the run). Both programs then count some as lost, and only there.
		args := []string{"-r", "-n", "-c", "3", "-i", "0.2", "-G", "1", lab.Target4.String()}
		start := time.Now()
		got := mtrgo(t, lab, args...)
		t.Logf("mtr-go %v took %v\n%s", args, time.Since(start), got.raw)
		mtr := parseReport(t, run(t, lab, "mtr", args...))
		t.Logf("mtr:\n%s", mtr.raw)
		for _, rep := range []struct {
			who string
			r   report
		}{{"mtr", mtr}, {"mtr-go", got}} {
			if len(rep.r.rows) != len(lab.Hops4) {
				t.Errorf("%s lists %d hops, want %d\n%s", rep.who, len(rep.r.rows), len(lab.Hops4), rep.r.raw)
				continue
			}
			for i, r := range rep.r.rows {
				switch {
				case r.hop == 2 && (r.loss == 0 || r.host != lab.Hops4[1].String() && r.host != "???"):
					t.Errorf("%s hop 2: %s with %.1f%% loss, want some of its late answers lost", rep.who, r.host, r.loss)
				case r.hop != 2 && (r.loss != 0 || r.host != lab.Hops4[i].String()):
					t.Errorf("%s hop %d: %s with %.1f%% loss, want %s with none", rep.who, r.hop, r.host, r.loss, lab.Hops4[i])
				}
			}
		}
	})
}

func TestLabCleanReportDoesNotWaitOutTheGracetime(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5})
	args := []string{"-r", "-c", "3", "-i", "0.2", lab.Target4.String()}
	start := time.Now()
	got := mtrgo(t, lab, args...)
	took := time.Since(start)
	t.Logf("mtr-go %v took %v (process start included)", args, took)
	if strings.Join(got.hosts(), " ") != strings.Join(addrs(lab.Hops4), " ") {
		t.Fatalf("hops %v, want %v\n%s", got.hosts(), addrs(lab.Hops4), got.raw)
	}
	for _, r := range got.rows {
		if r.loss != 0 || r.snt != 3 {
			t.Errorf("hop %d: loss %.1f%% snt %d, want 0%% 3\n%s", r.hop, r.loss, r.snt, got.raw)
		}
	}
	// Three rounds of 0.2 s, every answer in within a millisecond: about 0.6 s. The bound only
	// catches a report that sits out the 5 s gracetime like mtr's; it is not a speed test.
	if took > 3*time.Second {
		t.Errorf("report took %v: it waited for answers that were all in", took)
	}
}

func TestLabFreshIPv6PathListsEveryHop(t *testing.T) {
	for _, proto := range []struct {
		name string
		args []string
	}{
		{"ICMP", []string{"-r", "-n", "-c", "3", "-i", "0.1"}},
		{"UDP", []string{"-r", "-n", "-u", "-c", "3", "-i", "0.1"}},
	} {
		t.Run(proto.name, func(t *testing.T) {
			// The path's addresses are still tentative: every hop's first answers come about 2 s
			// after the probes. mtr-go and mtr start at once, side by side, while it is fresh.
			lab := netlab.New(t, netlab.Spec{Routers: 5, FreshIPv6: true})
			args := append(slices.Clone(proto.args), lab.Target6.String())
			var mtrOut, mtrErr string
			var mtrRunErr error
			var wg sync.WaitGroup
			wg.Go(func() { mtrOut, mtrErr, mtrRunErr = runErr(lab, "mtr", args...) })
			start := time.Now()
			got := mtrgo(t, lab, args...)
			took := time.Since(start)
			wg.Wait()
			t.Logf("mtr-go %v took %v\n%s", args, took, got.raw)
			if mtrRunErr != nil {
				t.Fatalf("mtr %v: %v: %s", args, mtrRunErr, mtrErr)
			}
			mtr := parseReport(t, mtrOut)
			t.Logf("mtr:\n%s", mtr.raw)
			want := strings.Join(addrs(lab.Hops6), " ")
			if strings.Join(got.hosts(), " ") != want {
				t.Errorf("mtr-go lists %v, want every hop %s (mtr lists %v)\n%s", got.hosts(), want, mtr.hosts(), got.raw)
			}
			// The path was still fresh when mtr-go started: its first answers waited for it.
			if w := wrst(t, got.rows[0]); w < 300 {
				t.Errorf("hop 1's worst answer took %.1f ms: the path was no longer fresh, the test tested nothing\n%s", w, got.raw)
			}
			for _, r := range got.rows {
				// mtr shows 0 %: the probes wait in the client's neighbour queue and all go out
				// once the first hop's address is usable. Some waiting may cost a probe, none
				// may cost a hop.
				if r.loss == 100 {
					t.Errorf("hop %d (%s): 100%% loss, want its late answers counted\n%s", r.hop, r.host, got.raw)
				}
			}
		})
	}
}

// txPackets is the number of packets the client has sent into the lab (its one interface).
func txPackets(t *testing.T, lab *netlab.Lab) int {
	t.Helper()
	out, err := exec.Command("ip", "-n", lab.Client, "-s", "-j", "link", "show", "todest").Output()
	if err != nil {
		t.Fatalf("ip link show: %v", err)
	}
	var links []struct {
		Stats struct {
			TX struct {
				Packets int `json:"packets"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j link show: %v: %s", err, out)
	}
	return links[0].Stats.TX.Packets
}

func TestLabSendFailuresAreLostProbes(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5})
	const rounds = 40 // -i 0.1: about 4 s, with the fault lasting 1 s after the first rounds
	for _, tc := range []struct {
		name    string
		on, off func() error
		target  netip.Addr
		hops    []netip.Addr
		extra   []string
	}{
		// The route goes away and comes back (ENETUNREACH on every send meanwhile).
		{"route flap/ICMP/IPv4", lab.CutClientRoute, lab.RestoreClientRoute, lab.Target4, lab.Hops4, nil},
		{"route flap/UDP/IPv4", lab.CutClientRoute, lab.RestoreClientRoute, lab.Target4, lab.Hops4, []string{"-u"}},
		{"route flap/ICMP/IPv6", lab.CutClientRoute, lab.RestoreClientRoute, lab.Target6, lab.Hops6, nil},
		// A local firewall drops the probes for a second (EPERM; mtr 0.95 exits there).
		{"firewall/ICMP/IPv4", lab.BlockClientOutput, lab.UnblockClientOutput, lab.Target4, lab.Hops4, nil},
		{"firewall/UDP/IPv6", lab.BlockClientOutput, lab.UnblockClientOutput, lab.Target6, lab.Hops6, []string{"-u"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-r", "-n", "-c", strconv.Itoa(rounds), "-i", "0.1"}, tc.extra...)
			args = append(args, tc.target.String())
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := lab.Command(ctx, binary(t), args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			tx0 := txPackets(t, lab)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// The fault starts once two rounds of the path have gone out, however slowly the
			// process started; a run that ended by then fails below.
			for deadline := time.Now().Add(20 * time.Second); txPackets(t, lab)-tx0 < 2*len(tc.hops) && time.Now().Before(deadline); {
				select {
				case err := <-exited:
					t.Fatalf("mtr-go %v ended before any fault: %v\nstderr: %s", args, err, stderr.String())
				case <-time.After(20 * time.Millisecond):
				}
			}
			if err := tc.on(); err != nil {
				t.Fatal(err)
			}
			before := txPackets(t, lab) - tx0 // everything sent before the fault, a little more
			time.Sleep(time.Second)
			if err := tc.off(); err != nil {
				t.Fatal(err)
			}
			err := <-exited
			if err != nil {
				t.Fatalf("mtr-go %v: %v (the run must ride out the failed sends)\nstderr: %s\nstdout: %s", args, err, stderr.String(), stdout.String())
			}
			got := parseReport(t, stdout.String())
			t.Logf("%d packets before the fault\n%s", before, got.raw)
			if strings.Join(got.hosts(), " ") != strings.Join(addrs(tc.hops), " ") {
				t.Fatalf("hops %v, want %v\n%s", got.hosts(), addrs(tc.hops), got.raw)
			}
			for _, r := range got.rows {
				// Every probe counts, sent or refused: all rounds, and the refused ones lost.
				// The destination answered more often than there were rounds before the fault,
				// so later rounds answered once the route was back.
				recv := float64(r.snt) * (1 - r.loss/100)
				switch {
				case r.snt != rounds:
					t.Errorf("hop %d: Snt %d, want %d: every round probes it, refused or not", r.hop, r.snt, rounds)
				case r.loss == 0:
					t.Errorf("hop %d: no loss, want the second without a route to show", r.hop)
				case r.loss > 75:
					t.Errorf("hop %d: %.1f%% loss for a 1 s fault in a 4 s run", r.hop, r.loss)
				case r.hop == len(tc.hops) && recv < float64(before)/float64(len(tc.hops))+2:
					t.Errorf("destination answered %.0f probes, about as many as were sent before the fault (%d packets): none after it", recv, before)
				}
			}
		})
	}
}
