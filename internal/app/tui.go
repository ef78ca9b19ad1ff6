package app

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"golang.org/x/term"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/asinfo"
	"github.com/mtr-go/mtr-go/internal/report"
	"github.com/mtr-go/mtr-go/internal/resolve"
	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/tui"
)

// defaultView is what `mtr-go HOST` does: the live UI on a terminal; piped or redirected, a
// report, so `mtr-go HOST > file` gives a result instead of an error.
func defaultView(ctx context.Context, s *session, env Env) error {
	if !isTerminal(env.Stdout) {
		return reportView(ctx, s, env)
	}
	return liveView(ctx, s, env, true)
}

// tuiView is -t/--curses: the live UI, or an error when there is no terminal to draw on.
func tuiView(ctx context.Context, s *session, env Env) error {
	return liveView(ctx, s, env, false)
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// tunable is the part of a prober the UI changes while it runs; an interface so the view keeps
// working whichever prober the session holds.
type tunable interface {
	SetSize(int) error
	SetPattern(int) error
	SetTOS(int) error
	Protocol() probe.Protocol
	SetProtocol(probe.Protocol) error
}

// control is what the UI's keys change: the scheduler and the prober.
type control struct {
	*trace.Tracer
	tunable
	privileged bool
}

// SetProtocol switches the probes' protocol unless the current interval is too short for the new
// protocol's sequence space (classic TCP has 16384 numbers, ICMP 65536): then it stays as it was.
func (c control) SetProtocol(p probe.Protocol) error {
	prev := c.tunable.Protocol()
	if err := c.tunable.SetProtocol(p); err != nil {
		return err
	}
	if err := c.Tracer.CheckInterval(); err != nil {
		_ = c.tunable.SetProtocol(prev)
		return fmt.Errorf("%v probes: %w; raise the interval (i) first", p, err)
	}
	return nil
}

// SetInterval refuses, as mtr does, intervals below 1 s to a process that was started without
// root or cap_net_raw.
func (c control) SetInterval(d time.Duration) error {
	if d < time.Second && !c.privileged {
		return errors.New("intervals below 1 s need root or cap_net_raw")
	}
	return c.Tracer.SetInterval(d)
}

// panicked carries a panic of the scheduler goroutine to the view, which re-raises it once the
// terminal is restored.
type panicked struct {
	value any
	stack []byte
}

// liveView runs the full-screen UI until the user quits, the rounds of -c are done, or ctx ends,
// then prints the final table as a report so it stays in the scrollback. With fallback set, a
// terminal tcell cannot drive gets a report instead of an error.
// Key g ends a view with another host to trace: the final table of this one is printed, and the
// view goes on with the new target, keeping the view's toggles.
func liveView(ctx context.Context, s *session, env Env, fallback bool) error {
	var carried *tui.Result
	first := s
	for {
		next, res, err := liveOnce(ctx, s, env, fallback, carried)
		if s != first {
			s.close() // Main closes the sessions it opened
		}
		if next == nil {
			return err
		}
		if err != nil {
			next.close()
			return err
		}
		s, carried, fallback = next, &res, false
	}
}

// liveOnce is one target's live view; next is the session of the host key g asked for, opened
// (its address looked up) while this one still probes. A host that cannot be traced is said on
// the status line of this view, which goes on.
func liveOnce(ctx context.Context, s *session, env Env, fallback bool, carried *tui.Result) (next *session, res tui.Result, err error) {
	scr, err := tcell.NewScreen()
	if err == nil {
		err = scr.Init()
	}
	if err != nil {
		if fallback {
			return nil, res, reportView(ctx, s, env)
		}
		return nil, res, fmt.Errorf("cannot use the terminal for the live view (%v); use -r for a report", err)
	}

	// Names: with -n there is no resolver yet, but `n` may turn names on; a resolver only looks
	// up what the view asks for, so an idle one costs nothing.
	names := s.names
	if names == nil {
		names = resolve.New(nil, dnsWait, 8)
		defer names.Close()
	}
	// AS lookups likewise: y and z may turn them on.
	as := s.as
	if as == nil {
		as = asinfo.New(nil, s.cfg.Provider4, s.cfg.Provider6, dnsWait, s.cfg.Analyze)
		defer as.Close()
	}
	if !s.cfg.CountSet {
		s.tracer.SetCount(0) // mtr's live view probes until quit; -c makes it stop
	}

	start := time.Now()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	var runErr error
	var crash *panicked
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				crash = &panicked{r, debug.Stack()}
			}
		}()
		runErr = s.run(runCtx)
	}()

	opt := s.tuiOptions(env, as)
	opt.Done = done
	opt.Export = s.exporter(start, names, as)
	if opt.Clipboard, err = clipboardCommand(os.Getenv); err != nil {
		stop()
		<-done
		scr.Fini()
		return nil, res, err
	}
	opt.Retarget = s.reopen != nil && s.cfg.Reverse.URL == ""
	opt.History = loadHistory()
	if carried != nil {
		keepView(&opt, *carried)
	}
	rev := s.startReverse(ctx)
	if rev != nil {
		opt.Reverse = rev
		// With -c the view ends when both directions are done, as a report would print them
		// (the reverse waited for as long as a report waits); q ends it at once.
		both := make(chan struct{})
		go func() {
			defer close(both)
			select {
			case <-done:
			case <-runCtx.Done():
				return
			}
			rev.wait(runCtx, max(reverseTime(s.cfg)-time.Since(start), 0)+reverseGrace)
		}()
		opt.Done = both
	}
	res = tui.Run(ctx, scr, s.tracer, s.control(), names, opt)
	for res.Retarget != "" {
		n, why := s.reopen(ctx, res.Retarget)
		if why == nil {
			next = n
			break
		}
		// Stay on this target, saying why.
		if scr, err = tcell.NewScreen(); err == nil {
			err = scr.Init()
		}
		if err != nil {
			break
		}
		keepView(&opt, res)
		opt.Status = fmt.Sprintf("Cannot trace %s: %v", res.Retarget, why)
		res = tui.Run(ctx, scr, s.tracer, s.control(), names, opt)
	}
	stop()
	if rev != nil {
		rev.stop()
	}
	<-done
	if crash != nil {
		if next != nil {
			next.close()
		}
		panic(fmt.Sprintf("%v\n\nscheduler goroutine:\n%s", crash.value, crash.stack))
	}

	if err := recordHistory(s.name); err != nil {
		fmt.Fprintf(env.Stderr, "mtr-go: history: %v\n", err)
	}
	if err := s.final(env, start, res, names, as, rev); err != nil {
		return next, res, err
	}
	return next, res, runErr
}

func (s *session) control() control { return control{s.tracer, s.prober, s.privileged} }

// tuiOptions are the live view's options for the session.
func (s *session) tuiOptions(env Env, as *asinfo.Lookups) tui.Options {
	ipinfo := -1
	if s.cfg.ASLookup {
		ipinfo = s.cfg.IPInfo
	}
	return tui.Options{
		Version:     env.Version,
		LocalHost:   s.host,
		Local:       s.localAddr(),
		Privacy:     s.cfg.Privacy,
		TargetName:  s.name,
		Target:      s.target,
		Fields:      s.cfg.Fields,
		DisplayMode: s.cfg.DisplayMode,
		DNS:         !s.cfg.NoDNS,
		ShowIPs:     s.cfg.ShowIPs,
		MPLS:        s.cfg.MPLS,
		MaxPath:     s.cfg.MaxPath,
		NoColor:     os.Getenv("NO_COLOR") != "",
		Interval:    s.cfg.Interval,
		Size:        s.cfg.Size,
		Pattern:     s.cfg.Pattern,
		TOS:         s.cfg.TOS,
		Analyze:     s.cfg.Analyze,
		IPInfo:      ipinfo,
		AS:          as,
	}
}

// final prints the session's table as the live view last showed it, so it stays in the
// scrollback; with --reverse (rev) the reverse table as it stood follows.
func (s *session) final(env Env, start time.Time, res tui.Result, names *resolve.Resolver, as *asinfo.Lookups, rev *reverseRun) error {
	snap := vocab.Mask(s.tracer.Snapshot(), res.Privacy)
	lookup := report.Names(func(netip.Addr) string { return "" })
	if res.DNS {
		lookup = names.Name
	}
	if err := report.Start(env.Stdout, start); err != nil {
		return err
	}
	var shown *report.IPInfo
	if res.IPInfo >= 0 {
		shown = &report.IPInfo{Field: res.IPInfo, Lookup: as.Info}
	}
	final := report.Options{
		Fields:    res.Fields,
		Wide:      s.cfg.Wide,
		ShowIPs:   res.ShowIPs,
		LocalHost: s.host,
		MPLS:      res.MPLS,
		IPInfo:    shown,
		MaxPath:   s.cfg.MaxPath,
	}
	local := s.localAddr()
	if res.Privacy > 0 {
		// Hidden with the key, not --privacy: s.host and s.localAddr still name this host.
		final.LocalHost, local = vocab.Hidden, netip.Addr{}
	}
	if res.Analyze {
		// The pane was open when the view ended: its analysis goes under the final table too.
		in := analyze.Input{Snapshot: snap, Local: local, Protocol: s.prober.Protocol()}
		if res.IPInfo >= 0 { // the lookups the view had on (-y/-z, or its keys)
			in.AS = asinfo.ForAnalysis(snap, as.Info)
		}
		a := analyze.Analyze(in)
		final.Analysis = &a
	}
	if rev != nil {
		s.addReverse(&final, rev, snap, "the live view ended", false)
		final.Reverse.Names = lookup // names as the view last showed them
	}
	return report.Text(env.Stdout, snap, lookup, final)
}

// liveViews is the live view of several targets on one screen: they all probe at once, their
// starts staggered over the first interval, until the user quits, every target's -c rounds are
// done, or ctx ends; then each target's final table is printed, in command-line order. ok is
// false when there is no terminal tcell can drive and fallback allows a report instead.
func liveViews(ctx context.Context, sessions []*session, env Env, fallback bool) (errs []error, ok bool) {
	scr, err := tcell.NewScreen()
	if err == nil {
		err = scr.Init()
	}
	if err != nil {
		if fallback {
			return nil, false
		}
		return []error{fmt.Errorf("cannot use the terminal for the live view (%v); use -r for a report", err)}, true
	}
	// One resolver and one AS cache for all targets (see liveView for why they exist with -n).
	names, as := sessions[0].names, sessions[0].as
	if names == nil {
		names = resolve.New(nil, dnsWait, 8)
		defer names.Close()
	}
	if as == nil {
		as = asinfo.New(nil, sessions[0].cfg.Provider4, sessions[0].cfg.Provider6, dnsWait, sessions[0].cfg.Analyze)
		defer as.Close()
	}

	n := len(sessions)
	start := time.Now()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	errs = make([]error, n)
	crashes := make([]*panicked, n)
	targets := make([]tui.Target, n)
	var wg sync.WaitGroup
	for i, s := range sessions {
		if !s.cfg.CountSet {
			s.tracer.SetCount(0)
		}
		opt := s.tuiOptions(env, as)
		opt.Export = s.exporter(start, names, as)
		targets[i] = tui.Target{Source: s.tracer, Control: s.control(), Options: opt}
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					crashes[i] = &panicked{r, debug.Stack()}
				}
			}()
			sleep(runCtx, stagger(i, n, s.cfg.Interval))
			errs[i] = s.run(runCtx)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	results := tui.RunMulti(ctx, scr, targets, names, tui.Options{
		Version:   env.Version,
		LocalHost: sessions[0].host,
		NoColor:   os.Getenv("NO_COLOR") != "",
		AS:        as,
		Done:      done,
	})
	stop()
	<-done
	for _, c := range crashes {
		if c != nil {
			panic(fmt.Sprintf("%v\n\nscheduler goroutine:\n%s", c.value, c.stack))
		}
	}
	for i, s := range sessions {
		if err := recordHistory(s.name); err != nil {
			fmt.Fprintf(env.Stderr, "mtr-go: history: %v\n", err)
		}
		if err := s.final(env, start, results[i], names, as, nil); err != nil {
			errs[i] = err
		}
		s.close()
	}
	return errs, true
}
