package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/probe"
)

// /probe's time budget. Prometheus says how long it will wait in a header; the trace must end
// that much earlier to leave time to answer (blackbox_exporter's offset is the same half
// second). Without the header, Prometheus's default scrape timeout stands. No request holds a
// prober longer than maxBudget, whatever the header says.
const (
	scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"
	defaultBudget       = 10 * time.Second
	budgetOffset        = 500 * time.Millisecond
	maxBudget           = 2 * time.Minute
	defaultCount        = 10
	maxTargetLen        = 253 // the longest DNS name
	minTrace            = 100 * time.Millisecond
)

// probeRequest is a checked /probe query.
type probeRequest struct {
	target   string
	protocol probe.Protocol
	count    int
	port     int // 0: the protocol's default
}

// parseProbe checks /probe's query: target (required), protocol (icmp, udp or tcp; default
// icmp; or sctp), count (1..maxCount, default 10) and port (udp, tcp and sctp only). Anything else, or a
// parameter given twice, is refused, so a typo in Prometheus's params does not pass silently.
func parseProbe(q url.Values, maxCount int) (probeRequest, error) {
	req := probeRequest{protocol: probe.ICMPProbes, count: min(defaultCount, maxCount)}
	for k, v := range q {
		switch k {
		case "target", "protocol", "count", "port":
		default:
			return req, fmt.Errorf("unknown parameter %q (want target, protocol, count, port)", k)
		}
		if len(v) != 1 {
			return req, fmt.Errorf("parameter %s given %d times", k, len(v))
		}
	}
	req.target = strings.TrimSpace(q.Get("target"))
	switch {
	case req.target == "":
		return req, errors.New("missing target=HOST")
	case len(req.target) > maxTargetLen:
		return req, fmt.Errorf("target is longer than %d characters", maxTargetLen)
	case !utf8.ValidString(req.target) || strings.ContainsFunc(req.target, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == '/' }):
		// The target becomes a label value, which must be UTF-8 (a zone, "%...", may be any
		// bytes), and goes into log lines: no control or line-breaking character.
		return req, fmt.Errorf("target %q is not a host name or address", req.target)
	}
	if q.Has("protocol") {
		p, ok := vocab.ParseProtocol(q.Get("protocol"))
		if !ok {
			return req, fmt.Errorf("protocol %q: want %s", q.Get("protocol"), vocab.ProtocolNames())
		}
		req.protocol = p
	}
	if q.Has("count") {
		n, err := strconv.Atoi(q.Get("count"))
		if err != nil || n < 1 || n > maxCount {
			return req, fmt.Errorf("count %q: want a number of rounds from 1 to %d", q.Get("count"), maxCount)
		}
		req.count = n
	}
	if q.Has("port") {
		if req.protocol == probe.ICMPProbes {
			return req, errors.New("port applies to protocol=udp, tcp or sctp only")
		}
		n, err := strconv.Atoi(q.Get("port"))
		if err != nil || n < 1 || n > 65535 {
			return req, fmt.Errorf("port %q: want 1-65535", q.Get("port"))
		}
		req.port = n
	}
	return req, nil
}

// scrapeBudget is how long a /probe trace may take, from Prometheus's scrape timeout header.
func scrapeBudget(h http.Header) (time.Duration, error) {
	v := h.Get(scrapeTimeoutHeader)
	if v == "" {
		return defaultBudget - budgetOffset, nil
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
		return 0, fmt.Errorf("%s: not a positive number of seconds: %q", scrapeTimeoutHeader, v)
	}
	d := time.Duration(min(secs, maxBudget.Seconds()) * float64(time.Second))
	if d > 2*budgetOffset {
		return d - budgetOffset, nil
	}
	return d / 2, nil // a tiny timeout: keep half of it for the answer
}

// probeTiming fits count rounds into budget: rounds no longer than -i, short enough that count
// of them, one more for the last answers and the gracetime (at most a round) end within it.
// Late answers are waited for no longer than the budget.
func probeTiming(tmpl trace.Config, count int, budget time.Duration) trace.Config {
	c := tmpl
	c.Count = count
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 5 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	c.Interval = min(c.Interval, budget/time.Duration(count+2))
	c.Grace = min(c.Grace, c.Interval)
	c.Timeout = min(c.Timeout, budget)
	return c
}

// allowed reports whether --serve-allow covers a.
func allowed(allow []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var (
	descSuccess = prometheus.NewDesc("probe_success",
		"Whether the target answered at least one probe (1) or not (0).", nil, nil)
	descDuration = prometheus.NewDesc("probe_duration_seconds",
		"How long the /probe request took, resolving and tracing.", nil, nil)
)

// probeResult adds blackbox_exporter's two metrics to one /probe trace's.
type probeResult struct {
	*collector
	success  bool
	duration time.Duration
}

func (p *probeResult) Describe(ch chan<- *prometheus.Desc) {
	p.collector.Describe(ch)
	ch <- descSuccess
	ch <- descDuration
}

func (p *probeResult) Collect(ch chan<- prometheus.Metric) {
	p.collector.Collect(ch)
	ok := 0.0
	if p.success {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, p.duration.Seconds())
}

// probe serves /probe: checks the request, resolves the target and checks it against
// --serve-allow before a single packet leaves, traces it for count rounds within the scrape's
// budget, and answers with that trace's metrics in a registry of its own.
func (s *Server) probe(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req, err := parseProbe(r.URL.Query(), s.opts.MaxCount)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	budget, err := scrapeBudget(r.Header)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(s.opts.Allow) == 0 {
		fail(w, http.StatusForbidden, "/probe is off: mtr-go was started without --serve-allow")
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		fail(w, http.StatusTooManyRequests, fmt.Sprintf("%d /probe requests are running already (--serve-max-probes)", cap(s.slots)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), budget)
	defer cancel()
	addr, err := s.opts.Resolve(ctx, req.target)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if !allowed(s.opts.Allow, addr) {
		fail(w, http.StatusForbidden, fmt.Sprintf("target %q (%s) is outside --serve-allow", req.target, addr))
		return
	}

	pcfg := s.opts.Probe
	pcfg.Protocol, pcfg.Port = req.protocol, req.port
	if req.protocol == probe.ICMPProbes {
		pcfg.Paris, pcfg.LocalPort = false, 0 // UDP and TCP options of the command line
	}
	left := budget - time.Since(start)
	if left < minTrace {
		fail(w, http.StatusGatewayTimeout, fmt.Sprintf("resolving %q left %v of the scrape's %v: too little to trace", req.target, left.Round(time.Millisecond), budget.Round(time.Millisecond)))
		return
	}
	tcfg := probeTiming(s.opts.Trace, req.count, left)
	t, err := s.open(req.target, addr, pcfg, tcfg)
	if err != nil {
		var ie *trace.IntervalError
		if errors.As(err, &ie) {
			fail(w, http.StatusBadRequest, fmt.Sprintf("count=%d does not fit the scrape timeout: rounds would reuse sequence numbers still awaiting answers; ask for fewer", req.count))
			return
		}
		if errors.Is(err, probe.ErrNoPrivilege) || errors.Is(err, probe.ErrPermission) {
			// The server's privileges went once its own sockets were open; what is left is
			// the unprivileged probers.
			fail(w, http.StatusServiceUnavailable, fmt.Sprintf("protocol=%s needs raw sockets, given up after start (SCTP always; ICMP unless net.ipv4.ping_group_range allows ping sockets); protocol=udp or tcp need neither", strings.ToLower(req.protocol.String())))
			return
		}
		fail(w, http.StatusInternalServerError, fmt.Sprintf("open prober for %s: %v", addr, err))
		return
	}
	defer t.prober.Close()
	if err := t.tracer.Run(ctx); err != nil && ctx.Err() == nil {
		fail(w, http.StatusInternalServerError, fmt.Sprintf("trace %s: %v", addr, err))
		return
	}
	snap := t.tracer.Snapshot()
	res := &probeResult{collector: &collector{lossWindow: s.opts.LossWindow, watches: []*watch{t.watch}}}
	for _, h := range snap.Hops {
		for _, a := range h.Addrs {
			res.success = res.success || a.IP == addr
		}
	}
	res.duration = time.Since(start)
	reg := prometheus.NewRegistry()
	if err := reg.Register(res); err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
