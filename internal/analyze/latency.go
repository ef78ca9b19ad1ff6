package analyze

import (
	"fmt"
	"math"
)

// latency applies the guide's latency rules: a rise that falls back after the hop is the router
// answering ICMP slowly (deprioritised), a rise that stays to the end is a latency problem from
// that hop on, a lone slow answer is a spike, and a StDev large for the hop's own Avg makes the
// Avg meaningless. The level a hop is compared with is the Avg of the last hop before it that was
// not itself deprioritised, so one slow router does not hide the next.
func (x *analyzer) latency() {
	resp := x.answering()
	level, levelAt := 0.0, -1
	for k := 0; k < len(resp); k++ {
		i := resp[k]
		e := x.ev[i]
		rise := e.Avg - level
		if rise < max(minRise, level/2) {
			level, levelAt = e.Avg, i
			continue
		}
		z := x.riseZ(levelAt, i, rise)
		back := -1
		for m := k + 1; m < len(resp); m++ {
			if x.ev[resp[m]].Avg < level+rise/2 {
				back = m
				break
			}
		}
		if back >= 0 {
			seg := resp[k:back]
			var ttls []int
			for _, j := range seg {
				ttls = append(ttls, x.hops[j].TTL)
				x.busy[j] = true
			}
			f := Finding{Kind: Deprioritised, Hops: ttls, Confidence: coverage(z)}
			f.Settled = f.Confidence >= 0.95
			f.Summary = fmt.Sprintf("%s answers in %s on average against %s before it, and %s is back to %s: that router answers ICMP slowly (deprioritised), forwarding is not slower.",
				capital(x.name(i)), msText(e.Avg), msText(level), x.name(resp[back]), msText(x.ev[resp[back]].Avg))
			f.Action = "None needed."
			if !f.Settled {
				f.MoreProbes = x.riseMore(i, z)
				f.Action = x.moreText(f.MoreProbes)
			}
			x.add(f)
			k = back - 1
			continue
		}
		if rise >= max(minLastingRise, level) {
			x.busy[i] = true
			f := Finding{Kind: LatencyStarts, Hops: []int{e.TTL}, Confidence: coverage(z)}
			f.Settled = f.Confidence >= 0.95
			f.Summary = fmt.Sprintf("Latency rises at %s from %s to %s on average and stays up to the end of the path: a latency problem starting there.",
				x.name(i), msText(level), msText(e.Avg))
			f.Action = "Contact the carrier of hop " + fmt.Sprint(e.TTL) + "; a rise alone does not prove loss" + x.orReverse(", run the reverse path test.")
			f.Contact = x.contact(i)
			if !f.Settled {
				f.MoreProbes = x.riseMore(i, z)
				f.Action = x.moreText(f.MoreProbes) + " " + f.Action
			}
			x.add(f)
		}
		level, levelAt = e.Avg, i
	}
	for _, i := range resp {
		if !x.busy[i] {
			x.spread(i)
		}
	}
}

// riseZ is the rise of hop i over the level hop in standard errors of the difference of means.
func (x *analyzer) riseZ(levelAt, i int, rise float64) float64 {
	e := x.ev[i]
	v := e.StDev * e.StDev / float64(x.hops[i].Recv)
	if levelAt >= 0 {
		l := x.ev[levelAt]
		v += l.StDev * l.StDev / float64(x.hops[levelAt].Recv)
	}
	if v == 0 {
		return math.Inf(1)
	}
	return rise / math.Sqrt(v)
}

// riseMore is the answer count at which a rise seen at z standard errors would reach 1.96: the
// standard error shrinks with the square root of the count.
func (x *analyzer) riseMore(i int, z float64) int {
	if z <= 0 {
		return 0
	}
	return int(math.Ceil(float64(x.hops[i].Recv) * (z95 / z) * (z95 / z)))
}

// spread reports a lone spike or a StDev too large for the hop's Avg.
func (x *analyzer) spread(i int) {
	h := &x.hops[i]
	e := x.ev[i]
	n := float64(h.Recv)
	if h.Recv >= spikeAnswers {
		// The mean and deviation of the other answers, undoing the worst one's Welford step.
		w := e.Wrst
		mean := (n*e.Avg - w) / (n - 1)
		m2 := e.StDev*e.StDev*(n-1) - (w-e.Avg)*(w-mean)
		sd := math.Sqrt(math.Max(m2, 0) / (n - 2))
		if w-mean >= max(minSpike, mean, 5*sd) {
			x.add(Finding{
				Kind: Spike, Hops: []int{e.TTL}, Settled: true,
				Summary: fmt.Sprintf("%s: one probe took %s while the other %d averaged %s (StDev %s): a brief spike; the Avg %s is normal.",
					capital(x.name(i)), msText(w), h.Recv-1, msText(mean), msText(sd), msText(e.Avg)),
				Action: "None needed: a transient on the network or the device.",
			})
			return
		}
	}
	if h.Recv >= 2 && e.StDev >= max(minUnsteady, e.Avg/2) {
		x.add(Finding{
			Kind: Unsteady, Hops: []int{e.TTL}, Settled: true,
			Summary: fmt.Sprintf("%s: StDev %s is high for its Avg %s, so the Avg is unreliable; latency ranged %s-%s.",
				capital(x.name(i)), msText(e.StDev), msText(e.Avg), msText(e.Best), msText(e.Wrst)),
			Action: "Judge this hop by Best and Wrst, not Avg.",
		})
	}
}
