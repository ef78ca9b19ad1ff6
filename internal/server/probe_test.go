package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/probe"
)

func TestParseProbe(t *testing.T) {
	tests := []struct {
		query string
		want  probeRequest
		err   string
	}{
		{query: "target=198.18.5.2", want: probeRequest{target: "198.18.5.2", protocol: probe.ICMPProbes, count: 10}},
		{query: "target=lab.example&protocol=udp&count=3&port=53", want: probeRequest{target: "lab.example", protocol: probe.UDPProbes, count: 3, port: 53}},
		{query: "target=h&protocol=TCP&count=50", want: probeRequest{target: "h", protocol: probe.TCPProbes, count: 50}},
		{query: "target=2001:db8::1&count=1", want: probeRequest{target: "2001:db8::1", protocol: probe.ICMPProbes, count: 1}},
		{query: "", err: "missing target=HOST"},
		{query: "target=", err: "missing target=HOST"},
		{query: "target=a&target=b", err: "parameter target given 2 times"},
		{query: "target=h&module=icmp", err: `unknown parameter "module"`},
		{query: "target=h&protocol=sctp&port=80", want: probeRequest{target: "h", protocol: probe.SCTPProbes, count: 10, port: 80}},
		{query: "target=h&protocol=gre", err: `protocol "gre": want icmp, udp, tcp or sctp`},
		{query: "target=h&count=0", err: `count "0": want a number of rounds from 1 to 50`},
		{query: "target=h&count=51", err: `count "51": want a number of rounds from 1 to 50`},
		{query: "target=h&count=ten", err: `count "ten"`},
		{query: "target=h&port=53", err: "port applies to protocol=udp, tcp or sctp only"},
		{query: "target=h&protocol=tcp&port=0", err: `port "0": want 1-65535`},
		{query: "target=h&protocol=tcp&port=65536", err: `port "65536": want 1-65535`},
		{query: "target=a%20b", err: `target "a b" is not a host name or address`},
		{query: "target=a%0Ab", err: "is not a host name or address"},
		{query: "target=http://x/", err: "is not a host name or address"},
		{query: "target=" + strings.Repeat("a", 254), err: "longer than 253"},
		// Label values must be UTF-8, and no control character may reach a label or a log line.
		{query: "target=a%C2%85b", err: "is not a host name or address"},
		{query: "target=a%E2%80%A8b", err: "is not a host name or address"},
		{query: "target=a%FFb", err: "is not a host name or address"},
		{query: "target=fe80::1%25%FF", err: "is not a host name or address"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseProbe(q, 50)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestAllowList(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("2001:db8:1::/48"), netip.MustParsePrefix("192.0.2.7/32")}
	for addr, want := range map[string]bool{
		"198.18.0.1":          true,
		"198.19.255.255":      true,
		"198.20.0.0":          false,
		"::ffff:198.18.3.4":   true, // the mapped spelling of an allowed address is that address
		"2001:db8:1::9":       true,
		"2001:db8:2::9":       false,
		"192.0.2.7":           true,
		"192.0.2.8":           false,
		"127.0.0.1":           false,
		"::1":                 false,
		"::ffff:192.0.2.8":    false,
		"2001:db8:1:ffff::ff": true,
	} {
		if got := allowed(allow, netip.MustParseAddr(addr)); got != want {
			t.Errorf("allowed(%s) = %v, want %v", addr, got, want)
		}
	}
	if allowed(nil, netip.MustParseAddr("198.18.0.1")) {
		t.Error("an empty allow list allowed an address")
	}
}

func TestScrapeBudget(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
		err    bool
	}{
		{"", 9500 * time.Millisecond, false},
		{"10", 9500 * time.Millisecond, false},
		{"2.5", 2 * time.Second, false},
		{"0.5", 250 * time.Millisecond, false},
		{"3600", maxBudget - budgetOffset, false},
		{"0", 0, true},
		{"-1", 0, true},
		{"NaN", 0, true},
		{"+Inf", 0, true},
		{"soon", 0, true},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.header != "" {
			h.Set(scrapeTimeoutHeader, tc.header)
		}
		got, err := scrapeBudget(h)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("header %q: %v, %v; want %v (error %v)", tc.header, got, err, tc.want, tc.err)
		}
	}
}

// TestProbeTimingFitsTheBudget: count rounds, the wait for the last answers and the gracetime
// end within the budget, and rounds are never longer than -i.
func TestProbeTimingFitsTheBudget(t *testing.T) {
	tmpl := trace.Config{Interval: time.Second, Grace: 5 * time.Second, Timeout: 10 * time.Second}
	for _, tc := range []struct {
		count  int
		budget time.Duration
	}{{1, 9500 * time.Millisecond}, {10, 9500 * time.Millisecond}, {100, 9500 * time.Millisecond}, {5, 500 * time.Millisecond}, {3, time.Minute}} {
		c := probeTiming(tmpl, tc.count, tc.budget)
		if total := time.Duration(c.Count)*c.Interval + c.Interval + c.Grace; total > tc.budget {
			t.Errorf("count %d in %v: rounds of %v and %v grace take %v", tc.count, tc.budget, c.Interval, c.Grace, total)
		}
		if c.Interval > tmpl.Interval || c.Count != tc.count || c.Timeout > tc.budget {
			t.Errorf("count %d in %v: %+v", tc.count, tc.budget, c)
		}
	}
}

// path is a fake network: hops answer with time exceeded, the destination (at TTL len(hops)+1)
// with an echo reply, each after rtt.
type path struct {
	hops []netip.Addr
	dest netip.Addr
	rtt  time.Duration
}

// fakeProber answers every probe at once, as its path says.
type fakeProber struct {
	p       path
	replies chan probe.Reply
	once    sync.Once
	done    chan struct{}
}

func (f *fakeProber) Send(seq uint16, ttl int) (time.Time, error) {
	now := time.Now()
	r := probe.Reply{Seq: seq, Kind: probe.EchoReply, From: f.p.dest, At: now.Add(f.p.rtt)}
	if ttl <= len(f.p.hops) {
		r.Kind, r.From = probe.TimeExceeded, f.p.hops[ttl-1]
	}
	go func() {
		select {
		case f.replies <- r:
		case <-f.done:
		}
	}()
	return now, nil
}
func (f *fakeProber) Replies() <-chan probe.Reply { return f.replies }
func (f *fakeProber) LocalAddr() netip.Addr       { return netip.MustParseAddr("198.18.0.2") }
func (f *fakeProber) Close() error {
	f.once.Do(func() { close(f.done) })
	return nil
}

// fakeNet resolves names from a map and opens fake probers on one path, recording the targets
// it was asked to probe.
type fakeNet struct {
	names map[string]netip.Addr
	p     path

	mu     sync.Mutex
	opened []netip.Addr
	gate   chan struct{} // if set, Open waits for it: a /probe held in flight
}

func (n *fakeNet) resolve(_ context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, nil
	}
	if a, ok := n.names[host]; ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("unknown host: %s", host)
}

func (n *fakeNet) open(cfg probe.Config) (probe.Prober, error) {
	if n.gate != nil {
		<-n.gate
	}
	n.mu.Lock()
	n.opened = append(n.opened, cfg.Target)
	n.mu.Unlock()
	p := n.p
	p.dest = cfg.Target
	return &fakeProber{p: p, replies: make(chan probe.Reply), done: make(chan struct{})}, nil
}

func testServer(t *testing.T, n *fakeNet, allow string, targets ...string) *Server {
	t.Helper()
	var prefixes []netip.Prefix
	for _, p := range strings.Fields(allow) {
		prefixes = append(prefixes, netip.MustParsePrefix(p))
	}
	s, err := New(context.Background(), Options{
		Addr:      "127.0.0.1:0",
		Allow:     prefixes,
		MaxCount:  20,
		MaxProbes: 1,
		Trace:     trace.Config{Interval: 10 * time.Millisecond, Grace: 10 * time.Millisecond, Timeout: time.Second},
		Open:      n.open,
		Resolve:   n.resolve,
	}, targets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, h http.Handler, target string, header ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

var labPath = path{hops: []netip.Addr{netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.1.2")}, rtt: time.Millisecond}

func TestProbeRequests(t *testing.T) {
	n := &fakeNet{p: labPath, names: map[string]netip.Addr{"inside.test": netip.MustParseAddr("198.18.5.2"), "outside.test": netip.MustParseAddr("192.0.2.1")}}
	s := testServer(t, n, "198.18.0.0/15 2001:db8::/32")
	h := s.Handler()
	tests := []struct {
		name, url string
		header    []string
		status    int
		body      string
	}{
		{"allowed address", "/probe?target=198.18.5.2&count=2", nil, 200, "probe_success 1"},
		{"allowed name, its address traced", "/probe?target=inside.test&count=2&protocol=udp", nil, 200, `mtrgo_target_info{address="198.18.5.2",protocol="udp",target="inside.test"} 1`},
		{"the destination's hop", "/probe?target=198.18.5.2&count=2", nil, 200, `mtrgo_destination_ttl{target="198.18.5.2"} 3`},
		{"name outside the allow list", "/probe?target=outside.test", nil, 403, `target "outside.test" (192.0.2.1) is outside --serve-allow`},
		{"address outside the allow list", "/probe?target=127.0.0.1", nil, 403, "is outside --serve-allow"},
		{"unknown host", "/probe?target=nowhere.test", nil, 400, "unknown host: nowhere.test"},
		{"count beyond the limit", "/probe?target=198.18.5.2&count=21", nil, 400, `count "21": want a number of rounds from 1 to 20`},
		{"bad scrape timeout", "/probe?target=198.18.5.2", []string{scrapeTimeoutHeader, "x"}, 400, "X-Prometheus-Scrape-Timeout-Seconds: not a positive number"},
		{"no target", "/probe", nil, 400, "missing target=HOST"},
		{"healthy", "/-/healthy", nil, 200, "Healthy."},
		{"unknown path", "/nothing", nil, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, h, tc.url, tc.header...)
			if status != tc.status || !strings.Contains(body, tc.body) {
				t.Errorf("%s: %d %q, want %d with %q", tc.url, status, body, tc.status, tc.body)
			}
			if status >= 400 && strings.Count(strings.TrimSuffix(body, "\n"), "\n") > 0 {
				t.Errorf("reason is not one line: %q", body)
			}
		})
	}
	req := httptest.NewRequest("POST", "/probe?target=198.18.5.2", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /probe: %d, want 405", rec.Code)
	}
	// HEAD would run a whole trace for no body.
	opened := len(n.opened)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("HEAD", "/probe?target=198.18.5.2", nil))
	if rec.Code != http.StatusMethodNotAllowed || len(n.opened) != opened {
		t.Errorf("HEAD /probe: %d, %d probers opened, want 405 and none", rec.Code, len(n.opened)-opened)
	}
	for _, a := range n.opened {
		if !allowed(s.opts.Allow, a) {
			t.Errorf("a prober was opened towards %s, outside the allow list", a)
		}
	}
}

func TestProbeWithoutAllowListIsRefused(t *testing.T) {
	n := &fakeNet{p: labPath}
	s := testServer(t, n, "")
	status, body := get(t, s.Handler(), "/probe?target=198.18.5.2")
	if status != http.StatusForbidden || !strings.Contains(body, "started without --serve-allow") {
		t.Errorf("%d %q, want 403 saying why", status, body)
	}
	if len(n.opened) != 0 {
		t.Errorf("probers opened: %v", n.opened)
	}
}

// TestProbesAtOnceAreBounded: with --serve-max-probes 1, a second /probe while one is tracing is
// answered 429 at once, and the first still completes.
func TestProbesAtOnceAreBounded(t *testing.T) {
	n := &fakeNet{p: labPath, gate: make(chan struct{})}
	s := testServer(t, n, "198.18.0.0/15")
	h := s.Handler()
	first := make(chan int)
	go func() {
		status, _ := get(t, h, "/probe?target=198.18.5.2&count=1")
		first <- status
	}()
	// The first request holds the only slot from before it opens its prober until it answers.
	deadline := time.Now().Add(10 * time.Second)
	for len(s.slots) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	status, body := get(t, h, "/probe?target=198.18.5.3&count=1")
	if status != http.StatusTooManyRequests || !strings.Contains(body, "1 /probe requests are running already") {
		t.Errorf("second /probe: %d %q, want 429", status, body)
	}
	close(n.gate)
	if status := <-first; status != 200 {
		t.Errorf("first /probe: %d", status)
	}
}

// TestMetricsEndpoint: the targets given at start are traced by Run and served at /metrics.
func TestMetricsEndpoint(t *testing.T) {
	n := &fakeNet{p: labPath, names: map[string]netip.Addr{"lab.b": netip.MustParseAddr("198.18.7.2")}}
	s := testServer(t, n, "", "198.18.5.2", "lab.b")
	n.names = map[string]netip.Addr{} // resolved at New already: lab.b must not be looked up again
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	url := "http://" + s.Addr().String() + "/metrics"
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if strings.Contains(body, `mtrgo_destination_ttl{target="198.18.5.2"} 3`) {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	for _, want := range []string{`mtrgo_destination_ttl{target="198.18.5.2"} 3`, `mtrgo_probes_sent_total{target="198.18.5.2",ttl="1"}`, `mtrgo_target_info{address="198.18.7.2",protocol="icmp",target="lab.b"} 1`, `go_goroutines`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if _, err := http.Get(url); err == nil {
		t.Error("still serving after Run returned")
	}
}

func TestNewFailsOnAnUnknownTarget(t *testing.T) {
	n := &fakeNet{p: labPath}
	// A name that does not resolve is said and left out; the other targets are traced, and
	// /-/healthy names it.
	var log strings.Builder
	s, err := New(context.Background(), Options{Addr: "127.0.0.1:0", Open: n.open, Resolve: n.resolve, Log: &log}, []string{"198.18.5.2", "nowhere.test"})
	if err != nil {
		t.Fatalf("an unknown name among the targets: %v", err)
	}
	if len(s.targets) != 1 || !strings.Contains(log.String(), "warning: nowhere.test: not traced: unknown host: nowhere.test") {
		t.Errorf("%d targets, log %q", len(s.targets), log.String())
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/-/healthy", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "nowhere.test: not traced: unknown host") {
		t.Errorf("/-/healthy: %d %q", rec.Code, rec.Body.String())
	}
	s.Close()
	// A name that is not UTF-8 (an IPv6 zone may be any bytes) cannot be a label value: every
	// scrape of /metrics would fail on it.
	_, err = New(context.Background(), Options{Addr: "127.0.0.1:0", Open: n.open, Resolve: n.resolve}, []string{"198.18.5.2", "fe80::1%\xff"})
	if err == nil || err.Error() != `target "fe80::1%\xff" is not UTF-8` {
		t.Errorf("target not UTF-8: %v", err)
	}
	_, err = New(context.Background(), Options{Addr: "127.0.0.1:bad", Open: n.open, Resolve: n.resolve}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "--serve: ") {
		t.Errorf("bad address: %v", err)
	}
	_, err = New(context.Background(), Options{Addr: "127.0.0.1:0", Open: func(probe.Config) (probe.Prober, error) { return nil, errors.New("no socket") }, Resolve: n.resolve}, []string{"198.18.5.2"})
	if err == nil || err.Error() != "198.18.5.2: no socket" {
		t.Errorf("open failure: %v", err)
	}
}

// TestProbeWithoutPrivilegeSaysWhy: once the server's privileges are gone, an ICMP /probe that
// cannot open a ping socket is answered 503 with the remedy, not a socket error.
func TestProbeWithoutPrivilegeSaysWhy(t *testing.T) {
	n := &fakeNet{p: labPath}
	s := testServer(t, n, "198.18.0.0/15")
	s.opts.Open = func(probe.Config) (probe.Prober, error) {
		return nil, fmt.Errorf("%w (open raw ICMPv4 socket: %w)", probe.ErrNoPrivilege, probe.ErrPermission)
	}
	status, body := get(t, s.Handler(), "/probe?target=198.18.5.2")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "protocol=icmp needs raw sockets") {
		t.Errorf("%d %q", status, body)
	}
}

// TestProbeAfterASlowLookup: a lookup that takes nearly all of the scrape's time leaves a 504
// saying so, not a trace cut short into false loss.
func TestProbeAfterASlowLookup(t *testing.T) {
	n := &fakeNet{p: labPath}
	s := testServer(t, n, "198.18.0.0/15")
	s.opts.Resolve = func(ctx context.Context, host string) (netip.Addr, error) {
		time.Sleep(450 * time.Millisecond)
		return netip.MustParseAddr("198.18.5.2"), nil
	}
	status, body := get(t, s.Handler(), "/probe?target=slow.test", scrapeTimeoutHeader, "1")
	if status != http.StatusGatewayTimeout || !strings.Contains(body, `resolving "slow.test" left`) {
		t.Errorf("%d %q", status, body)
	}
	if len(n.opened) != 0 {
		t.Errorf("probers opened: %v", n.opened)
	}
}
