package server

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
)

// maxAddrsPerHop caps the address label of mtrgo_hop_address_info: the newest responders of a
// hop, so an ECMP fan or a flapping path adds at most this many series per hop.
const maxAddrsPerHop = 4

// rttBuckets are the RTT histogram's upper bounds in seconds: a LAN hop (0.5 ms) to the longest
// wait mtr's default -Z allows (10 s), about ×2–2.5 apart.
var rttBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// The metrics. Labels: target is the target as typed (on the command line, in -F, or /probe's
// target=), ttl the hop's TTL (at most -m values per target), address only on the info
// metrics, kind one of analyze's twelve finding kinds. Series per target are therefore 5
// per hop (sent, answered, loss, RTT sum and count) plus maxAddrsPerHop addresses and the
// histogram's len(rttBuckets)+1 buckets, 4 per target, and the findings.
var (
	descTarget = prometheus.NewDesc("mtrgo_target_info",
		"The target traced: its address and probe protocol (always 1).",
		[]string{"target", "address", "protocol"}, nil)
	descSent = prometheus.NewDesc("mtrgo_probes_sent_total",
		"Probes sent to the hop (TTL).", []string{"target", "ttl"}, nil)
	descAnswered = prometheus.NewDesc("mtrgo_probes_answered_total",
		"Answers received from the hop (TTL), late ones included.", []string{"target", "ttl"}, nil)
	descLoss = prometheus.NewDesc("mtrgo_loss_ratio",
		"Share (0-1) of the hop's newest settled probes that got no answer (the window is --serve-loss-window probes).",
		[]string{"target", "ttl"}, nil)
	descRTT = prometheus.NewDesc("mtrgo_rtt_seconds",
		"Round-trip time of each answer from the hop.", []string{"target", "ttl"}, nil)
	descAddr = prometheus.NewDesc("mtrgo_hop_address_info",
		"An address that answered the hop, among its newest responders (always 1).",
		[]string{"target", "ttl", "address"}, nil)
	descChanges = prometheus.NewDesc("mtrgo_path_changes_total",
		"Answers from an address new to a hop that had answered from another: route changes, or an ECMP branch seen for the first time.",
		[]string{"target"}, nil)
	descDestTTL = prometheus.NewDesc("mtrgo_destination_ttl",
		"The TTL at which the target answers, 0 while it has not.", []string{"target"}, nil)
	descDestLoss = prometheus.NewDesc("mtrgo_destination_loss_ratio",
		"mtrgo_loss_ratio of the hop where the target answers: the loss the whole path carries.",
		[]string{"target"}, nil)
	descFinding = prometheus.NewDesc("mtrgo_analysis_finding",
		"A finding of the path analysis (mtr-go --analyze) of the loss window, at the hop where it starts; the value is its confidence (0-1), settled from 0.95.",
		[]string{"target", "ttl", "kind"}, nil)
)

// descDropped is the process's, not a target's: answers that arrived but were lost before their
// target's scheduler saw them, so counted as lost probes (/metrics only).
var descDropped = prometheus.NewDesc("mtrgo_answers_dropped_total", droppedHelp, []string{"reason"}, nil)

const droppedHelp = `Answers lost inside mtr-go, so counted as lost probes: reason="queue", a target's queue was full; "receive_buffer", the kernel dropped datagrams of a full socket receive buffer. Above 0, some of the loss shown is mtr-go's own.`

var descs = []*prometheus.Desc{descTarget, descSent, descAnswered, descLoss, descRTT, descAddr, descChanges, descDestTTL, descDestLoss, descFinding, descDropped}

// source is what a watch reads its statistics from: a *trace.Tracer, or a fixed path in tests.
type source interface {
	Snapshot() stats.Snapshot
}

// watch is one traced target as the metrics see it. The tracer owns the statistics; the watch
// adds what snapshots do not keep (every answer's RTT, for the histogram).
type watch struct {
	name     string // as typed
	addr     netip.Addr
	protocol vocab.Protocol
	src      source
	local    func() netip.Addr // the prober's source address, for the analysis; may return zero

	mu  sync.Mutex
	rtt map[int]*histogram // by TTL
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; one more for +Inf
	sum    float64
	n      uint64
}

func newWatch(name string, addr netip.Addr, protocol vocab.Protocol, src source, local func() netip.Addr) *watch {
	return &watch{name: name, addr: addr, protocol: protocol, src: src, local: local, rtt: map[int]*histogram{}}
}

// observe is the tracer's OnEvent: it runs on the probing goroutine, so it only counts.
func (w *watch) observe(ev trace.Event) {
	if ev.Kind != trace.EventReply {
		return
	}
	s := ev.RTT.Seconds()
	i := 0
	for i < len(rttBuckets) && s > rttBuckets[i] {
		i++
	}
	w.mu.Lock()
	h := w.rtt[ev.TTL]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(rttBuckets)+1)}
		w.rtt[ev.TTL] = h
	}
	h.counts[i]++
	h.sum += s
	h.n++
	w.mu.Unlock()
}

// histograms copies the RTT histograms, so that no lock is held while the scrape writes them.
func (w *watch) histograms() map[int]histogram {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[int]histogram, len(w.rtt))
	for ttl, h := range w.rtt {
		c := *h
		c.counts = append([]uint64(nil), h.counts...)
		out[ttl] = c
	}
	return out
}

// collector exports its watches' statistics, read at scrape time: a snapshot per target (a
// short copy under the tracer's lock) and the analysis of it. Probing never waits for a scrape
// beyond that copy, however slowly the scraper reads.
type collector struct {
	lossWindow int
	watches    []*watch
	dropped    func() probe.MuxStats // nil: not exported (a /probe's registry)
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, w := range c.watches {
		c.collect(w, ch)
	}
	if c.dropped != nil {
		st := c.dropped()
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(st.QueueFull), "queue")
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(st.KernelDrops), "receive_buffer")
	}
}

func (c *collector) collect(w *watch, ch chan<- prometheus.Metric) {
	snap := w.src.Snapshot()
	hists := w.histograms()
	target := w.name
	ch <- prometheus.MustNewConstMetric(descTarget, prometheus.GaugeValue, 1, target, w.addr.String(), strings.ToLower(w.protocol.String()))
	ch <- prometheus.MustNewConstMetric(descChanges, prometheus.CounterValue, float64(snap.PathChanges), target)
	win := recent(snap, c.lossWindow)
	destTTL := 0
	for i := range snap.Hops {
		h := &snap.Hops[i]
		if h.Sent == 0 {
			continue
		}
		ttl := strconv.Itoa(h.TTL)
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(h.Sent), target, ttl)
		ch <- prometheus.MustNewConstMetric(descAnswered, prometheus.CounterValue, float64(h.Recv), target, ttl)
		settled := win.Hops[i].Sent
		loss := 0.0
		if settled > 0 {
			loss = float64(win.Hops[i].Drop()) / float64(settled)
			ch <- prometheus.MustNewConstMetric(descLoss, prometheus.GaugeValue, loss, target, ttl)
		}
		for _, a := range topAddrs(h.Addrs, maxAddrsPerHop) {
			ch <- prometheus.MustNewConstMetric(descAddr, prometheus.GaugeValue, 1, target, ttl, a.IP.String())
		}
		if hist, ok := hists[h.TTL]; ok {
			buckets := make(map[float64]uint64, len(rttBuckets))
			var cum uint64
			for b, le := range rttBuckets {
				cum += hist.counts[b]
				buckets[le] = cum
			}
			ch <- prometheus.MustNewConstHistogram(descRTT, hist.n, hist.sum, buckets, target, ttl)
		}
		if destTTL == 0 && h.Known() && h.Addr() == snap.Target {
			destTTL = h.TTL
			if settled > 0 {
				ch <- prometheus.MustNewConstMetric(descDestLoss, prometheus.GaugeValue, loss, target)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descDestTTL, prometheus.GaugeValue, float64(destTTL), target)

	var local netip.Addr
	if w.local != nil {
		local = w.local()
	}
	for _, f := range findings(analyze.Analyze(analyze.Input{Snapshot: win, Local: local, Protocol: w.protocol})) {
		ch <- prometheus.MustNewConstMetric(descFinding, prometheus.GaugeValue, f.confidence, target, strconv.Itoa(f.ttl), f.kind)
	}
}

type finding struct {
	ttl        int
	kind       string
	confidence float64
}

// findings places each finding at its first hop (where it happens) and keeps one series per hop
// and kind, the most confident, so two findings of a kind at one hop cannot collide.
func findings(a analyze.Analysis) []finding {
	var out []finding
	at := map[[2]string]int{}
	for _, f := range a.Findings {
		if len(f.Hops) == 0 {
			continue
		}
		g := finding{ttl: f.Hops[0], kind: f.Kind.String(), confidence: f.Confidence}
		key := [2]string{strconv.Itoa(g.ttl), g.kind}
		if i, ok := at[key]; ok {
			out[i].confidence = max(out[i].confidence, g.confidence)
			continue
		}
		at[key] = len(out)
		out = append(out, g)
	}
	return out
}

// window is h as its newest n settled probes saw it: their count, answers and RTT summary.
// The newest probe does not count while it may still be answered, as in mtr's Loss%; an older
// one still pending is lost (a newer probe went out since). Late answers count.
//
// The exporter reports loss, and analyses the path, over such a window rather than the whole
// run: the run's Loss% of a long-running exporter would hide a new outage behind days of clean
// history, and Prometheus cannot take a ratio apart again. Counting probes rather than seconds
// keeps the precision of the ratio the same at any -i.
func window(h *stats.Hop, n int) stats.Hop {
	s := stats.Summary{TTL: h.TTL, Addrs: h.Addrs}
	var buf [stats.HistoryLen]float64
	rtts := buf[:0]
	for i := 0; s.Sent < n; i++ {
		r, ok := h.Recent(i)
		if !ok {
			break
		}
		if i == 0 && r.Pending && h.InFlight {
			continue
		}
		s.Sent++
		if r.Pending {
			continue
		}
		if len(rtts) == 0 {
			s.Last, s.Best, s.Wrst = r.RTT, r.RTT, r.RTT
		}
		s.Best, s.Wrst = min(s.Best, r.RTT), max(s.Wrst, r.RTT)
		rtts = append(rtts, stats.Ms(r.RTT))
	}
	s.Recv = len(rtts)
	if s.Recv > 0 {
		for _, v := range rtts {
			s.Avg += v
		}
		s.Avg /= float64(s.Recv)
	}
	if s.Recv > 1 {
		var ss float64
		for _, v := range rtts {
			ss += (v - s.Avg) * (v - s.Avg)
		}
		s.StDev = math.Sqrt(ss / float64(s.Recv-1))
	}
	w := stats.FromSummary(s)
	w.Err, w.SendErr = h.Err, h.SendErr
	return w
}

// recentLoss is the share of the newest n settled probes of h that got no answer, and how many
// probes that share is over (see window).
func recentLoss(h *stats.Hop, n int) (ratio float64, settled int) {
	w := window(h, n)
	if w.Sent == 0 {
		return 0, 0
	}
	return float64(w.Drop()) / float64(w.Sent), w.Sent
}

// recent is snap as the newest n settled probes of each hop saw the path: what the analysis
// reads, so that its verdict follows the path as it is now.
func recent(snap stats.Snapshot, n int) stats.Snapshot {
	out := snap
	out.Hops = make([]stats.Hop, len(snap.Hops))
	for i := range snap.Hops {
		out.Hops[i] = window(&snap.Hops[i], n)
	}
	return out
}

// topAddrs is the n addresses that answered a hop most often (ties: the lower address). Not the
// newest n: a hop balancing over more than n routers would then gain and lose series on every
// scrape, while the most frequent ones are stable.
func topAddrs(addrs []stats.Addr, n int) []stats.Addr {
	if len(addrs) <= n {
		return addrs
	}
	top := slices.Clone(addrs)
	slices.SortFunc(top, func(a, b stats.Addr) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return a.IP.Compare(b.IP)
	})
	return top[:n]
}
