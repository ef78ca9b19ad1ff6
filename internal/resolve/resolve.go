// Package resolve looks up reverse DNS names concurrently, with a cache and a timeout, so views
// never wait on DNS.
package resolve

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Lookup returns the names of an address; it has the shape of net.Resolver.LookupAddr so tests
// and custom servers plug in without adapters.
type Lookup func(ctx context.Context, addr string) ([]string, error)

const (
	defaultTimeout = 2 * time.Second // the Go resolver alone would wait 5 s × 2 attempts
	defaultWorkers = 8

	// retryAfter is how long a failed (not "no such name") lookup is remembered as nameless. A
	// DNS hiccup early in an hours-long interactive run should not hide names for the whole run,
	// but retrying on every redraw would hammer a dead server.
	retryAfter = time.Minute
)

// entry is the cache state of one address.
type entry struct {
	name    string
	done    chan struct{} // closed when the lookup finished; Wait blocks on it
	retryAt time.Time     // zero: final; else the lookup failed and may be retried after it
}

// Resolver resolves addresses to names in the background. Its methods are safe for concurrent
// use; Name and Prefetch never block on DNS.
type Resolver struct {
	lookup  Lookup
	timeout time.Duration
	now     func() time.Time // tests move the clock to check retries

	ctx    context.Context // cancelled by Close, aborting lookups in flight
	cancel context.CancelFunc
	wg     sync.WaitGroup

	updates chan struct{}

	mu     sync.Mutex
	cond   *sync.Cond // signalled when queue grows or the resolver closes
	cache  map[netip.Addr]*entry
	queue  []netip.Addr // waiting for a worker, oldest first, so hop 1 is named before hop 30
	closed bool
}

// New starts a resolver with workers concurrent lookups, each bounded by timeout. A nil lookup
// uses the system resolver; timeout ≤ 0 means 2 s and workers ≤ 0 means 8.
func New(lookup Lookup, timeout time.Duration, workers int) *Resolver {
	if lookup == nil {
		lookup = (&net.Resolver{}).LookupAddr
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	if workers <= 0 {
		workers = defaultWorkers
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Resolver{
		lookup:  lookup,
		timeout: timeout,
		now:     time.Now,
		ctx:     ctx,
		cancel:  cancel,
		updates: make(chan struct{}, 1),
		cache:   make(map[netip.Addr]*entry),
	}
	r.cond = sync.NewCond(&r.mu)
	r.wg.Add(workers)
	for range workers {
		go r.worker()
	}
	return r
}

// Name returns the cached name of a (without the trailing dot), or "" when it has none or is not
// resolved yet. A miss starts a lookup in the background; Updates signals when it brings a name.
func (r *Resolver) Name(a netip.Addr) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.startLocked(a).name
}

// Prefetch starts a lookup of a unless its name is cached or already being looked up.
func (r *Resolver) Prefetch(a netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startLocked(a)
}

// Wait returns when every address of addrs has been looked up (starting lookups as needed) or
// ctx ends. Report mode calls it before printing, with a ctx bounded by the lookup timeout.
func (r *Resolver) Wait(ctx context.Context, addrs []netip.Addr) {
	r.mu.Lock()
	done := make([]chan struct{}, 0, len(addrs))
	for _, a := range addrs {
		done = append(done, r.startLocked(a).done)
	}
	r.mu.Unlock()
	for _, d := range done {
		select {
		case <-d:
		case <-ctx.Done():
			return
		}
	}
}

// Updates delivers a signal after one or more names arrived since the last receive; a live view
// redraws on it. The channel is never closed.
func (r *Resolver) Updates() <-chan struct{} { return r.updates }

// Close aborts lookups in flight, drops queued ones and stops the workers. Names already cached
// stay available; no new lookups start.
func (r *Resolver) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	// Queued lookups will never run: finish them as nameless so Wait callers return.
	for _, a := range r.queue {
		close(r.cache[a].done)
	}
	r.queue = nil
	r.cond.Broadcast()
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// closedDone is the done channel of entries that need no lookup.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// noEntry stands for an address that is not looked up (invalid, or the resolver is closed).
var noEntry = &entry{done: closedDone}

// startLocked returns a's entry, queueing a lookup if a has none or its failure may be retried.
func (r *Resolver) startLocked(a netip.Addr) *entry {
	if !a.IsValid() {
		return noEntry
	}
	e, ok := r.cache[a]
	if ok && (e.retryAt.IsZero() || r.now().Before(e.retryAt)) {
		return e
	}
	if r.closed {
		if ok {
			return e
		}
		return noEntry
	}
	e = &entry{done: make(chan struct{})}
	r.cache[a] = e
	r.queue = append(r.queue, a)
	r.cond.Signal()
	return e
}

func (r *Resolver) worker() {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		for len(r.queue) == 0 && !r.closed {
			r.cond.Wait()
		}
		if r.closed {
			r.mu.Unlock()
			return
		}
		a := r.queue[0]
		r.queue = r.queue[1:]
		e := r.cache[a]
		r.mu.Unlock()

		name, err := r.resolve(a)

		r.mu.Lock()
		e.name = name
		if err != nil && !isNotFound(err) {
			e.retryAt = r.now().Add(retryAfter)
		}
		r.mu.Unlock()
		close(e.done)
		if name != "" {
			select {
			case r.updates <- struct{}{}:
			default: // a signal is already pending; the view will read every new name
			}
		}
	}
}

// resolve runs one lookup with the timeout and returns the first name without its trailing dot.
func (r *Resolver) resolve(a netip.Addr) (string, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	names, err := r.lookup(ctx, a.String())
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if n = strings.TrimSuffix(n, "."); n != "" {
			return n, nil
		}
	}
	return "", nil
}

// isNotFound tells a definite "this address has no name" (final) from failures worth a retry.
func isNotFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}
