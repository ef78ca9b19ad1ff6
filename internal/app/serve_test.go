package app

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestServeBadStartIsOneLine: an exporter that cannot start (a target of the wrong family, found
// without any lookup; an address to listen on that is not this host's) says why in one line and
// exits 1, before probing.
func TestServeBadStartIsOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"-4", "--serve", "127.0.0.1:0", "::1"},
		{"--serve", "198.18.0.1:0", "-u", "127.0.0.1"}, // an address this host does not have
	} {
		var stdout, stderr strings.Builder
		code := Main(Env{Args: args, Stdout: &stdout, Stderr: &stderr})
		if code != exitFail || strings.Count(stderr.String(), "\n") != 1 || !strings.HasPrefix(stderr.String(), "mtr-go: ") {
			t.Errorf("mtr-go %v: exit %d, stderr %q; want exit 1 and one line", args, code, stderr.String())
		}
	}
}

// TestPrelookup: the exporter's targets are looked up at once before server.New asks for them one
// by one (the first `lookups` wait for each other: one at a time, they would wait forever), New
// then gets those answers without a second lookup, and once it has started every name (a
// /probe's) is looked up afresh.
func TestPrelookup(t *testing.T) {
	var names []string
	for i := range lookups + 3 {
		names = append(names, fmt.Sprintf("host%d.lab.test", i))
	}
	names = append(names, "no-such-host.lab.test")
	var mu sync.Mutex
	calls := map[string]int{}
	var started sync.WaitGroup
	started.Add(lookups)
	lookup := func(_ context.Context, name string) (netip.Addr, error) {
		mu.Lock()
		calls[name]++
		n := calls[name]
		mu.Unlock()
		i := slices.Index(names, name)
		if i < lookups && n == 1 {
			started.Done()
			started.Wait()
		}
		if i == len(names)-1 {
			return netip.Addr{}, errors.New("unknown host: " + name)
		}
		return netip.AddrFrom4([4]byte{198, 18, 60, byte(i + n)}), nil
	}
	resolve, done := prelookup(context.Background(), names, lookup)
	for i, name := range names {
		a, err := resolve(context.Background(), name)
		if i == len(names)-1 {
			if err == nil || err.Error() != "unknown host: "+name {
				t.Errorf("%s: %v %v, want its lookup's error", name, a, err)
			}
			continue
		}
		if want := netip.AddrFrom4([4]byte{198, 18, 60, byte(i + 1)}); err != nil || a != want {
			t.Errorf("%s: %v %v, want %v", name, a, err, want)
		}
	}
	for _, name := range names {
		if calls[name] != 1 {
			t.Errorf("%s looked up %d times before the start, want once", name, calls[name])
		}
	}
	done()
	if a, err := resolve(context.Background(), names[1]); err != nil || a != netip.AddrFrom4([4]byte{198, 18, 60, 3}) || calls[names[1]] != 2 {
		t.Errorf("after the start: %v %v after %d lookups, want a fresh lookup", a, err, calls[names[1]])
	}
}
