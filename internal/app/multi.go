package app

import (
	"context"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/mtr-go/mtr-go/internal/cli"
)

// runAll runs the sessions' views at once, each target's start staggered over the first
// interval, and returns their errors in command-line order, then the error of writing the
// output, if any. Every output goes through an ordering writer, so several targets print as
// they would one after another. Several targets in the live view share one screen instead
// (liveViews).
func runAll(ctx context.Context, sessions []*session, v view, env Env) []error {
	n := len(sessions)
	switch {
	case n == 0:
		return nil
	case n == 1:
		err := v(ctx, sessions[0], env)
		sessions[0].close()
		return []error{err}
	}
	if mode := sessions[0].cfg.Mode; mode == cli.ModeCurses || mode == cli.ModeDefault && isTerminal(env.Stdout) {
		if errs, ok := liveViews(ctx, sessions, env, mode == cli.ModeDefault); ok {
			return errs
		}
		v = reportView // the default view on a terminal tcell cannot drive
	}

	out := newOrdered(env.Stdout, n)
	var inputs []*io.PipeReader
	if sessions[0].cfg.Mode == cli.ModeSplit && env.Stdin != nil {
		// One reader of the keys for all: q quits every target, r resets them all.
		restore := cbreak(env.Stdin)
		defer restore()
		inputs = fanOut(env.Stdin, n)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Go(func() {
			senv := env
			senv.Stdout = out.slot(i)
			if inputs != nil {
				senv.Stdin = inputs[i]
				defer inputs[i].Close() // the fan-out no longer waits for this target to read
			}
			defer out.slot(i).Close()
			sleep(ctx, stagger(i, n, s.cfg.Interval))
			errs[i] = v(ctx, s, senv)
			s.close()
		})
	}
	wg.Wait()
	return append(errs, out.Err())
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// fanOut copies everything read from r to n readers, and ends them all at end of input. A reader
// that was closed is skipped from then on.
func fanOut(r io.Reader, n int) []*io.PipeReader {
	readers := make([]*io.PipeReader, n)
	writers := make([]*io.PipeWriter, n)
	for i := range readers {
		readers[i], writers[i] = io.Pipe()
	}
	go func() {
		buf := make([]byte, 64)
		for {
			k, err := r.Read(buf)
			for _, w := range writers {
				_, _ = w.Write(buf[:k])
			}
			if err != nil {
				for _, w := range writers {
					w.Close()
				}
				return
			}
		}
	}()
	return readers
}

// lookups is how many target names are looked up at once: a list of a thousand names (-F) takes
// the time of its slowest few lookups, not of all of them in a row (up to 10 s each for a name
// no server answers), without a thousand queries in flight at the resolver.
const lookups = 32

// resolveAll looks every name up with lookup, several at once, and returns the addresses and
// errors in the names' order.
func resolveAll(ctx context.Context, names []string, lookup func(context.Context, string) (netip.Addr, error)) ([]netip.Addr, []error) {
	addrs := make([]netip.Addr, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, lookups)
	var wg sync.WaitGroup
	for i, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			addrs[i], errs[i] = lookup(ctx, name)
		})
	}
	wg.Wait()
	return addrs, errs
}
