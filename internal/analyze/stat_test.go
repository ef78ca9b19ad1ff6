package analyze

import (
	"math"
	"testing"
)

func TestWilsonHandComputed(t *testing.T) {
	// 1 of 10 at z = 1.96: centre (0.1 + 3.8415/20) / (1 + 3.8415/10) = 0.292073/1.38415,
	// half-width 1.96·sqrt(0.009 + 3.8415/400) / 1.38415 = 0.267331/1.38415.
	// 0 of 10: the upper bound is z²/(n+z²) = 3.8415/13.8415.
	tests := []struct {
		lost, n        float64
		wantLo, wantHi float64
	}{
		{1, 10, 0.017876, 0.404150},
		{0, 10, 0, 0.277534},
		{10, 10, 0.722466, 1},
		{0, 0, 0, 1},
		{10, 33, 0.173754, 0.473382}, // centre 0.361234/1.116408, half-width 0.167254/1.116408
	}
	for _, tt := range tests {
		lo, hi := Wilson(tt.lost, tt.n, z95)
		if math.Abs(lo-tt.wantLo) > 1e-5 || math.Abs(hi-tt.wantHi) > 1e-5 {
			t.Errorf("Wilson(%v, %v) = [%.6f, %.6f], want [%.6f, %.6f]", tt.lost, tt.n, lo, hi, tt.wantLo, tt.wantHi)
		}
	}
}

func TestCoverage(t *testing.T) {
	if c := coverage(z95); math.Abs(c-0.95) > 1e-9 {
		t.Errorf("coverage(1.96) = %v, want 0.95", c)
	}
	if coverage(0) != 0 || coverage(math.Inf(1)) != 1 {
		t.Error("coverage at 0 and +Inf")
	}
}

func TestProbesToSettle(t *testing.T) {
	tests := []struct {
		name        string
		share, rate float64
		hops, now   int
		above       bool
		want        int
	}{
		// 0 lost below 10 %: the pool needs n > 3.8415·0.9/0.1 = 34.57 probes; over 3 hops
		// that is 12 each (36), 11 (33) is not enough.
		{"three clean hops against 10 %", 0, 0.1, 3, 10, false, 12},
		{"one clean hop against 10 %", 0, 0.1, 1, 10, false, 35},
		{"already settled asks for one more than now", 0, 0.5, 1, 10, false, 11},
		{"equal shares never separate", 0.1, 0.1, 2, 10, false, 0},
		// 20 % above 10 %: the lower bound of 0.2n of n is 0.0994 at n = 34, 0.1004 at 35.
		{"a higher share above a rate", 0.2, 0.1, 1, 10, true, 35},
	}
	for _, tt := range tests {
		if got := probesToSettle(tt.share, tt.rate, tt.hops, tt.now, tt.above); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}
