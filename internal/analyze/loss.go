package analyze

import (
	"fmt"
	"strconv"
)

// loss applies the guide's loss rules over the hops that answered.
//
// Real loss at a hop drops a share of every probe that passes it, so it shows on every hop after
// it, the end of the path included. The run of lossy hops that reaches the last answering hop is
// therefore real loss, starting where the run starts; its last two hops, pooled, give the
// reference rate, as the guide takes "the last few affected hops" when rates vary (two, not
// one, so the destination's own rate limiting weighs less; not more, so a hop that rate-limits
// on top in the middle of the run does not inflate it). Loss at
// any other hop does not reach the end: it is ICMP rate limiting, settled once the later hops that
// lost less than it, pooled, have a 95 % interval wholly below its rate. Pooling just those hops
// is what the guide does by eye ("no loss on subsequent hops"); a hop that loses more than the
// one in question cannot argue either way.
func (x *analyzer) loss() {
	resp := x.answering()
	if len(resp) == 0 {
		return
	}
	r := resp[len(resp)-1]
	lossy := func(i int) bool { return x.ev[i].Lost > 0 }

	var run []int
	for k := len(resp) - 1; k >= 0 && lossy(resp[k]); k-- {
		run = append([]int{resp[k]}, run...)
	}
	inRun := map[int]bool{}
	for _, i := range run {
		inRun[i] = true
	}

	// Hops that never answer while later ones do: routers that send no time-exceeded at all.
	for i := 0; i < r; i++ {
		if x.hops[i].Recv == 0 && x.ev[i].Sent > 0 {
			x.add(Finding{
				Kind: RateLimited, Hops: []int{x.hops[i].TTL}, Settled: true,
				Summary: fmt.Sprintf("Hop %d never answers (%d probes) while later hops do: that router sends no ICMP time-exceeded, it still forwards.",
					x.hops[i].TTL, x.ev[i].Sent),
				Action: "None needed.",
			})
		}
	}

	for _, i := range resp {
		if !lossy(i) || inRun[i] {
			continue
		}
		x.rateLimited(i, resp)
	}
	if len(run) > 0 {
		x.lossRun(run, resp)
	}
}

// rateLimited judges lossy hop i, whose loss does not reach the end of the path.
func (x *analyzer) rateLimited(i int, resp []int) {
	e := x.ev[i]
	rate := e.Loss / 100
	var d pool
	var dn, most int
	for _, j := range resp {
		if j <= i || x.ev[j].Loss >= e.Loss {
			continue
		}
		d.add(x.ev[j].Sent, x.ev[j].Lost)
		dn++
		most = max(most, x.ev[j].Sent)
	}
	f := Finding{
		Kind: RateLimited, Hops: []int{e.TTL},
		Confidence: coverage(belowZ(float64(d.lost), float64(d.n), rate)),
	}
	f.Settled = f.Confidence >= 0.95
	later := fmt.Sprintf("the later hops that lost less lost %d of %d", d.lost, d.n)
	if f.Settled {
		f.Summary = fmt.Sprintf("%s loses %s but %s: the loss does not persist, it is ICMP rate limiting at that router.",
			capital(x.name(i)), lossText(e), later)
		f.Action = "None needed: forwarded traffic is not affected."
	} else {
		f.MoreProbes = probesToSettle(d.share(), rate, dn, most, false)
		f.Summary = fmt.Sprintf("%s loses %s and %s: likely ICMP rate limiting, but too few probes to rule out real loss.",
			capital(x.name(i)), lossText(e), later)
		f.Action = x.moreText(f.MoreProbes)
	}
	x.add(f)
}

// lossRun reports the run of lossy hops that reaches the end of the path.
func (x *analyzer) lossRun(run, resp []int) {
	s := run[0]
	var ref pool
	var refHops []int
	for _, i := range run[max(0, len(run)-2):] {
		ref.add(x.ev[i].Sent, x.ev[i].Lost)
		refHops = append(refHops, x.hops[i].TTL)
	}
	refRate := ref.share()
	refLo, refHi := Wilson(float64(ref.lost), float64(ref.n), z95)

	// The start is settled when the hops before it that lost nothing, pooled, show a rate below
	// the reference: the loss was not there yet.
	var before pool
	var bn, most int
	for _, j := range resp {
		if j >= s {
			break
		}
		if x.ev[j].Lost == 0 {
			before.add(x.ev[j].Sent, 0)
			bn++
			most = max(most, x.ev[j].Sent)
		}
	}
	conf := 1.0
	if bn > 0 {
		conf = coverage(belowZ(0, float64(before.n), refRate))
	}
	var ttls []int
	for _, i := range run {
		ttls = append(ttls, x.hops[i].TTL)
	}
	over := "hop "
	if len(refHops) > 1 {
		over = "hops "
	}
	refText := fmt.Sprintf("%s%% (%d of %d lost over %s%s, 95%% CI %s-%s%%)",
		pct(100*refRate), ref.lost, ref.n, over, HopList(refHops), pct(100*refLo), pct(100*refHi))

	f := Finding{Hops: ttls, Confidence: conf, Settled: conf >= 0.95}
	destOnly := x.reached
	for _, i := range run {
		if x.region[i] != RegionDest {
			destOnly = false
		}
	}
	if destOnly {
		f.Kind = DestThrottles
		f.Summary = fmt.Sprintf("Only the destination's end of the path loses probes (from %s: %s) and the hops before it do not: the destination limits its ICMP answers or its firewall drops some.",
			x.name(s), refText)
		f.Action = "Check the destination's firewall and ICMP rate limit (e.g. net.ipv4.icmp_ratelimit), or run the reverse path test."
		f.Contact = "the destination's administrator"
	} else {
		f.Kind = LossStarts
		f.Summary = fmt.Sprintf("Real loss starts at %s: every hop after it loses probes too; the reference rate is %s.",
			x.name(s), refText)
		f.Action = "Contact the carrier responsible for hop " + strconv.Itoa(x.hops[s].TTL) + " with this report, and run the reverse path test."
		f.Contact = x.contact(s)
	}
	if !f.Settled {
		f.MoreProbes = probesToSettle(0, refRate, bn, most, false)
		f.Summary += fmt.Sprintf(" The hops before it lost 0 of %d, too few to be sure the loss starts there and not earlier.", before.n)
		f.Action = x.moreText(f.MoreProbes) + " " + f.Action
	}
	x.add(f)

	// A hop in the run that loses clearly more than the reference adds rate limiting of its own.
	for _, i := range run {
		e := x.ev[i]
		z := aboveZ(float64(e.Lost), float64(e.Sent), refHi)
		if coverage(z) < 0.95 {
			continue
		}
		x.add(Finding{
			Kind: RateLimited, Hops: []int{e.TTL}, Settled: true, Confidence: coverage(z),
			Summary: fmt.Sprintf("%s loses %s, more than the %s%% that reaches the end: the excess is ICMP rate limiting there.",
				capital(x.name(i)), lossText(e), pct(100*refRate)),
			Action: "None needed for the excess.",
		})
	}
}

// moreText asks for the probe count that would settle a finding.
func (x *analyzer) moreText(n int) string {
	if n <= 0 {
		return "More probes at these rates would not settle it: run the reverse path test."
	}
	return fmt.Sprintf("Run about %d probes per hop (mtr -r -c %d %s) to settle it.", n, n, x.target())
}
