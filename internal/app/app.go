// Package app runs mtr-go: it takes the parsed configuration, resolves the targets, opens the
// prober, drives the scheduler and hands the results to the chosen view. cmd/mtr-go only calls Main.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mtr-go/mtr-go/internal/asinfo"
	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/internal/mtrpacket"
	"github.com/mtr-go/mtr-go/internal/privs"
	"github.com/mtr-go/mtr-go/internal/report"
	"github.com/mtr-go/mtr-go/internal/resolve"
	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
)

// Exit codes.
const (
	exitOK          = 0
	exitFail        = 1
	exitInterrupted = 130 // like a shell reports SIGINT
)

// dnsWait bounds how long a report waits for reverse names still being looked up.
const dnsWait = 2 * time.Second

// Env is what the process gives mtr-go: arguments, environment and standard streams.
type Env struct {
	Args           []string // without the program name
	Options        string   // MTR_OPTIONS
	MTRPacket      string   // MTR_PACKET: a packet helper to probe through
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Version        string
}

// Main runs mtr-go and returns the exit code.
func Main(env Env) int {
	cfg, err := cli.Parse(env.Options, env.Args, env.Stdin)
	switch {
	case cli.IsHelp(err):
		switch {
		case cfg.Completion != "":
			if err := cli.Completion(env.Stdout, cfg.Completion); err != nil {
				fmt.Fprintf(env.Stderr, "mtr-go: %v\n", err)
				return exitFail
			}
		case cfg.Version:
			fmt.Fprintf(env.Stdout, "mtr-go %s\n", env.Version)
		case cfg.History:
			return listHistory(env)
		default:
			cli.Usage(env.Stdout)
		}
		return exitOK
	case err != nil:
		fmt.Fprintf(env.Stderr, "mtr-go: %v\n", err)
		return exitFail
	}
	if cfg.ReadReport != "" {
		return readSaved(env, cfg.ReadReport)
	}
	if cfg.Reverse.URL != "" && reverse.InClear(cfg.Reverse.URL) {
		fmt.Fprintf(env.Stderr, "mtr-go: warning: --reverse %s: the token and the results cross the network in clear; use https\n", cfg.Reverse.URL)
	}

	// As in mtr, only a process that may open raw sockets may probe faster than once a second;
	// asked before the privileges are dropped below.
	privileged := privs.Privileged()
	if cfg.Interval < time.Second && !privileged {
		fmt.Fprintf(env.Stderr, "mtr-go: -i %g: intervals below 1 second need root or cap_net_raw, as in mtr (run with sudo, or once: sudo setcap cap_net_raw+ep %s)\n", cfg.Interval.Seconds(), selfPath())
		return exitFail
	}
	if cfg.Serve.Addr != "" {
		return serve(env, cfg)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	var names *resolve.Resolver
	if !cfg.NoDNS {
		names = resolve.New(nil, dnsWait, 8)
		defer names.Close()
	}
	var as *asinfo.Lookups
	if cfg.ASLookup {
		as = asinfo.New(nil, cfg.Provider4, cfg.Provider6, dnsWait, cfg.Analyze)
		defer as.Close()
	}
	host, _ := os.Hostname()
	if cfg.Privacy > 0 {
		host = vocab.Hidden
	}
	view, ok := views[cfg.Mode]
	if !ok {
		fmt.Fprintf(env.Stderr, "mtr-go: no view for output mode %d\n", cfg.Mode) // a new cli.Mode without a view
		return exitFail
	}

	// Every target's sockets are opened first, while the process may still hold the privilege raw
	// sockets need; then root and all capabilities are dropped for good, before any answer is
	// parsed. The targets then run at once (runAll).
	// All targets share one socket per family and protocol (probe.Mux demultiplexes the answers
	// and paces the sends of all of them); it closes after every session's prober.
	mux := probe.NewMux(probe.MuxOptions{})
	defer mux.Close()
	openProber := mux.Open
	helper, err := packetHelper(cfg, env, privileged)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mtr-go: %v\n", err)
		return exitFail
	}
	if helper != "" {
		// Every probe goes through the helper, which holds the privilege; mtr-go opens no socket.
		client, err := mtrpacket.Start(helper)
		if err != nil {
			fmt.Fprintf(env.Stderr, "mtr-go: %v\n", err)
			return exitFail
		}
		defer client.Close()
		openProber = client.Open
	}
	newProber := func(c probe.Config, early ...probe.Protocol) (*probe.Switch, error) {
		return probe.NewSwitchFrom(openProber, c, early...)
	}
	// Key g of the live view opens a session for another host after privileges are gone: the
	// prober shares the sockets opened now (same family and protocol), and says so otherwise.
	var reopen func(ctx context.Context, name string) (*session, error)
	reopen = func(ctx context.Context, name string) (*session, error) {
		a, err := lookupHost(ctx, name, cfg.Family)
		if err != nil {
			return nil, err
		}
		s, err := open(cfg, name, a, host, names, as, newProber)
		if err != nil {
			return nil, err
		}
		s.privileged, s.reopen = privileged, reopen
		return s, nil
	}
	sessions := make([]*session, 0, len(cfg.Targets))
	code := exitOK
	addrs, lookupErrs := resolveAll(ctx, cfg.Targets, func(ctx context.Context, name string) (netip.Addr, error) {
		return lookupHost(ctx, name, cfg.Family)
	})
	for i, target := range cfg.Targets {
		err := lookupErrs[i]
		var s *session
		if err == nil {
			s, err = open(cfg, target, addrs[i], host, names, as, newProber)
		}
		switch {
		case errors.Is(err, probe.ErrPermission):
			// The wrapped socket error adds nothing the user can act on; the remedies do.
			if cfg.Protocol == probe.SCTPProbes {
				// No unprivileged way to send an INIT of our own, and no ping-socket remedy.
				fmt.Fprintf(env.Stderr, "mtr-go: no permission to open raw sockets, which SCTP probes need: run with sudo, or give the binary the capability once (sudo setcap cap_net_raw+ep %s); -u or -T probes need neither\n", selfPath())
			} else {
				fmt.Fprintf(env.Stderr, "mtr-go: no permission to open ICMP sockets: run with sudo, or give the binary the capability once (sudo setcap cap_net_raw+ep %s), or allow unprivileged ICMP (sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"); -u or -T probes need none of these\n", selfPath())
			}
			for _, s := range sessions {
				s.close()
			}
			return exitFail
		case err != nil:
			// An unknown host among several: said now, and the others still run.
			fmt.Fprintf(env.Stderr, "mtr-go: %v\n", err)
			code = exitFail
			continue
		}
		s.privileged, s.reopen = privileged, reopen
		sessions = append(sessions, s)
	}
	defer func() {
		for _, s := range sessions {
			s.close()
		}
	}()
	if err := privs.Drop(); err != nil {
		fmt.Fprintf(env.Stderr, "mtr-go: cannot drop privileges: %v\n", err)
		return exitFail
	}

	stopProgress := startProgress(cfg, sessions, env)
	errs := runAll(ctx, sessions, view, env)
	stopProgress()
	if w := dropWarning(mux.Stats()); w != "" {
		fmt.Fprintln(env.Stderr, w)
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	for _, err := range errs {
		if err != nil {
			fmt.Fprintf(env.Stderr, "mtr-go: %v\n", err)
			code = exitFail
		}
	}
	return code
}

// dropWarning says, if any answer was lost inside mtr-go (a target's queue full, a socket's
// receive buffer full), that some of the loss reported is its own and not the path's; "" if
// none was.
func dropWarning(st probe.MuxStats) string {
	if st.QueueFull == 0 && st.KernelDrops == 0 {
		return ""
	}
	return fmt.Sprintf("mtr-go: warning: answers were lost inside mtr-go (%d to full target queues, %d datagrams to full receive buffers): some of the loss shown is its own, not the path's; fewer targets at once or a longer -i avoid it",
		st.QueueFull, st.KernelDrops)
}

// A view shows one session's results; it returns when the session is over for it (rounds done,
// user quit, or ctx ended).
type view func(ctx context.Context, s *session, env Env) error

// views maps each output mode to its view (tui.go has the live ones, formats.go the machine and
// ticket formats). The default mode is the live UI on a terminal, the report otherwise.
var views = map[cli.Mode]view{
	cli.ModeDefault:  defaultView,
	cli.ModeCurses:   tuiView,
	cli.ModeReport:   reportView,
	cli.ModeSplit:    splitView,
	cli.ModeRaw:      rawView,
	cli.ModeJSON:     batchView(jsonDoc),
	cli.ModeXML:      batchView(xmlDoc),
	cli.ModeCSV:      batchView(csvDoc),
	cli.ModeMarkdown: batchView(markdownDoc),
	cli.ModeHTML:     batchView(htmlDoc),
}

// helperName is the packet helper mtr-go looks for beside its own binary.
const helperName = "mtr-go-packet"

// packetHelper picks the packet helper to probe through: --packet-helper, else MTR_PACKET, else,
// when mtr-go itself may not open raw sockets, an mtr-go-packet installed beside it (make
// install gives that one cap_net_raw and mtr-go none). An option or environment variable that
// would choose the program is refused when mtr-go runs with privileges it was not started with.
func packetHelper(cfg *cli.Config, env Env, privileged bool) (string, error) {
	path, from := cfg.PacketHelper, "--packet-helper"
	if path == "" {
		path, from = env.MTRPacket, "MTR_PACKET"
	}
	if path != "" {
		if privs.Elevated() {
			return "", fmt.Errorf("%s refused: mtr-go runs with privileges it was not started with (setuid or file capabilities), so it does not run a program the caller picks", from)
		}
		return path, nil
	}
	if privileged {
		return "", nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil
	}
	p := filepath.Join(filepath.Dir(self), helperName)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return p, nil
	}
	return "", nil
}

func selfPath() string {
	p, err := os.Executable()
	if err != nil {
		return "mtr-go"
	}
	return p
}

// lookupHost resolves a target name or literal to one address of the wanted family.
func lookupHost(ctx context.Context, name string, family int) (netip.Addr, error) {
	network := "ip"
	switch family {
	case 4:
		network = "ip4"
	case 6:
		network = "ip6"
	}
	if a, err := netip.ParseAddr(name); err == nil {
		a = a.Unmap()
		if (family == 4 && !a.Is4()) || (family == 6 && !a.Is6()) {
			return netip.Addr{}, fmt.Errorf("%s is not an IPv%d address", name, family)
		}
		return a, nil
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(lctx, network, name)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("unknown host: %s", name)
	}
	return addrs[0].Unmap(), nil
}

// session is one target's run: its configuration, resolved address, prober and scheduler.
type session struct {
	cfg    *cli.Config
	name   string // the target as the user typed it
	target netip.Addr
	host   string        // local host name
	prober *probe.Switch // a probe.Prober whose protocol the live UI can change
	tracer *trace.Tracer
	names  *resolve.Resolver // nil with -n
	as     *asinfo.Lookups   // nil without -y/-z

	privileged bool // may set intervals below 1 s (root or cap_net_raw when started)

	// With --reverse: how to reach the responder (nil: reverse.Dial).
	dial dialFunc

	// reopen opens a session like this one for another host (the live view's key g); nil
	// where a view cannot change its target.
	reopen func(ctx context.Context, name string) (*session, error)

	// roundsOverHook erases the progress line (startProgress); nil when none is shown.
	roundsOverHook func()
}

// open opens the prober and scheduler for the target name, resolved to target.
func open(cfg *cli.Config, name string, target netip.Addr, host string, names *resolve.Resolver, as *asinfo.Lookups,
	newProber func(probe.Config, ...probe.Protocol) (*probe.Switch, error)) (*session, error) {
	pcfg := probeConfig(cfg)
	pcfg.Target = target
	// The live UI may switch to ICMP or TCP later, when privileges are gone: open them now (raw
	// TCP only opens with the privilege, else the key gets the unprivileged connect prober).
	var early []probe.Protocol
	if cfg.Mode == cli.ModeDefault || cfg.Mode == cli.ModeCurses {
		early = append(early, probe.ICMPProbes, probe.TCPProbes)
	}
	p, err := newProber(pcfg, early...)
	if err != nil {
		return nil, err
	}
	tr := trace.New(p, target, traceConfig(cfg))
	// Sequence numbers still awaiting an answer are never reused, so an interval so short that
	// more probes than the prober can tell apart would be in flight within -Z is refused now,
	// in the options' words, rather than when the run starts.
	var ie *trace.IntervalError
	if err := tr.CheckInterval(); errors.As(err, &ie) {
		p.Close()
		return nil, fmt.Errorf("-i %g: too short with -f %d, -m %d and -Z %g: probes would reuse sequence numbers still awaiting answers; use -i %g or more, or a smaller -Z or -m",
			ie.Interval.Seconds(), ie.First, ie.Last, ie.Timeout.Seconds(), math.Ceil(ie.Floor.Seconds()*1e6)/1e6)
	}
	if names != nil || as != nil {
		tr.OnNewAddress(func(a netip.Addr) {
			if names != nil {
				names.Prefetch(a)
			}
			if as != nil {
				as.Prefetch(a)
			}
		})
	}
	return &session{cfg: cfg, name: name, target: target, host: host, prober: p, tracer: tr, names: names, as: as}, nil
}

// probeConfig is how the options ask every target to be probed; Target is left to the caller.
func probeConfig(cfg *cli.Config) probe.Config {
	return probe.Config{
		Source:    cfg.Source,
		Interface: cfg.Interface,
		Size:      cfg.Size,
		Pattern:   cfg.Pattern,
		TOS:       cfg.TOS,
		Mark:      cfg.Mark,
		Protocol:  cfg.Protocol,
		Port:      cfg.Port,
		LocalPort: cfg.LocalPort,
		Paris:     cfg.Paris,
		Timeout:   cfg.Timeout,
	}
}

// traceConfig is how the options pace every target's rounds.
func traceConfig(cfg *cli.Config) trace.Config {
	return trace.Config{
		First:      cfg.First,
		Max:        cfg.Max,
		MaxUnknown: cfg.MaxUnknown,
		Count:      cfg.Count,
		Interval:   cfg.Interval,
		Timeout:    cfg.Timeout,
		Grace:      cfg.Grace,
	}
}

func (s *session) close() {
	if s.prober != nil { // nil in tests of runAll, whose views probe nothing
		s.prober.Close()
	}
}

// run runs the scheduler; an interrupt is not an error here (the view still shows what it has).
func (s *session) run(ctx context.Context) error {
	err := s.tracer.Run(ctx)
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}

// lookup returns the reverse-name function for views: after waiting (bounded) for the names of
// every address in snap, when wait is set, and for their AS lookups (-y, -z) within the same
// bound.
func (s *session) lookup(snap stats.Snapshot, wait bool) report.Names {
	if wait && (s.names != nil || s.as != nil) {
		var addrs []netip.Addr
		for _, h := range snap.Hops {
			for _, a := range h.Addrs {
				if vocab.IsMasked(a.IP) {
					continue // a stand-in (--privacy): nothing to look up
				}
				addrs = append(addrs, a.IP)
			}
		}
		wctx, cancel := context.WithTimeout(context.Background(), dnsWait)
		var wg sync.WaitGroup
		if s.names != nil {
			wg.Go(func() { s.names.Wait(wctx, addrs) })
		}
		if s.as != nil {
			wg.Go(func() { s.as.Wait(wctx, addrs) })
		}
		wg.Wait()
		cancel()
	}
	if s.names == nil {
		return func(netip.Addr) string { return "" }
	}
	return s.names.Name
}

// warnUnsent tells, on stderr, why hops whose latest probe the kernel refused to send stay
// silent: mtr's report layout has no place for it, and scripts read stdout.
func warnUnsent(w io.Writer, snap stats.Snapshot) {
	var reasons []string
	hops := map[string][]string{}
	for _, h := range snap.Hops {
		if h.SendErr == "" {
			continue
		}
		if _, ok := hops[h.SendErr]; !ok {
			reasons = append(reasons, h.SendErr)
		}
		hops[h.SendErr] = append(hops[h.SendErr], strconv.Itoa(h.TTL))
	}
	for _, r := range reasons {
		noun := "hop"
		if len(hops[r]) > 1 {
			noun = "hops"
		}
		fmt.Fprintf(w, "mtr-go: probes could not be sent (%s %s): %s\n", noun, strings.Join(hops[r], ", "), r)
	}
}

// reportView runs cfg.Count rounds and prints mtr's report; interrupted, it prints what it has.
// With --reverse the responder's trace back runs meanwhile and its table follows.
func reportView(ctx context.Context, s *session, env Env) error {
	start := time.Now()
	if err := report.Start(env.Stdout, start); err != nil {
		return err
	}
	rev := s.startReverse(ctx)
	if rev != nil {
		defer rev.stop()
	}
	err := s.run(ctx)
	s.roundsOver()
	if err != nil {
		return err
	}
	snap := s.snapshot()
	warnUnsent(env.Stderr, snap)
	opts := s.reportOptions(snap)
	s.finishReverse(ctx, rev, &opts, snap, time.Since(start))
	return report.Text(env.Stdout, snap, s.lookup(snap, true), opts)
}

// snapshot is the session's statistics as the views and formats show them: with --privacy, the
// first hops' addresses are masked (vocab.Mask).
func (s *session) snapshot() stats.Snapshot { return vocab.Mask(s.tracer.Snapshot(), s.cfg.Privacy) }

// localAddr is this host's probe source address, or none with --privacy: it names the user's
// network (it would go into the analysis's reverse-path command and the live view's title).
func (s *session) localAddr() netip.Addr {
	if s.cfg.Privacy > 0 {
		return netip.Addr{}
	}
	return s.prober.LocalAddr()
}
