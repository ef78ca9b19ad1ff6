package analyze

import "math"

// z95 is the two-sided 95 % normal quantile: every decision here is called at that level.
const z95 = 1.959963984540054

// maxProbes bounds the search for the probe count that would settle a question; a question that
// needs more than this is reported as one that more probes cannot settle.
const maxProbes = 1_000_000

// Wilson returns the Wilson score interval of a proportion of lost out of n at the normal
// quantile z, as fractions. It behaves at 0 and n lost, where the textbook interval collapses to
// a point, which matters here: "0 lost out of 10" must still allow a few percent. lost may be
// fractional (a rate scaled to another n). With n = 0 nothing is known: [0, 1].
func Wilson(lost, n, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	p := lost / n
	z2 := z * z
	den := 1 + z2/n
	c := p + z2/(2*n)
	r := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, (c-r)/den), math.Min(1, (c+r)/den)
}

// coverage turns a separation in standard errors into the two-sided confidence it gives: 1.96 is
// 0.95. It is what a Finding's Confidence holds, so every kind of evidence reads on one scale.
func coverage(z float64) float64 {
	if math.IsInf(z, 1) {
		return 1
	}
	if z <= 0 || math.IsNaN(z) {
		return 0
	}
	return math.Erf(z / math.Sqrt2)
}

// belowZ is the largest z at which the Wilson interval of lost/n still lies below rate: the
// strength of "the loss behind this hop is lower than rate". 0 when the observed share itself is
// not below rate.
func belowZ(lost, n, rate float64) float64 {
	if n <= 0 || lost/n >= rate {
		return 0
	}
	if rate >= 1 && lost < n {
		// Any answer at all shows the rate is below 100 %, at every confidence level.
		return math.Inf(1)
	}
	return bisect(func(z float64) bool { _, hi := Wilson(lost, n, z); return hi < rate })
}

// aboveZ is the mirror of belowZ: the largest z at which lost/n's interval lies above rate.
func aboveZ(lost, n, rate float64) float64 {
	if n <= 0 || lost/n <= rate {
		return 0
	}
	return bisect(func(z float64) bool { lo, _ := Wilson(lost, n, z); return lo > rate })
}

// zApart is the two-proportion z that two disjoint 95 % intervals of equal width amount to
// (√2 · 1.96): the bar for telling two hops' loss apart where one wrong call would misplace a
// fault.
const zApart = math.Sqrt2 * z95

// diffZ is the two-proportion z statistic of "a's loss is below b's", pooling both for the
// standard error: how many standard errors b's share lies above a's. 0 when it does not.
// Unlike comparing two 95 % intervals for overlap, which needs about 2.8 standard errors, this
// counts the uncertainty of both shares once.
func diffZ(aLost, aN, bLost, bN float64) float64 {
	if aN <= 0 || bN <= 0 {
		return 0
	}
	pa, pb := aLost/aN, bLost/bN
	if pa >= pb {
		return 0
	}
	p := (aLost + bLost) / (aN + bN)
	se := math.Sqrt(p * (1 - p) * (1/aN + 1/bN))
	if se == 0 {
		return math.Inf(1)
	}
	return (pb - pa) / se
}

// bisect finds the largest z in [0, 40] for which ok holds, ok being true below some point and
// false above it. Past 40 standard errors the answer is as good as certain.
func bisect(ok func(z float64) bool) float64 {
	if ok(40) {
		return math.Inf(1)
	}
	lo, hi := 0.0, 40.0
	for range 60 {
		mid := (lo + hi) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// probesToSettle is the smallest per-hop probe count c, at least now+1, at which a pool of
// hops·c probes losing the share share would have a 95 % interval wholly below rate (above it
// with above set). The rates are assumed to stay as they are; 0 means no count up to maxProbes
// would do (the shares are too close or on the wrong side).
func probesToSettle(share, rate float64, hops, now int, above bool) int {
	if hops < 1 {
		hops = 1
	}
	ok := func(c int) bool {
		n := float64(hops * c)
		lo, hi := Wilson(share*n, n, z95)
		if above {
			return lo > rate
		}
		return hi < rate
	}
	if (above && share <= rate) || (!above && share >= rate) {
		return 0
	}
	return firstCount(now, ok)
}

// probesApart is the smallest per-hop probe count c, above now, at which two hops of c probes
// losing the shares a < b would be told apart (diffZ at least zApart); 0 when no count up to
// maxProbes would do.
func probesApart(a, b float64, now int) int {
	ok := func(c int) bool {
		n := float64(c)
		return diffZ(a*n, n, b*n, n) >= zApart
	}
	if a >= b {
		return 0
	}
	return firstCount(now, ok)
}

// firstCount is the smallest probe count c in (now, maxProbes] for which ok holds, ok being false
// below some count and true from it on; 0 when it does not hold even at maxProbes.
func firstCount(now int, ok func(c int) bool) int {
	if !ok(maxProbes) {
		return 0
	}
	lo, hi := max(now, 0), maxProbes // ok(hi) holds
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// pool is a set of probes from one or more hops: how many were settled and how many were lost.
type pool struct{ n, lost int }

func (p pool) share() float64 {
	if p.n == 0 {
		return 0
	}
	return float64(p.lost) / float64(p.n)
}

func (p *pool) add(n, lost int) { p.n += n; p.lost += lost }
