// Package resolve looks up reverse DNS names concurrently, with a bounded, expiring cache and a
// timeout, so views never wait on DNS.
package resolve

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
)

// Lookup returns the names of an address; it has the shape of net.Resolver.LookupAddr so tests
// and custom servers plug in without adapters.
type Lookup func(ctx context.Context, addr string) ([]string, error)

// Fetch looks up one address's text of any kind (a reverse name, an AS record); NewFunc caches
// its answers with the same bounds, expiry and retries as reverse names. A *net.DNSError with
// IsNotFound is a definite "nothing", cached like an answer; other errors are retried sooner.
type Fetch func(ctx context.Context, a netip.Addr) (string, error)

const (
	defaultTimeout = 2 * time.Second // the Go resolver alone would wait 5 s × 2 attempts
	defaultWorkers = 8

	// maxEntries bounds the cache. The most one view can show is a path of 30 hops with up to 32
	// responders each (stats keeps 32 per hop): 960 addresses. Four times that lets a whole screen
	// of the widest ECMP path, plus the targets before it in a -F run, stay cached without
	// thrashing, while a day-long run over flapping routes holds at most a megabyte or two
	// (an entry is ~150 bytes plus a name of at most 253).
	maxEntries = 4096

	// answerTTL is how long an answer (a name, or "no such name") is trusted. PTR records change
	// rarely, but a day-long live view should show a renamed router's new name within the hour;
	// the stale name stays on screen while it is asked again.
	answerTTL = time.Hour

	// retryAfter is how long a failed (not "no such name") lookup is remembered as nameless. A
	// DNS hiccup early in an hours-long interactive run should not hide names for the whole run,
	// but retrying on every redraw would hammer a dead server.
	retryAfter = time.Minute
)

// entry is the cache state of one address, and its place in the recency list.
type entry struct {
	addr    netip.Addr
	name    string
	done    chan struct{} // closed when the lookup finished; Wait blocks on it
	pending bool          // queued or being looked up: never stale, so misses share it
	expires time.Time     // when the answer (or failure) is stale and is looked up again
	evicted bool          // dropped from the cache: a queued lookup of it is skipped

	prev, next *entry // the recency list, newest after Resolver.lru
}

// Resolver resolves addresses to names in the background. Its methods are safe for concurrent
// use; Name and Prefetch never block on DNS. It keeps at most maxEntries addresses, dropping
// the least recently asked for, and looks names up again once they are stale.
type Resolver struct {
	fetch   Fetch
	timeout time.Duration
	now     func() time.Time // tests move the clock to check retries and staleness
	max     int              // maxEntries; tests lower it

	ctx    context.Context // cancelled by Close, aborting lookups in flight
	cancel context.CancelFunc
	wg     sync.WaitGroup

	updates chan struct{}

	mu     sync.Mutex
	cond   *sync.Cond // signalled when queue grows or the resolver closes
	cache  map[netip.Addr]*entry
	lru    entry    // sentinel of the recency list: lru.next is the newest, lru.prev the oldest
	queue  []*entry // waiting for a worker, oldest first, so hop 1 is named before hop 30
	closed bool
}

// New starts a resolver with workers concurrent lookups, each bounded by timeout. A nil lookup
// uses the system resolver; timeout ≤ 0 means 2 s and workers ≤ 0 means 8.
func New(lookup Lookup, timeout time.Duration, workers int) *Resolver {
	if lookup == nil {
		lookup = (&net.Resolver{}).LookupAddr
	}
	return NewFunc(func(ctx context.Context, a netip.Addr) (string, error) {
		names, err := lookup(ctx, a.String())
		if err != nil {
			return "", err
		}
		for _, n := range names {
			if n = strings.TrimSuffix(n, "."); n != "" {
				return n, nil
			}
		}
		return "", nil
	}, timeout, workers)
}

// NewFunc starts a resolver that caches fetch's answers, as New does for reverse names.
func NewFunc(fetch Fetch, timeout time.Duration, workers int) *Resolver {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	if workers <= 0 {
		workers = defaultWorkers
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Resolver{
		fetch:   fetch,
		timeout: timeout,
		now:     time.Now,
		max:     maxEntries,
		ctx:     ctx,
		cancel:  cancel,
		updates: make(chan struct{}, 1),
		cache:   make(map[netip.Addr]*entry),
	}
	r.lru.prev, r.lru.next = &r.lru, &r.lru
	r.cond = sync.NewCond(&r.mu)
	r.wg.Add(workers)
	for range workers {
		go r.worker()
	}
	return r
}

// Name returns the cached name of a (without the trailing dot), or "" when it has none or is not
// resolved yet. A miss starts a lookup in the background; Updates signals when it brings a name.
// A stale name is returned while it is looked up again.
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
	for _, e := range r.queue {
		r.finishLocked(e)
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

// startLocked returns a's entry, marking it the most recently used, and queues a lookup if a has
// none or its answer is stale. A stale entry keeps its name until the new answer replaces it.
func (r *Resolver) startLocked(a netip.Addr) *entry {
	if !a.IsValid() {
		return noEntry
	}
	e, ok := r.cache[a]
	if ok {
		r.unlink(e)
		r.pushFront(e)
		if e.pending || r.now().Before(e.expires) || r.closed {
			return e
		}
		// Stale: the old waiters were released when its first lookup finished; new ones wait
		// for this one.
		e.done = make(chan struct{})
	} else {
		if r.closed {
			return noEntry
		}
		e = &entry{addr: a, done: make(chan struct{})}
		r.cache[a] = e
		r.pushFront(e)
		for len(r.cache) > r.max {
			r.evictLocked(r.lru.prev)
		}
	}
	e.pending = true
	r.queue = append(r.queue, e)
	r.cond.Signal()
	return e
}

// evictLocked drops e, the least recently used entry. A lookup of it still queued is skipped
// when a worker reaches it; the queue is compacted once evicted entries could make up most of
// it, so a flood of new addresses while DNS is dead cannot grow it without bound either.
func (r *Resolver) evictLocked(e *entry) {
	r.unlink(e)
	delete(r.cache, e.addr)
	e.evicted = true
	if len(r.queue) <= 2*r.max {
		return
	}
	kept := r.queue[:0]
	for _, q := range r.queue {
		if q.evicted {
			r.finishLocked(q)
			continue
		}
		kept = append(kept, q)
	}
	clear(r.queue[len(kept):])
	r.queue = kept
}

// finishLocked ends e's lookup without an answer: Wait callers return, and e is looked up again
// when next asked for.
func (r *Resolver) finishLocked(e *entry) {
	e.pending = false
	close(e.done)
}

func (r *Resolver) pushFront(e *entry) {
	e.prev, e.next = &r.lru, r.lru.next
	r.lru.next.prev = e
	r.lru.next = e
}

func (r *Resolver) unlink(e *entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
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
		e := r.queue[0]
		r.queue[0] = nil
		r.queue = r.queue[1:]
		if e.evicted {
			r.finishLocked(e)
			r.mu.Unlock()
			continue
		}
		r.mu.Unlock()

		name, err := r.resolve(e.addr)

		r.mu.Lock()
		changed := false
		switch {
		case err == nil || isNotFound(err):
			changed = name != e.name
			e.name = name
			e.expires = r.now().Add(answerTTL)
		default:
			// Keep a name from an earlier answer: a stale name beats none while DNS is down.
			e.expires = r.now().Add(retryAfter)
		}
		if changed {
			// Before done is closed, so a Wait that returns has its update already pending.
			select {
			case r.updates <- struct{}{}:
			default: // a signal is already pending; the view will read every new name
			}
		}
		r.finishLocked(e)
		r.mu.Unlock()
	}
}

// resolve runs one lookup with the timeout. Its answer is the network's text, whatever the
// record's owner put there: it leaves with its control characters (and so every terminal escape
// sequence's introducer) and invalid UTF-8 dropped, so that no view or format has to remember
// to. Go's LookupAddr already refuses names that are not host names; other lookups (a custom
// resolver, TXT records through NewFunc) need not.
func (r *Resolver) resolve(a netip.Addr) (string, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	name, err := r.fetch(ctx, a)
	return vocab.StripControl(strings.ToValidUTF8(name, "")), err
}

// isNotFound tells a definite "this address has no name" (final) from failures worth a retry.
func isNotFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}
