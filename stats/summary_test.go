package stats

import (
	"math"
	"testing"
	"time"
)

func TestFromSummary(t *testing.T) {
	h := FromSummary(Summary{TTL: 3, Sent: 10, Recv: 8, Best: time.Millisecond, Wrst: 9 * time.Millisecond, Avg: 4.5, StDev: 2.25})
	if h.TTL != 3 || h.Drop() != 2 || h.Loss() != 20 || h.Avg() != 4.5 || math.Abs(h.StDev()-2.25) > 1e-12 || h.Best != time.Millisecond {
		t.Errorf("got TTL %d drop %d loss %g avg %g stdev %g best %v", h.TTL, h.Drop(), h.Loss(), h.Avg(), h.StDev(), h.Best)
	}
	if z := FromSummary(Summary{TTL: 1, Sent: 5, Avg: 3, StDev: 1}); z.Avg() != 0 || z.StDev() != 0 || z.Loss() != 100 {
		t.Errorf("a hop without answers has latency: avg %g stdev %g loss %g", z.Avg(), z.StDev(), z.Loss())
	}
}
