// Package server runs mtr-go as a Prometheus exporter (--serve): it traces its targets without
// end and serves their per-hop statistics at /metrics, traces one target per request at /probe
// (blackbox_exporter's pattern, so Prometheus's configuration can pick the targets, within
// --serve-allow), answers /-/healthy, and traces back to callers that POST /reverse with its
// token (package reverse is the client). It is the one package that owns HTTP: its limits
// (allow list, /probe's count, time and concurrency, reverse traces' token, TLS and limits)
// live here.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/probe"
)

// Opener opens one target's prober. It is the single place probers come from, so one shared
// probe.Mux (its Open) can stand in for probe.OpenProber.
type Opener func(probe.Config) (probe.Prober, error)

// Resolver turns a target as typed into the one address traced.
type Resolver func(ctx context.Context, host string) (netip.Addr, error)

// Options configure a Server.
type Options struct {
	Addr       string         // where to listen, HOST:PORT
	Allow      []netip.Prefix // the addresses /probe may trace; empty refuses every /probe
	LossWindow int            // newest probes per hop that mtrgo_loss_ratio covers
	MaxCount   int            // the largest count= of a /probe request
	MaxProbes  int            // /probe requests traced at once; more are answered 429

	Probe probe.Config // how to probe (size, TOS, protocol, port...); Target is set per target
	Trace trace.Config // how to pace (TTLs, -i, -Z, -G); Count is ignored

	// Reverse configures POST /reverse; without a Token every reverse request is refused.
	Reverse ReverseOptions
	// TLSCert and TLSKey are PEM files; with them the server speaks only https. Without them a
	// server that answers reverse traces listens on loopback only, unless Insecure says plain
	// HTTP elsewhere is wanted (the token then crosses the network in clear).
	TLSCert, TLSKey string
	Insecure        bool

	Open    Opener
	Resolve Resolver
	// Dropped, if set, counts the answers lost inside this process (a shared probe.Mux's
	// Stats), exported so that loss of mtr-go's own making can be told from the path's.
	Dropped func() probe.MuxStats
	Log     io.Writer // where a stopped tracer or an HTTP error is told, one line each
}

// Server is a running exporter: its listener, its targets' probers and tracers.
type Server struct {
	opts    Options
	ln      net.Listener
	targets []*target
	reg     *prometheus.Registry
	slots   chan struct{} // one per /probe request allowed at once
	rslots  reverseSlots  // the reverse traces running
	tls     *tls.Config   // nil: plain HTTP

	unresolved []unresolved // targets whose names did not resolve at start (not traced)

	mu      sync.Mutex
	stopped map[string]error // targets whose tracer ended, and why
}

// unresolved is a target left out because its name did not resolve.
type unresolved struct {
	name string
	err  error
}

// target is one target of /metrics: its prober, tracer and the watch the metrics read.
type target struct {
	prober probe.Prober
	tracer *trace.Tracer
	watch  *watch
}

// Defaults for Options left zero.
const (
	defaultLossWindow = 100
	defaultMaxCount   = 100
	defaultMaxProbes  = 4
)

// New resolves the targets, opens a prober for each and the listener: everything that may need
// privileges, so the caller can drop them once New returns. Nothing is sent before Run.
func New(ctx context.Context, opts Options, targets []string) (*Server, error) {
	if opts.Open == nil || opts.Resolve == nil {
		return nil, errors.New("server: Open and Resolve are required")
	}
	if opts.LossWindow <= 0 {
		opts.LossWindow = defaultLossWindow
	}
	if opts.MaxCount <= 0 {
		opts.MaxCount = defaultMaxCount
	}
	if opts.MaxProbes <= 0 {
		opts.MaxProbes = defaultMaxProbes
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	opts.Reverse.defaults()
	s := &Server{opts: opts, slots: make(chan struct{}, opts.MaxProbes), stopped: map[string]error{}}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	tcfg := opts.Trace
	tcfg.Count = 0 // without end
	for _, name := range targets {
		if !utf8.ValidString(name) {
			// It is the target's label value: every scrape would fail on it.
			return nil, fmt.Errorf("target %q is not UTF-8", name)
		}
		addr, err := opts.Resolve(ctx, name)
		if err != nil {
			// One name that does not resolve must not take the monitoring of all the others
			// down (under systemd: a restart loop); it is said now and /-/healthy keeps saying it.
			// An address that cannot be traced (of the wrong family) is a mistake in the
			// configuration, not a lookup that may work later: that one is fatal.
			if _, literal := netip.ParseAddr(name); literal == nil || ctx.Err() != nil {
				return nil, err
			}
			fmt.Fprintf(opts.Log, "mtr-go: warning: %s: not traced: %v\n", name, err)
			s.unresolved = append(s.unresolved, unresolved{name, err})
			continue
		}
		t, err := s.open(name, addr, opts.Probe, tcfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		s.targets = append(s.targets, t)
	}
	s.reg = prometheus.NewRegistry()
	c := &collector{lossWindow: opts.LossWindow, dropped: opts.Dropped}
	for _, t := range s.targets {
		c.watches = append(c.watches, t.watch)
	}
	s.reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if opts.TLSCert != "" {
		// Read now, while the process may still read a key only root may.
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("--serve: %w", err)
	}
	s.ln = ln
	if opts.Reverse.Token != "" && s.tls == nil && !opts.Insecure && !loopback(ln.Addr()) {
		return nil, fmt.Errorf("--serve %s: reverse traces carry a token: give --tls-cert and --tls-key, listen on loopback, or allow plain HTTP with --serve-insecure", opts.Addr)
	}
	ok = true
	return s, nil
}

// open opens a prober for addr and a tracer over it; the tracer's interval is checked against
// the prober's sequence space now, so a bad -i fails before anything is sent.
func (s *Server) open(name string, addr netip.Addr, pcfg probe.Config, tcfg trace.Config) (*target, error) {
	pcfg.Target = addr
	p, err := s.opts.Open(pcfg)
	if err != nil {
		return nil, err
	}
	tr := trace.New(p, addr, tcfg)
	var ie *trace.IntervalError
	if err := tr.CheckInterval(); errors.As(err, &ie) {
		p.Close()
		return nil, intervalError{ie}
	}
	w := newWatch(name, addr, pcfg.Protocol, tr, p.LocalAddr)
	tr.OnEvent(w.observe)
	return &target{prober: p, tracer: tr, watch: w}, nil
}

// intervalError says in the options' words that -i is too short for the prober's sequence space.
type intervalError struct{ *trace.IntervalError }

func (e intervalError) Error() string {
	ie := e.IntervalError
	return fmt.Sprintf("-i %g: too short with -f %d, -m %d and -Z %g: probes would reuse sequence numbers still awaiting answers; use -i %g or more",
		ie.Interval.Seconds(), ie.First, ie.Last, ie.Timeout.Seconds(), math.Ceil(ie.Floor.Seconds()*1e6)/1e6)
}

func (e intervalError) Unwrap() error { return e.IntervalError }

// loopback reports whether a listens on a loopback address only.
func loopback(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// TLS reports whether the server speaks https.
func (s *Server) TLS() bool { return s.tls != nil }

// Addr is the address the server listens on (the port the kernel chose for port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run traces every target until ctx ends, serving HTTP meanwhile, then closes the server.
func (s *Server) Run(ctx context.Context) error {
	defer s.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, t := range s.targets {
		wg.Go(func() {
			err := t.tracer.Run(ctx)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("the trace ended")
			}
			fmt.Fprintf(s.opts.Log, "mtr-go: %s: tracing stopped: %v\n", t.watch.name, err)
			s.mu.Lock()
			s.stopped[t.watch.name] = err
			s.mu.Unlock()
		})
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(s.opts.Log, "mtr-go: http: ", 0),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	ln := s.ln
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("--serve: %w", err)
		cancel()
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = hs.Shutdown(sctx)
	scancel()
	wg.Wait()
	return err
}

// Close stops listening and closes the probers; Run calls it on its way out.
func (s *Server) Close() {
	if s.ln != nil {
		s.ln.Close()
	}
	for _, t := range s.targets {
		t.prober.Close()
	}
}

// Handler serves /metrics, /probe and /-/healthy (GET and HEAD; other methods get 405).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
		ErrorLog:            log.New(s.opts.Log, "mtr-go: /metrics: ", 0),
		MaxRequestsInFlight: 8,
	}))
	mux.HandleFunc("GET /probe", s.probe)
	// A "GET" pattern answers HEAD too, and a HEAD of /probe would run a whole trace for no body.
	mux.HandleFunc("HEAD /probe", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", "GET")
		fail(w, http.StatusMethodNotAllowed, "/probe runs a trace: use GET")
	})
	mux.HandleFunc("GET /-/healthy", s.healthy)
	mux.HandleFunc("POST "+reverse.Path, s.reverseTrace)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "mtr-go exporter: /metrics (%d targets), /probe?target=HOST&protocol=icmp|udp|tcp|sctp&count=N&port=P, /-/healthy, POST %s (reverse traces to the caller)\n", len(s.targets), reverse.Path)
	})
	return mux
}

// healthy answers 200 while every target is being traced, 503 naming one that is not (its name
// did not resolve at start, or its tracer stopped).
func (s *Server) healthy(w http.ResponseWriter, _ *http.Request) {
	if len(s.unresolved) > 0 {
		u := s.unresolved[0]
		fail(w, http.StatusServiceUnavailable, fmt.Sprintf("%s: not traced: %v", u.name, u.err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.targets {
		if err, ok := s.stopped[t.watch.name]; ok {
			fail(w, http.StatusServiceUnavailable, fmt.Sprintf("%s: tracing stopped: %v", t.watch.name, err))
			return
		}
	}
	fmt.Fprintln(w, "Healthy.")
}

// fail answers with status and a one-line reason (control characters, which a host name from
// the request or a resolver's message could carry, are dropped).
func fail(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, vocab.StripControl(reason))
}
