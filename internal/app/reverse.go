package app

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/internal/report"
	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/stats"
)

// dialFunc starts a reverse trace; reverse.Dial, or a fake in tests.
type dialFunc func(context.Context, reverse.Options) (reverse.Stream, error)

// reverseGrace is how much longer than its rounds should take a report waits for the reverse
// trace: the responder may start late or pace its rounds slower, but one that stalls must not
// hold the forward report back for ever. A variable so tests need not wait 10 s.
var reverseGrace = 10 * time.Second

// minReverseInterval is the shortest round a responder allows unless configured otherwise
// (mtr's floor for unprivileged users): a shorter -i is not asked of it, since it would refuse
// the whole trace, so then its trace takes longer than the forward one.
var minReverseInterval = time.Second

// reverseRequest is what the session asks of the responder: the forward trace's own probes, so
// both directions are measured alike (the responder clamps them to its limits).
func reverseRequest(c *cli.Config) reverse.Request {
	iv := c.Interval
	if iv < minReverseInterval {
		iv = 0 // the responder's default: its shortest
	}
	return reverse.Request{Protocol: c.Protocol, Port: c.Port, Count: c.Count, Interval: iv, Size: c.Size}
}

// reverseTime is how long the responder's trace should take: its rounds, at the interval asked
// or the responder's shortest, and a grace as long as ours after them.
func reverseTime(c *cli.Config) time.Duration {
	return time.Duration(c.Count)*max(c.Interval, minReverseInterval) + c.Grace
}

// reverseRun is a reverse trace in progress beside the forward one. One goroutine reads the
// stream and owns nothing but what it stores under mu; views read the latest state.
type reverseRun struct {
	url     string
	mu      sync.Mutex
	last    reverse.Update
	changed chan struct{} // coalesced "the reverse trace changed", for the live view
	done    chan struct{} // closed when the stream has ended (done, failed or stopped)
	cancel  context.CancelFunc
}

// startReverse dials the responder and follows its stream in the background; it returns at
// once, so the forward trace never waits for the responder. onAddr sees every new address of
// the return path (to look its name up early).
func startReverse(ctx context.Context, dial dialFunc, opts reverse.Options, onAddr func(netip.Addr)) *reverseRun {
	ctx, cancel := context.WithCancel(ctx)
	r := &reverseRun{url: opts.URL, changed: make(chan struct{}, 1), done: make(chan struct{}), cancel: cancel}
	go r.follow(ctx, dial, opts, onAddr)
	return r
}

func (r *reverseRun) follow(ctx context.Context, dial dialFunc, opts reverse.Options, onAddr func(netip.Addr)) {
	defer close(r.done)
	defer r.signal()
	stream, err := dial(ctx, opts)
	if err != nil {
		if ctx.Err() == nil { // not the error of our own stop: the views say why they stopped it
			r.set(reverse.Update{Err: err})
		}
		return
	}
	defer stream.Close()
	seen := map[netip.Addr]bool{}
	updates := stream.Updates()
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-updates:
			if ctx.Err() != nil {
				return // the client's "stopped" after our own stop: the views say why they stopped it
			}
			if !ok {
				r.mu.Lock()
				if !r.last.Done && r.last.Err == nil {
					r.last.Err = errors.New("the responder ended the stream before its trace was done")
				}
				r.mu.Unlock()
				return
			}
			if onAddr != nil {
				for _, h := range u.Snapshot.Hops {
					for _, a := range h.Addrs {
						if !seen[a.IP] {
							seen[a.IP] = true
							onAddr(a.IP)
						}
					}
				}
			}
			r.set(u)
			if u.Done || u.Err != nil {
				return
			}
		}
	}
}

// set stores u. A failure that carries no hops keeps what arrived before it: the table of a
// trace cut short is still worth showing.
func (r *reverseRun) set(u reverse.Update) {
	r.mu.Lock()
	if u.Err != nil && len(u.Snapshot.Hops) == 0 {
		prev := r.last
		prev.Err, prev.Done = u.Err, false
		if u.Responder != "" {
			prev.Responder = u.Responder
		}
		if u.Target.IsValid() {
			prev.Target = u.Target
		}
		u = prev
	}
	r.last = u
	r.mu.Unlock()
	r.signal()
}

func (r *reverseRun) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Latest is the reverse trace as it stands.
func (r *reverseRun) Latest() reverse.Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Changed signals that Latest changed.
func (r *reverseRun) Changed() <-chan struct{} { return r.changed }

// URL is the responder's address as the user gave it.
func (r *reverseRun) URL() string { return r.url }

// wait waits for the stream to end, at most d or until ctx ends, and reports whether it ended.
func (r *reverseRun) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// stopWait bounds how long stop waits for the stream to close: a client stuck in a read that
// ignores its context must not keep the forward results from being printed.
const stopWait = 2 * time.Second

// stop ends the stream (and so the responder's trace) and waits, at most stopWait, for the
// reader to finish.
func (r *reverseRun) stop() {
	r.cancel()
	t := time.NewTimer(stopWait)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
	}
}

// startReverse starts the session's reverse trace when --reverse asked for one, else nil.
func (s *session) startReverse(ctx context.Context) *reverseRun {
	if s.cfg.Reverse.URL == "" {
		return nil
	}
	dial := s.dial
	if dial == nil {
		dial = reverse.Dial
	}
	opts := s.cfg.Reverse // the token was read by cli, before privileges were dropped
	opts.Request = reverseRequest(s.cfg)
	return startReverse(ctx, dial, opts, func(a netip.Addr) {
		if s.names != nil {
			s.names.Prefetch(a)
		}
		if s.as != nil {
			s.as.Prefetch(a)
		}
	})
}

// finishReverse waits for the reverse trace to end, at most until its rounds should have ended
// (both traces started together took ago) plus reverseGrace, then adds it to o as it stands.
// A nil rev leaves o as it is.
func (s *session) finishReverse(ctx context.Context, rev *reverseRun, o *report.Options, fwd stats.Snapshot, took time.Duration) {
	if rev == nil {
		return
	}
	why := "not finished in time"
	if !rev.wait(ctx, max(reverseTime(s.cfg)-took, 0)+reverseGrace) && ctx.Err() != nil {
		why = "interrupted"
	}
	rev.stop()
	s.addReverse(o, rev, fwd, why, true)
}

// addReverse adds the reverse trace as it stands to o, and its analysis when the forward trace
// has one; why says why it stopped when it neither finished nor failed. wait lets the names of
// the return path's addresses be waited for, as the forward's are.
func (s *session) addReverse(o *report.Options, rev *reverseRun, fwd stats.Snapshot, why string, wait bool) {
	u := rev.Latest()
	r := &report.Reverse{Responder: u.Responder, Target: u.Target, Local: u.Local, Snapshot: u.Snapshot}
	if r.Responder == "" {
		r.Responder = rev.URL() // a responder that does not name itself is where we asked
	}
	switch {
	case u.Err != nil:
		r.Err = u.Err.Error()
	case u.Done:
	case !u.Target.IsValid():
		r.Err = fmt.Sprintf("no answer from the responder at %s (%s)", rev.URL(), why)
	default:
		r.Err = fmt.Sprintf("%s after %d rounds of the responder's trace", why, u.Rounds)
	}
	r.Names = s.lookup(r.Snapshot, wait)
	o.Reverse = r
	if o.Analysis == nil || !r.Target.IsValid() {
		return
	}
	fin := analyze.Input{Snapshot: fwd, AS: s.asForAnalysis(fwd), Local: s.localAddr(), Protocol: s.prober.Protocol()}
	rin := analyze.Input{Snapshot: r.Snapshot, AS: s.asForAnalysis(r.Snapshot), Protocol: s.prober.Protocol()}
	// Each direction's analysis as Directions reads it: its advice to trace the other direction
	// is done, both tables being there. The joint conclusion (forward loss is round-trip loss:
	// the reverse table tells where on the way back it is) is printed as is after them in every
	// format (report.Options.Joint).
	j := analyze.Directions(fin, rin)
	o.Analysis, r.Analysis = &j.Forward, &j.Reverse
	o.Joint = j.Lines()
}
