package app

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/asinfo"
	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/internal/report"
	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
)

// The machine and ticket formats. Batch formats run cfg.Count rounds and print one document per
// target (the writers below); split and raw stream while probing.

func jsonDoc(w io.Writer, b batch) error { return report.JSON(w, b.snap, b.names, b.meta, b.opts) }
func xmlDoc(w io.Writer, b batch) error  { return report.XML(w, b.snap, b.names, b.meta, b.opts) }
func markdownDoc(w io.Writer, b batch) error {
	return report.Markdown(w, b.snap, b.names, b.meta, b.opts)
}
func htmlDoc(w io.Writer, b batch) error { return report.HTML(w, b.snap, b.names, b.meta, b.opts) }

// csvDoc prints the header line only before the first target's rows on a stream.
func csvDoc(w io.Writer, b batch) error {
	stream := w
	if s, ok := w.(*slot); ok {
		stream = s.base()
	}
	return report.CSV(w, b.snap, b.names, b.meta, b.opts, csvHeaders.first(stream))
}

// batch is what a batch writer needs from a finished session.
type batch struct {
	snap  stats.Snapshot
	names report.Names
	meta  report.Meta
	opts  report.Options
}

// batchView runs the session's rounds, then writes the results with write. Interrupted, it
// writes what it has, like the report.
func batchView(write func(io.Writer, batch) error) view {
	return func(ctx context.Context, s *session, env Env) error {
		start := time.Now()
		rev := s.startReverse(ctx)
		if rev != nil {
			defer rev.stop()
		}
		err := s.run(ctx)
		s.roundsOver()
		if err != nil {
			return err
		}
		end := time.Now()
		snap := s.snapshot()
		warnUnsent(env.Stderr, snap)
		b := batch{
			snap:  snap,
			names: s.lookup(snap, true),
			meta:  s.meta(start, end),
			opts:  s.reportOptions(snap),
		}
		s.finishReverse(ctx, rev, &b.opts, snap, end.Sub(start))
		if r := b.opts.Reverse; r != nil && r.Err != "" && s.cfg.Mode == cli.ModeCSV {
			// CSV has no place for a reason; scripts read stdout, people stderr.
			fmt.Fprintf(env.Stderr, "mtr-go: reverse trace: %s\n", vocab.StripControl(r.Err))
		}
		if t, ok := env.Stdout.(*slot); ok {
			t.waitTurn() // so the first document in command-line order is the one with the CSV header
		}
		return write(env.Stdout, b)
	}
}

// reportOptions are the writers' options for a finished run's snap, with its analysis when
// --analyze asked for one.
func (s *session) reportOptions(snap stats.Snapshot) report.Options {
	o := report.Options{Fields: s.cfg.Fields, Wide: s.cfg.Wide, ShowIPs: s.cfg.ShowIPs, LocalHost: s.host, MPLS: s.cfg.MPLS, MaxPath: s.cfg.MaxPath}
	if s.as != nil && s.cfg.ASLookup {
		o.IPInfo = &report.IPInfo{Field: s.cfg.IPInfo, Lookup: s.as.Info}
	}
	if s.cfg.Analyze {
		a := analyze.Analyze(analyze.Input{Snapshot: snap, AS: s.asForAnalysis(snap), Local: s.localAddr(), Protocol: s.prober.Protocol()})
		o.Analysis = &a
	}
	return o
}

// asForAnalysis is what the AS lookups know of snap's addresses, for the analysis.
func (s *session) asForAnalysis(snap stats.Snapshot) map[netip.Addr]analyze.ASInfo {
	if s.as == nil {
		return nil
	}
	return asinfo.ForAnalysis(snap, s.as.Info)
}

func (s *session) meta(start, end time.Time) report.Meta {
	c := s.cfg
	return report.Meta{
		Target: s.name, TargetIP: s.target, Start: start, End: end,
		Tests: c.Count, Size: c.Size, Pattern: c.Pattern, TOS: c.TOS, Options: optionsText(c),
	}
}

// optionsText is the run's probing options in words, for the Markdown and HTML headers. A reader
// of a ticket needs the protocol and port to tell why hops differ from an ICMP run of the same path.
func optionsText(c *cli.Config) string {
	opts := protocolText(c) + fmt.Sprintf(", %d rounds, interval %gs, %d-byte packets, TTL %d-%d", c.Count,
		c.Interval.Seconds(), c.Size, c.First, c.Max)
	if c.TOS != 0 {
		opts += fmt.Sprintf(", TOS 0x%02x", c.TOS)
	}
	if c.NoDNS {
		opts += ", no DNS"
	}
	return opts
}

// protocolText names the probes. TCP's and SCTP's default port is one fixed port (80), so it is always
// worth naming; UDP without -P walks the traceroute range, so only a -P port is named.
func protocolText(c *cli.Config) string {
	var t string
	switch c.Protocol {
	case probe.UDPProbes:
		t = "UDP"
		if c.Port != 0 {
			t += " port " + strconv.Itoa(c.Port)
		}
	case probe.TCPProbes, probe.SCTPProbes:
		port := c.Port
		if port == 0 {
			port = 80
		}
		t = c.Protocol.String() + " port " + strconv.Itoa(port)
	default:
		return "ICMP"
	}
	if c.LocalPort != 0 {
		t += " from port " + strconv.Itoa(c.LocalPort)
	}
	if c.Paris {
		t += " (Paris, one flow)"
	}
	return t
}

// csvHeaders remembers which outputs already have a CSV header: several targets in one run make
// one table, so scripts reading it see a single header line.
var csvHeaders = headerSet{seen: map[io.Writer]bool{}}

type headerSet struct {
	mu   sync.Mutex
	seen map[io.Writer]bool
}

func (h *headerSet) first(w io.Writer) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen[w] {
		return false
	}
	h.seen[w] = true
	return true
}

// rawView streams probe events as they happen, for cfg.Count rounds as mtr does.
func rawView(ctx context.Context, s *session, env Env) error {
	var names report.Names
	if s.names != nil {
		names = s.names.Name
	}
	raw := report.NewRaw(env.Stdout, names)
	s.tracer.OnEvent(func(e trace.Event) {
		switch e.Kind {
		case trace.EventSent:
			raw.Sent(e.TTL, e.Seq)
		case trace.EventReply:
			if s.cfg.MPLS {
				raw.MPLS(e.TTL, e.MPLS)
			}
			raw.Reply(e.TTL, e.Seq, vocab.MaskAddr(e.From, e.TTL, s.cfg.Privacy), e.RTT)
		}
	})
	if err := s.run(ctx); err != nil {
		return err
	}
	return raw.Err()
}

// splitView streams mtr's split lines until -c rounds are done (only when -c was given, as in
// mtr), the user types q, or the run is interrupted; r resets the statistics. Keys are read from
// stdin without needing a terminal; at end of input mtr-go just stops reading keys and goes on
// probing (mtr 0.95 spins idle there, which breaks cron and nohup runs).
func splitView(ctx context.Context, s *session, env Env) error {
	if !s.cfg.CountSet {
		s.tracer.SetCount(0) // like mtr's split mode: until q or Ctrl-C unless -c was given
	}
	runCtx, quit := context.WithCancel(ctx)
	defer quit()
	done := make(chan error, 1)
	go func() { done <- s.run(runCtx) }()

	restore := cbreak(env.Stdin)
	defer restore()
	keys := readKeys(env.Stdin)

	var names report.Names
	var nameUpdates <-chan struct{}
	if s.names != nil {
		names, nameUpdates = s.names.Name, s.names.Updates()
	}
	out := report.NewSplit(env.Stdout, s.cfg.ShowIPs)
	// Redraws wait a moment after a change, as mtr's do (it redraws once per probe tick): a probe
	// and its quick answer then make one line, not a line with the probe in flight and another.
	delay := min(max(s.cfg.Interval/20, 5*time.Millisecond), 200*time.Millisecond)
	redraw := time.NewTimer(time.Hour)
	redraw.Stop()
	pending := false
	for {
		select {
		case <-s.tracer.Changed():
			if !pending {
				pending = true
				redraw.Reset(delay)
			}
			continue
		case <-nameUpdates:
		case <-redraw.C:
			pending = false
		case k, ok := <-keys:
			if !ok {
				keys = nil
				continue
			}
			switch k {
			case 'q':
				quit()
			case 'r':
				s.tracer.Reset()
				out.Reset()
			}
			continue
		case err := <-done:
			redraw.Stop()
			if err != nil {
				return err
			}
			return out.Update(s.snapshot(), names)
		}
		if err := out.Update(s.snapshot(), names); err != nil {
			quit()
			<-done
			return err
		}
	}
}

// readKeys delivers the bytes read from r, and closes the channel at end of input or on a read
// error. The reader goroutine is left blocked in Read when the view ends first; it holds nothing.
func readKeys(r io.Reader) <-chan byte {
	keys := make(chan byte, 16)
	if r == nil {
		close(keys)
		return keys
	}
	go func() {
		defer close(keys)
		buf := make([]byte, 64)
		for {
			n, err := r.Read(buf)
			for _, b := range buf[:n] {
				keys <- b
			}
			if err != nil {
				return
			}
		}
	}()
	return keys
}
