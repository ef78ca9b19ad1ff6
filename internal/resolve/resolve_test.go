package resolve

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDNS is a scripted Lookup: names per address, optional gate that holds lookups until the
// test releases them, and counters of calls and concurrency.
type fakeDNS struct {
	names map[string][]string
	errs  map[string]error
	gate  chan struct{} // nil: answer at once; else each lookup waits for a receive or ctx end

	calls    atomic.Int32
	inFlight atomic.Int32
	maxSeen  atomic.Int32

	mu      sync.Mutex
	perAddr map[string]int
	ctxErrs []error // why lookups that were cut short ended
}

func newFake() *fakeDNS {
	return &fakeDNS{names: map[string][]string{}, errs: map[string]error{}, perAddr: map[string]int{}}
}

func (f *fakeDNS) lookup(ctx context.Context, addr string) ([]string, error) {
	f.calls.Add(1)
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.perAddr[addr]++
	f.mu.Unlock()
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			f.mu.Lock()
			f.ctxErrs = append(f.ctxErrs, ctx.Err())
			f.mu.Unlock()
			return nil, &net.DNSError{Err: ctx.Err().Error(), Name: addr, IsTimeout: true}
		}
	}
	if err := f.errs[addr]; err != nil {
		return nil, err
	}
	if names, ok := f.names[addr]; ok {
		return names, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}
}

func (f *fakeDNS) count(addr string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.perAddr[addr]
}

var (
	hop1 = netip.MustParseAddr("198.18.0.2")
	hop2 = netip.MustParseAddr("198.18.1.2")
	hop3 = netip.MustParseAddr("2001:db8::3")
)

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNameReturnsAtOnceAndFillsInLater(t *testing.T) {
	f := newFake()
	f.names["198.18.0.2"] = []string{"gw.lab."}
	f.gate = make(chan struct{})
	r := New(f.lookup, time.Minute, 2)
	defer r.Close()

	start := time.Now()
	if got := r.Name(hop1); got != "" {
		t.Fatalf("first Name = %q, want \"\" while the lookup runs", got)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Name took %v with DNS stuck; it must not wait", d)
	}
	close(f.gate)
	select {
	case <-r.Updates():
	case <-time.After(5 * time.Second):
		t.Fatal("no update after the name arrived")
	}
	if got := r.Name(hop1); got != "gw.lab" {
		t.Errorf("Name = %q, want gw.lab (trailing dot trimmed)", got)
	}
}

func TestCache(t *testing.T) {
	tests := []struct {
		name     string
		names    []string
		err      error
		want     string
		advance  time.Duration // clock moved before asking again
		wantCall int           // lookups after the second round of Name calls
	}{
		{"name is cached", []string{"gw.lab."}, nil, "gw.lab", 0, 1},
		{"name is cached until stale", []string{"gw.lab."}, nil, "gw.lab", answerTTL - time.Second, 1},
		{"stale name is looked up again", []string{"gw.lab."}, nil, "gw.lab", answerTTL, 2},
		{"first of several names", []string{"a.example.", "b.example."}, nil, "a.example", 0, 1},
		{"no such name is cached until stale", nil, &net.DNSError{Err: "no such host", IsNotFound: true}, "", answerTTL - time.Second, 1},
		{"no such name is asked again when stale", nil, &net.DNSError{Err: "no such host", IsNotFound: true}, "", 10 * time.Hour, 2},
		{"empty answer is cached", []string{}, nil, "", answerTTL - time.Second, 1},
		{"server failure is cached for a while", nil, errors.New("server misbehaving"), "", 30 * time.Second, 1},
		{"server failure is retried later", nil, errors.New("server misbehaving"), "", 2 * retryAfter, 2},
		{"timeout is retried later", nil, &net.DNSError{Err: "i/o timeout", IsTimeout: true}, "", 2 * retryAfter, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			if tc.names != nil {
				f.names[hop1.String()] = tc.names
			}
			if tc.err != nil {
				f.errs[hop1.String()] = tc.err
			}
			r := New(f.lookup, time.Minute, 1)
			defer r.Close()
			var mu sync.Mutex
			now := time.Unix(1_800_000_000, 0)
			r.mu.Lock()
			r.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			r.mu.Unlock()

			r.Wait(waitCtx(t), []netip.Addr{hop1})
			for range 5 {
				if got := r.Name(hop1); got != tc.want {
					t.Fatalf("Name = %q, want %q", got, tc.want)
				}
			}
			mu.Lock()
			now = now.Add(tc.advance)
			mu.Unlock()
			r.Name(hop1)
			r.Wait(waitCtx(t), []netip.Addr{hop1})
			if got := f.count(hop1.String()); got != tc.wantCall {
				t.Errorf("lookups = %d, want %d", got, tc.wantCall)
			}
		})
	}
}

func TestConcurrentMissesShareOneLookup(t *testing.T) {
	f := newFake()
	f.names["198.18.0.2"] = []string{"gw.lab."}
	f.gate = make(chan struct{})
	r := New(f.lookup, time.Minute, 8)
	defer r.Close()

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			r.Name(hop1)
			r.Prefetch(hop1)
		})
	}
	wg.Wait()
	close(f.gate)
	r.Wait(waitCtx(t), []netip.Addr{hop1})
	if got := f.count("198.18.0.2"); got != 1 {
		t.Errorf("lookups = %d, want 1 for 100 concurrent misses", got)
	}
	if got := r.Name(hop1); got != "gw.lab" {
		t.Errorf("Name = %q, want gw.lab", got)
	}
}

func TestWorkersBoundConcurrency(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	r := New(f.lookup, time.Minute, 3)
	defer r.Close()

	var addrs []netip.Addr
	for i := range 20 {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i), 2})
		addrs = append(addrs, a)
		r.Prefetch(a)
	}
	// Let the workers pick up what they can, then release the lookups one by one.
	deadline := time.Now().Add(5 * time.Second)
	for f.inFlight.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	go func() {
		for range addrs {
			f.gate <- struct{}{}
		}
	}()
	r.Wait(waitCtx(t), addrs)
	if got := f.maxSeen.Load(); got != 3 {
		t.Errorf("most lookups at once = %d, want the 3 workers", got)
	}
	if got := f.calls.Load(); got != 20 {
		t.Errorf("lookups = %d, want 20", got)
	}
}

func TestTimeoutIsHonoured(t *testing.T) {
	f := newFake()
	f.names["198.18.0.2"] = []string{"gw.lab."}
	f.gate = make(chan struct{}) // never released: the DNS server is dead
	r := New(f.lookup, 50*time.Millisecond, 1)
	defer r.Close()

	start := time.Now()
	r.Wait(waitCtx(t), []netip.Addr{hop1})
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("Wait returned after %v, want about the 50ms lookup timeout", d)
	}
	f.mu.Lock()
	errs := f.ctxErrs
	f.mu.Unlock()
	if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Errorf("lookup ended with %v, want one deadline exceeded", errs)
	}
	if got := r.Name(hop1); got != "" {
		t.Errorf("Name after a timeout = %q, want \"\"", got)
	}
}

func TestWait(t *testing.T) {
	t.Run("returns when every lookup is done", func(t *testing.T) {
		f := newFake()
		f.names["198.18.0.2"] = []string{"gw.lab."}
		f.names["2001:db8::3"] = []string{"v6.lab."}
		r := New(f.lookup, time.Minute, 2)
		defer r.Close()
		r.Wait(waitCtx(t), []netip.Addr{hop1, hop2, hop3, {}})
		for a, want := range map[netip.Addr]string{hop1: "gw.lab", hop2: "", hop3: "v6.lab"} {
			if got := r.Name(a); got != want {
				t.Errorf("Name(%v) = %q, want %q", a, got, want)
			}
		}
	})
	t.Run("returns when ctx ends", func(t *testing.T) {
		f := newFake()
		f.gate = make(chan struct{})
		r := New(f.lookup, time.Minute, 2)
		defer r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		r.Wait(ctx, []netip.Addr{hop1, hop2})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Wait took %v after its ctx ended", d)
		}
	})
	t.Run("cached and invalid addresses do not wait", func(t *testing.T) {
		f := newFake()
		r := New(f.lookup, time.Minute, 1)
		defer r.Close()
		r.Wait(waitCtx(t), []netip.Addr{hop1})
		f.gate = make(chan struct{}) // any new lookup would now hang
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a Wait that needs to block would return via ctx, calls would grow
		r.Wait(context.Background(), []netip.Addr{hop1, {}})
		r.Wait(ctx, nil)
		if got := f.calls.Load(); got != 1 {
			t.Errorf("lookups = %d, want 1", got)
		}
	})
}

func TestUpdatesCoalesce(t *testing.T) {
	f := newFake()
	for i := range 10 {
		f.names[fmt.Sprintf("198.18.%d.2", i)] = []string{fmt.Sprintf("r%d.lab.", i)}
	}
	r := New(f.lookup, time.Minute, 4)
	defer r.Close()
	var addrs []netip.Addr
	for i := range 10 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{198, 18, byte(i), 2}))
	}
	r.Wait(waitCtx(t), addrs)
	// Nobody received while ten names arrived: exactly one signal is pending, none is lost.
	select {
	case <-r.Updates():
	default:
		t.Fatal("no update pending after names arrived")
	}
	select {
	case <-r.Updates():
		t.Fatal("a second update was pending; signals must coalesce")
	default:
	}
	// A lookup that finds no name changes nothing on screen and must not wake the view.
	r.Wait(waitCtx(t), []netip.Addr{netip.MustParseAddr("203.0.113.1")})
	select {
	case <-r.Updates():
		t.Error("update signalled for an address without a name")
	default:
	}
}

func TestClose(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	r := New(f.lookup, time.Hour, 1)
	r.Prefetch(hop1) // taken by the only worker, stuck on DNS
	r.Prefetch(hop2) // queued behind it
	deadline := time.Now().Add(5 * time.Second)
	for f.inFlight.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}

	waited := make(chan struct{})
	go func() {
		r.Wait(context.Background(), []netip.Addr{hop1, hop2})
		close(waited)
	}()
	closed := make(chan struct{})
	go func() {
		r.Close()
		close(closed)
	}()
	for name, ch := range map[string]chan struct{}{"Close": closed, "Wait": waited} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not return after Close with a lookup stuck", name)
		}
	}
	r.Close() // twice is fine
	if got := r.Name(hop3); got != "" {
		t.Errorf("Name after Close = %q", got)
	}
	if got := f.calls.Load(); got != 1 {
		t.Errorf("lookups = %d, want 1 (none after Close)", got)
	}
}

// clock is a settable clock for the resolver under test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// withClock returns r's clock, set to a fixed start; call before the first lookup.
func withClock(r *Resolver) *clock {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	r.mu.Lock()
	r.now = c.Now
	r.mu.Unlock()
	return c
}

// A router renamed during a long live run shows its new name once the old one is stale, and its
// old name meanwhile rather than a blank.
func TestStaleNameIsShownWhileLookedUpAgain(t *testing.T) {
	f := newFake()
	f.names[hop1.String()] = []string{"old.lab."}
	r := New(f.lookup, time.Minute, 1)
	defer r.Close()
	c := withClock(r)
	r.Wait(waitCtx(t), []netip.Addr{hop1})
	select {
	case <-r.Updates():
	default:
		t.Fatal("no update for the first name")
	}

	f.mu.Lock()
	f.names[hop1.String()] = []string{"new.lab."}
	f.mu.Unlock()
	f.gate = make(chan struct{})
	c.Add(answerTTL)
	if got := r.Name(hop1); got != "old.lab" {
		t.Errorf("Name of a stale entry = %q, want the old name while it is looked up again", got)
	}
	close(f.gate)
	r.Wait(waitCtx(t), []netip.Addr{hop1})
	if got := r.Name(hop1); got != "new.lab" {
		t.Errorf("Name after the new answer = %q, want new.lab", got)
	}
	select {
	case <-r.Updates():
	default:
		t.Error("no update for the changed name")
	}

	// Stale again, and now the server fails: the name it had stays.
	f.gate = nil
	f.mu.Lock()
	f.errs[hop1.String()] = errors.New("server misbehaving")
	f.mu.Unlock()
	c.Add(answerTTL)
	r.Wait(waitCtx(t), []netip.Addr{hop1})
	if got := r.Name(hop1); got != "new.lab" {
		t.Errorf("Name after a failed refresh = %q, want new.lab kept", got)
	}
	if got := f.count(hop1.String()); got != 3 {
		t.Errorf("lookups = %d, want 3", got)
	}
}

func TestLeastRecentlyUsedIsEvicted(t *testing.T) {
	f := newFake()
	addrs := make([]netip.Addr, 5)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{198, 18, 9, byte(i + 1)})
		f.names[addrs[i].String()] = []string{fmt.Sprintf("r%d.lab.", i)}
	}
	r := New(f.lookup, time.Minute, 1)
	defer r.Close()
	r.mu.Lock()
	r.max = 3
	r.mu.Unlock()

	r.Wait(waitCtx(t), addrs[:3])
	r.Name(addrs[0])               // 0 is now newer than 1 and 2
	r.Wait(waitCtx(t), addrs[3:4]) // 1 goes
	r.Wait(waitCtx(t), addrs[4:5]) // then 2
	for i, a := range addrs {
		if got := f.count(a.String()); got != 1 {
			t.Errorf("addr %d: %d lookups, want 1", i, got)
		}
	}
	r.mu.Lock()
	_, has1 := r.cache[addrs[1]]
	_, has2 := r.cache[addrs[2]]
	n := len(r.cache)
	r.mu.Unlock()
	if n != 3 || has1 || has2 {
		t.Errorf("cache holds %d entries (addr 1: %v, addr 2: %v); want 3, without 1 and 2", n, has1, has2)
	}
	for _, i := range []int{0, 3, 4} {
		if got, want := r.Name(addrs[i]), fmt.Sprintf("r%d.lab", i); got != want {
			t.Errorf("Name(addr %d) = %q, want %q from the cache", i, got, want)
		}
	}
	r.Wait(waitCtx(t), addrs[1:2])
	if got := f.count(addrs[1].String()); got != 2 {
		t.Errorf("evicted addr 1: %d lookups, want it looked up again", got)
	}
}

// A day-long live run on a path whose responders keep changing (ECMP, flapping routes): a redraw
// every 10 s asks for 30 hops, 12 of them answered from addresses never seen before, 100,000
// and more in all. The cache must stay at its bound and the queue near it, while the path on
// screen stays named.
func TestDayLongRunStaysBounded(t *testing.T) {
	const (
		round   = 10 * time.Second
		rounds  = int(24 * time.Hour / round)
		hops    = 30
		fresh   = 12 // hops answered from a new address each round
		wantMin = 100_000
	)
	f := newFake()
	name := func(a netip.Addr) []string { return []string{a.String() + ".lab."} }
	lookup := func(ctx context.Context, addr string) ([]string, error) {
		f.calls.Add(1)
		return name(netip.MustParseAddr(addr)), nil
	}
	r := New(lookup, time.Minute, 4)
	defer r.Close()
	c := withClock(r)

	base := binary.BigEndian.Uint32([]byte{198, 18, 0, 0})
	addr := func(n uint32) netip.Addr {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], base+n)
		return netip.AddrFrom4(b)
	}
	path := make([]netip.Addr, hops)
	next := uint32(0)
	for i := range path {
		path[i] = addr(next)
		next++
	}
	maxQueue := 0
	for i := range rounds {
		for j := range fresh {
			h := hops - fresh + (i+j)%fresh // the far hops flap; the near ones stay
			path[h] = addr(next)
			next++
			r.Prefetch(path[h]) // as the tracer does for a new address
		}
		for _, a := range path {
			r.Name(a)
		}
		r.mu.Lock()
		n, q := len(r.cache), len(r.queue)
		r.mu.Unlock()
		if n > maxEntries {
			t.Fatalf("round %d: %d cached addresses, bound %d", i, n, maxEntries)
		}
		maxQueue = max(maxQueue, q)
		c.Add(round)
	}
	if next < wantMin {
		t.Fatalf("only %d distinct addresses; the test wants %d", next, wantMin)
	}
	r.mu.Lock()
	n := len(r.cache)
	r.mu.Unlock()
	if n != maxEntries {
		t.Errorf("%d cached addresses after %d distinct ones, want the bound %d", n, next, maxEntries)
	}
	if maxQueue > 2*maxEntries+1 {
		t.Errorf("queue reached %d lookups, want at most about twice the bound %d", maxQueue, maxEntries)
	}
	r.Wait(waitCtx(t), path)
	for _, a := range path {
		if got, want := r.Name(a), name(a)[0]; got+"." != want {
			t.Errorf("Name(%v) = %q, want %q", a, got, want)
		}
	}
	t.Logf("%d distinct addresses, %d lookups, %d cached, queue at most %d", next, f.calls.Load(), n, maxQueue)
}

// With DNS dead, a flood of new addresses must not pile up lookups without end: evicted ones
// leave the queue, and whoever waits on them is released.
func TestDeadDNSFloodKeepsQueueBounded(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{}) // never released
	r := New(f.lookup, time.Hour, 1)
	defer r.Close()
	r.mu.Lock()
	r.max = 10
	r.mu.Unlock()
	r.Prefetch(netip.AddrFrom4([4]byte{198, 18, 0, 9})) // takes the only worker, for good
	deadline := time.Now().Add(5 * time.Second)
	for f.inFlight.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	first := netip.AddrFrom4([4]byte{198, 18, 0, 1}) // queued behind it
	r.mu.Lock()
	waited := r.startLocked(first).done // what Wait(first) blocks on, taken before the flood
	r.mu.Unlock()
	for i := range 1000 {
		r.Prefetch(netip.AddrFrom4([4]byte{198, 18, 1 + byte(i>>8), byte(i)}))
		r.mu.Lock()
		q, n := len(r.queue), len(r.cache)
		r.mu.Unlock()
		if q > 2*10+1 || n > 10 {
			t.Fatalf("after %d addresses: queue %d, cache %d; want at most 21 and 10", i+1, q, n)
		}
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait on an address evicted before its lookup did not return")
	}
}

func BenchmarkNameHit(b *testing.B) {
	f := newFake()
	r := New(f.lookup, time.Minute, 1)
	defer r.Close()
	path := make([]netip.Addr, 30)
	for i := range path {
		path[i] = netip.AddrFrom4([4]byte{198, 18, byte(i), 2})
	}
	r.Wait(context.Background(), path)
	for b.Loop() {
		for _, a := range path {
			r.Name(a)
		}
	}
}

// TestNamesAreInert: a name is whatever the owner of a PTR record (or a TXT record, through
// NewFunc) wants; what the cache hands to views has no control character left, so no terminal
// sequence (CSI, OSC, C1 CSI, bell) reaches a screen or a report, and no invalid UTF-8.
func TestNamesAreInert(t *testing.T) {
	f := newFake()
	f.names["198.18.0.2"] = []string{"r1\x1b[2J\x1b]0;pwned\x07\u009b31m\r\n\xff.lab."}
	r := New(f.lookup, time.Minute, 2)
	defer r.Close()
	txt := NewFunc(func(context.Context, netip.Addr) (string, error) { return "AS\x1b[31mRED\x1b[0m\x00|x", nil }, time.Minute, 1)
	defer txt.Close()
	r.Wait(waitCtx(t), []netip.Addr{hop1})
	txt.Wait(waitCtx(t), []netip.Addr{hop1})
	if got, want := r.Name(hop1), "r1[2J]0;pwned31m.lab"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	if got, want := txt.Name(hop1), "AS[31mRED[0m|x"; got != want {
		t.Errorf("NewFunc's Name = %q, want %q", got, want)
	}
}
