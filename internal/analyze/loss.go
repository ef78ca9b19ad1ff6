package analyze

import (
	"fmt"
	"strconv"
	"strings"
)

// loss applies the guide's loss rules over the hops that answered.
//
// Real loss at a hop drops a share of every probe that passes it, so it shows on every hop after
// it, the end of the path included. Loss at the last answering hop is therefore the reference, as
// the guide takes the last affected hop's rate when rates vary (its hop 9). A fixed reference
// also means more probes at the same rates can only sharpen the calls below, never reverse
// them, except that the start may move later. The real loss runs back from the end over every hop
// whose loss is not clearly below it (a two-proportion test as strong as disjoint 95 % intervals),
// and starts
// at the first lossy hop of that run. Hops between lossy ones that happened to lose nothing do
// not cut the run unless their counts, pooled, show that clearly; they leave the start unsettled
// instead.
//
// Loss at any hop before the run does not reach the end: it is ICMP rate limiting, settled once
// the later hops that lost less than it, pooled, have a 95 % interval wholly below its rate.
// Pooling just those hops is what the guide does by eye ("no loss on subsequent hops"); a hop
// that loses more than the one in question cannot argue either way.
func (x *analyzer) loss() {
	resp := x.answering()
	if len(resp) == 0 {
		return
	}
	r := resp[len(resp)-1]
	lossy := func(i int) bool { return x.ev[i].Lost > 0 }

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

	var run []int
	var ref pool
	if lossy(r) {
		ref.add(x.ev[r].Sent, x.ev[r].Lost)
		first := len(resp) - 1 // index in resp of the run's first lossy hop
		for k := len(resp) - 1; k >= 0; k-- {
			e := x.ev[resp[k]]
			// Real loss shows on every hop after it (the guide's "loss on all subsequent hops"):
			// the run ends at a hop that lost nothing, or that lost clearly less than the end
			// (a two-proportion test at zApart, as strong as two disjoint 95 % intervals). Loss
			// before it does not reach the end: rate limiting. Whether the hop that ended the
			// run was only lucky is the start's settledness, judged in lossRun.
			if !lossy(resp[k]) || diffZ(float64(e.Lost), float64(e.Sent), float64(ref.lost), float64(ref.n)) >= zApart {
				break
			}
			first = k
		}
		run = resp[first:]
	}
	inRun := map[int]bool{}
	for _, i := range run {
		inRun[i] = true
	}
	startOpen := false
	if len(run) > 0 {
		startOpen = !x.lossRun(run, resp, ref)
	}
	for _, i := range resp {
		if lossy(i) && !inRun[i] {
			// While the start of the real loss is open, a lossy hop before it may be where it
			// really starts: its rate limiting cannot be settled either.
			x.rateLimited(i, resp, startOpen && i < run[0])
		}
	}
}

// rateLimited judges lossy hop i, whose loss does not reach the end of the path.
func (x *analyzer) rateLimited(i int, resp []int, open bool) {
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
	if open {
		f.Confidence = min(f.Confidence, 0.5)
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

// lossRun reports the run of hops that carries the loss to the end of the path; ref is the last
// hop's loss.
func (x *analyzer) lossRun(run, resp []int, ref pool) (settled bool) {
	s := run[0]
	refRate := ref.share()
	refLo, refHi := Wilson(float64(ref.lost), float64(ref.n), z95)

	// The start is settled when the answering hop just before it lost clearly less than the end
	// (a two-proportion test at zApart): had the loss started there instead, that hop would have
	// lost as much, and it is the likeliest hop to have lost nothing by chance (earlier starts
	// need more such hops). The run must also have lost probes at every hop (the guide's "loss on
	// all subsequent hops"); a hop in the run that lost none leaves the start open.
	conf := 1.0
	more := 0
	var why []string
	// Every hop of the run carries the loss, so the run's probes together measure it better than
	// the last hop alone, whose count may be low by chance.
	var carried pool
	for _, i := range run {
		carried.add(x.ev[i].Sent, x.ev[i].Lost)
	}
	if prev := prevAnswering(resp, s); prev >= 0 && x.ev[prev].Loss < 100*refRate {
		e := x.ev[prev]
		z := diffZ(float64(e.Lost), float64(e.Sent), float64(carried.lost), float64(carried.n))
		conf = coverage(z * z95 / zApart) // zApart reads as 95 %, like every other call
		if z < zApart {
			more = probesApart(float64(e.Lost)/float64(e.Sent), carried.share(), e.Sent)
			why = append(why, fmt.Sprintf("hop %d before it lost %d of %d, too few to show the loss was not there yet", e.TTL, e.Lost, e.Sent))
		}
	}
	var gaps []int
	for _, i := range run {
		if x.ev[i].Lost == 0 {
			gaps = append(gaps, x.hops[i].TTL)
			conf = 0
			more = max(more, probesToSettle(0, refLo, 1, x.ev[i].Sent, false))
		}
	}
	if len(gaps) > 0 {
		why = append(why, "hop "+HopList(gaps)+" in between lost nothing, so the loss may start after it")
	}
	// A start hop that loses less than half what reaches the end may only be rate-limiting, with
	// the real loss starting after it; its count cannot settle that while the rates stay apart,
	// so no probe count is promised for it.
	if e := x.ev[s]; e.Loss < 50*refRate {
		conf = 0
		why = append(why, fmt.Sprintf("hop %d loses %s%%, under half the %s%% that reaches the end, and may only be rate-limiting", e.TTL, pct(e.Loss), pct(100*refRate)))
	}
	var ttls []int
	for _, i := range run {
		ttls = append(ttls, x.hops[i].TTL)
	}
	refText := fmt.Sprintf("%s%% at hop %d (%d of %d lost, 95%% CI %s-%s%%)",
		pct(100*refRate), x.hops[run[len(run)-1]].TTL, ref.lost, ref.n, pct(100*refLo), pct(100*refHi))

	f := Finding{Hops: ttls, Confidence: conf, Settled: conf >= 0.95, MoreProbes: more}
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
		f.Action = "Check the destination's firewall and ICMP rate limit (e.g. net.ipv4.icmp_ratelimit)" + x.orReverse(", or run the reverse path test.")
		f.Contact = "the destination's administrator"
	} else {
		f.Kind = LossStarts
		f.Summary = fmt.Sprintf("Real loss starts at %s: every hop after it loses probes too; the reference rate is %s.",
			x.name(s), refText)
		f.Action = "Contact the carrier responsible for hop " + strconv.Itoa(x.hops[s].TTL) + " with this report" + x.orReverse(", and run the reverse path test.")
		f.Contact = x.contact(s)
	}
	if !f.Settled {
		f.Summary += " Where it starts is not settled: " + strings.Join(why, "; ") + "."
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
	return f.Settled
}

// prevAnswering is the index of the answering hop before hop s in resp, or -1.
func prevAnswering(resp []int, s int) int {
	prev := -1
	for _, j := range resp {
		if j >= s {
			break
		}
		prev = j
	}
	return prev
}

// moreText asks for the probe count that would settle a finding.
func (x *analyzer) moreText(n int) string {
	if n <= 0 {
		return "More probes at these rates would not settle it" + x.orReverse(": run the reverse path test.")
	}
	return fmt.Sprintf("Run about %d probes per hop (mtr -r -c %d %s) to settle it.", n, n, x.target())
}

// orReverse is advice to run the reverse path test, or instead (the first of otherwise, "."
// when none) when the other direction is traced already.
func (x *analyzer) orReverse(advice string, otherwise ...string) string {
	if !x.in.BothWays {
		return advice
	}
	if len(otherwise) > 0 {
		return otherwise[0]
	}
	return "."
}
