package stats

import "time"

// Summary is one hop as a saved report holds it: counts and latency summaries, no per-probe
// history. A parsed mtr or WinMTR row turns into a Hop through it, so the analysis reads saved
// reports with the same rules as live runs.
type Summary struct {
	TTL              int
	Sent, Recv       int
	Last, Best, Wrst time.Duration
	Avg, StDev       float64 // ms
	Addrs            []Addr
}

// FromSummary is the hop whose counters and moments equal s. Its history, jitter and geometric
// mean are empty: a report does not hold them.
func FromSummary(s Summary) Hop {
	h := Hop{TTL: s.TTL, Sent: s.Sent, Recv: s.Recv, Addrs: s.Addrs}
	if s.Recv > 0 {
		h.Last, h.Best, h.Worst = s.Last, s.Best, s.Wrst
		h.mean = s.Avg
		h.m2 = s.StDev * s.StDev * float64(s.Recv-1)
	}
	return h
}
