package analyze

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomClean is a path where nothing is wrong: every probe answered, one address per hop, the
// destination reached, latency climbing by at most 4 ms a hop with under half a millisecond of
// noise.
func randomClean(r *rand.Rand) []hop {
	n := 1 + r.IntN(200)
	hops := make([]hop, 1+r.IntN(20))
	base := 0.1 + r.Float64()*20
	for i := range hops {
		base += r.Float64() * 4
		rtts := make([]float64, 1+r.IntN(7))
		for k := range rtts {
			rtts[k] = base + r.Float64()*0.5
		}
		hops[i] = h(fmt.Sprintf("198.18.%d.2", i), n, 0, rtts...)
	}
	hops[len(hops)-1].addrs = []string{dest}
	return hops
}

func TestCleanPathsNeverAlarm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		hops := randomClean(r)
		a := Analyze(Input{Snapshot: path(dest, hops...)})
		if !a.Clean() || a.Conclusion != "No problem found on this path." || a.Reverse != "" {
			t.Fatalf("clean path %+v raised %v (%s)", hops, got(a), a.Conclusion)
		}
	}
}

// randomLossy is a path as the guide models one: routers before the real loss may rate-limit
// (any share, or answer nothing at all), and from a random hop on, if at all, every hop loses the
// same share of real loss. One steady RTT per hop. Scaled by k it has k times the probes and the
// losses: the same rates, the same latencies.
func randomLossy(r *rand.Rand) func(k int) []hop {
	n := 5 + r.IntN(60)
	type spec struct {
		lost   int
		silent bool
		rtt    float64
	}
	specs := make([]spec, 2+r.IntN(12))
	from := len(specs) + 1 // no real loss
	if r.IntN(2) == 0 {
		from = r.IntN(len(specs))
	}
	floor := 1 + r.IntN(n/2)
	for i := range specs {
		specs[i] = spec{rtt: 1 + float64(i)}
		switch x := r.Float64(); {
		case i >= from:
			specs[i].lost = floor
		case x < 0.4:
			specs[i].lost = max(1, int((0.05+0.5*r.Float64())*float64(n)))
		case x < 0.45 && i < len(specs)-1:
			specs[i].silent = true
		}
	}
	return func(k int) []hop {
		hops := make([]hop, len(specs))
		for i, s := range specs {
			if s.silent {
				hops[i] = silent(k * n)
			} else {
				hops[i] = h(fmt.Sprintf("198.18.%d.2", i), k*n, k*s.lost, s.rtt)
			}
		}
		hops[len(hops)-1].addrs = []string{dest}
		return hops
	}
}

func TestMoreProbesNeverLowerConfidence(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	compared := 0
	for range 500 {
		build := randomLossy(r)
		small := Analyze(Input{Snapshot: path(dest, build(1)...)})
		for _, k := range []int{2, 3, 5} {
			big := Analyze(Input{Snapshot: path(dest, build(k)...)})
			compared += len(small.Findings)
			for _, f := range small.Findings {
				g, ok := find(big, f)
				if !ok && (f.Kind == LossStarts || f.Kind == DestThrottles) {
					// Where loss that reaches the end starts is the one call more probes may move:
					// a lossy hop at the start that looked like part of the run can prove to lose
					// less than the end. The loss itself must stay, starting no earlier.
					if !movedLater(big, f) {
						t.Fatalf("%s at %v lost with %d× the probes:\n small %v\n big   %v", f.Kind, f.Hops, k, got(small), got(big))
					}
					continue
				}
				if !ok {
					t.Fatalf("%s at %v gone with %d× the probes:\n small %v\n big   %v", f.Kind, f.Hops, k, got(small), got(big))
				}
				if g.Confidence < f.Confidence-1e-12 {
					t.Fatalf("%s at %v: confidence %v with %d× the probes, %v before", f.Kind, f.Hops, g.Confidence, k, f.Confidence)
				}
				if f.Settled && !g.Settled {
					t.Fatalf("%s at %v: settled, then not with %d× the probes", f.Kind, f.Hops, k)
				}
			}
		}
	}
	// The property must have been tried on findings, settled and not.
	if compared < 1000 {
		t.Fatalf("only %d findings compared", compared)
	}
}

// movedLater reports whether a has loss reaching the end that starts at or after f's start.
func movedLater(a Analysis, f Finding) bool {
	for _, g := range a.Findings {
		if (g.Kind == LossStarts || g.Kind == DestThrottles) && g.Hops[0] >= f.Hops[0] &&
			g.Hops[len(g.Hops)-1] == f.Hops[len(f.Hops)-1] {
			return true
		}
	}
	return false
}

func find(a Analysis, f Finding) (Finding, bool) {
	for _, g := range a.Findings {
		if g.Kind == f.Kind && fmt.Sprint(g.Hops) == fmt.Sprint(f.Hops) {
			return g, true
		}
	}
	return Finding{}, false
}
