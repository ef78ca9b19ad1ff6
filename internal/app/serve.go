package app

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/internal/privs"
	"github.com/mtr-go/mtr-go/internal/server"
	"github.com/mtr-go/mtr-go/probe"
)

// serve runs mtr-go as a Prometheus exporter (--serve) until interrupted.
func serve(env Env, cfg *cli.Config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// Every target, and every /probe, shares one socket per family and protocol.
	mux := probe.NewMux(probe.MuxOptions{})
	defer mux.Close()
	// server.New resolves the targets one after another: they are looked up several at once
	// first, so a long -F list waits for its slowest lookups, not for all of them in a row.
	resolve, started := prelookup(ctx, cfg.Targets, func(ctx context.Context, host string) (netip.Addr, error) {
		return lookupHost(ctx, host, cfg.Family)
	})
	opts := server.Options{
		Addr:       cfg.Serve.Addr,
		Allow:      cfg.Serve.Allow,
		LossWindow: cfg.Serve.LossWindow,
		MaxCount:   cfg.Serve.MaxCount,
		MaxProbes:  cfg.Serve.MaxProbes,
		Reverse:    server.ReverseOptions{Token: cfg.Serve.Token},
		TLSCert:    cfg.Serve.TLSCert,
		TLSKey:     cfg.Serve.TLSKey,
		Insecure:   cfg.Serve.Insecure,
		Probe:      probeConfig(cfg),
		Trace:      traceConfig(cfg), // the server ignores -c (refused with --serve anyway)
		Open:       mux.Open,
		Dropped:    mux.Stats,
		Resolve:    resolve,
		Log:        env.Stderr,
	}
	// The listener and every target's sockets are opened while the process may still hold the
	// privileges they need; then they are dropped for good, before any answer is parsed or any
	// request read. /probe's targets join the shared sockets preopened below.
	srv, err := server.New(ctx, opts, cfg.Targets)
	started()
	switch {
	case errors.Is(err, probe.ErrPermission):
		fmt.Fprintf(env.Stderr, "mtr-go: no permission to open ICMP sockets: run with sudo, or give the binary the capability once (sudo setcap cap_net_raw+ep %s), or allow unprivileged ICMP (sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"); -u or -T probes need none of these\n", selfPath())
		return exitFail
	case err != nil:
		fmt.Fprintf(env.Stderr, "mtr-go: %v\n", err)
		return exitFail
	}
	// /probe may ask for any protocol of either family after the privileges are gone: the shared
	// raw sockets for all of them are opened now. Without the privilege the Mux falls back per
	// target (ping sockets, UDP, TCP connect), so only other failures are worth a word.
	if err := mux.Preopen(opts.Probe, probe.ICMPProbes, probe.UDPProbes, probe.TCPProbes, probe.SCTPProbes); err != nil && !errors.Is(err, probe.ErrPermission) {
		fmt.Fprintf(env.Stderr, "mtr-go: warning: %v\n", err)
	}
	if err := privs.Drop(); err != nil {
		srv.Close()
		fmt.Fprintf(env.Stderr, "mtr-go: cannot drop privileges: %v\n", err)
		return exitFail
	}
	if len(cfg.Targets) == 0 && len(cfg.Serve.Allow) == 0 && cfg.Serve.Token == "" {
		fmt.Fprintf(env.Stderr, "mtr-go: warning: no targets and no --serve-allow: /metrics has no path to show and /probe refuses every target\n")
	}
	if cfg.Serve.Token != "" && !srv.TLS() && cfg.Serve.Insecure {
		fmt.Fprintf(env.Stderr, "mtr-go: warning: --serve-insecure: reverse-trace tokens and results cross the network in clear; use --tls-cert and --tls-key\n")
	}
	scheme, rev := "http", "off (no --token-file)"
	if srv.TLS() {
		scheme = "https"
	}
	if cfg.Serve.Token != "" {
		rev = "on"
	}
	fmt.Fprintf(env.Stderr, "mtr-go: serving %s on %s: /metrics (%d targets), /probe, /-/healthy, reverse traces %s\n", scheme, srv.Addr(), len(cfg.Targets), rev)
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintf(env.Stderr, "mtr-go: %v\n", err)
		return exitFail
	}
	return exitOK
}

// prelookup looks names up with lookup, several at once (resolveAll), and returns a lookup that
// answers for those names from these results until started is called, and afresh for any name
// after: the exporter's own targets are resolved once at start, /probe's per request.
func prelookup(ctx context.Context, names []string, lookup func(context.Context, string) (netip.Addr, error)) (
	resolve func(context.Context, string) (netip.Addr, error), started func()) {
	addrs, errs := resolveAll(ctx, names, lookup)
	index := make(map[string]int, len(names))
	for i, name := range names {
		index[name] = i
	}
	var known atomic.Pointer[map[string]int]
	known.Store(&index)
	resolve = func(ctx context.Context, host string) (netip.Addr, error) {
		if m := known.Load(); m != nil {
			if i, ok := (*m)[host]; ok {
				return addrs[i], errs[i]
			}
		}
		return lookup(ctx, host)
	}
	return resolve, func() { known.Store(nil) }
}
