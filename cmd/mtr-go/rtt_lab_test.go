package main

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// TestLabAvgMatchesTheWire: mtr-go's per-hop Avg is the Avg of a packet capture at the
// client's interface of the same probes and answers, to 0.02 ms. Both see the same packets, so
// what is left is where each takes its stamps (the kernel's, at both ends, for mtr-go); times
// taken in user space before sendmsg came out about 0.03 ms long here, and load only makes that
// worse, while the kernel's stamps do not depend on when mtr-go gets to run.
func TestLabAvgMatchesTheWire(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 5})
	const bound = 0.02 // ms
	fast := []string{"-c", "20", "-i", "0.1"}
	slow := []string{"-c", "5", "-i", "1"} // without privilege, rounds are at least 1 s apart
	for _, tc := range []struct {
		name   string
		prog   func() (string, []string)
		rounds []string
	}{
		{"raw ICMP", func() (string, []string) { return binary(t), nil }, fast},
		{"UDP", func() (string, []string) { return binary(t), []string{"-u"} }, fast},
		{"ping socket", func() (string, []string) { return asNobody(nobodyCopy(t, false)) }, slow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, args := tc.prog()
			c, err := lab.Capture()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			args = append(append(args, tc.rounds...), "-j", "-n", lab.Target4.String())
			out := run(t, lab, name, args...)
			pkts, err := c.Take()
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Report struct {
					Hubs []struct {
						Count int     `json:"count"`
						Avg   float64 `json:"Avg"`
						Rcv   int     `json:"Rcv"`
					} `json:"hubs"`
				} `json:"report"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			wire := netlab.RTTsByTTL(pkts, nil)
			if len(doc.Report.Hubs) != len(lab.Hops4) {
				t.Fatalf("%d hops; want %d:\n%s", len(doc.Report.Hubs), len(lab.Hops4), out)
			}
			worst := 0.0
			defer func() { t.Logf("largest difference %.4f ms", worst) }()
			for _, h := range doc.Report.Hubs {
				rtts := wire[h.Count]
				if len(rtts) == 0 {
					t.Errorf("hop %d: no answer in the capture", h.Count)
					continue
				}
				var sum time.Duration
				for _, d := range rtts {
					sum += d
				}
				avg := float64(sum) / float64(len(rtts)) / float64(time.Millisecond)
				d := math.Abs(h.Avg - avg)
				worst = max(worst, d)
				if d > bound {
					t.Errorf("hop %d: mtr-go Avg %.4f ms, the wire's %.4f ms (%d answers): %.4f ms apart", h.Count, h.Avg, avg, len(rtts), d)
				}
			}
		})
	}
}
