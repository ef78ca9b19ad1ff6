package resolve

import (
	"context"
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
		{"name is cached for hours", []string{"gw.lab."}, nil, "gw.lab", 10 * time.Hour, 1},
		{"first of several names", []string{"a.example.", "b.example."}, nil, "a.example", 0, 1},
		{"no such name is cached", nil, &net.DNSError{Err: "no such host", IsNotFound: true}, "", 10 * time.Hour, 1},
		{"empty answer is cached", []string{}, nil, "", 10 * time.Hour, 1},
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
