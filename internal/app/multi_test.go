package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/cli"
)

// fakeSessions are n sessions for runAll whose views do what the test says, without probing.
func fakeSessions(n int, mode cli.Mode, interval time.Duration) []*session {
	cfg := &cli.Config{Mode: mode, Interval: interval}
	ss := make([]*session, n)
	for i := range ss {
		ss[i] = &session{cfg: cfg, name: fmt.Sprintf("t%d", i+1)}
	}
	return ss
}

func TestRunAllRunsTargetsAtOnceAndPrintsInOrder(t *testing.T) {
	const n = 3
	const interval = 300 * time.Millisecond
	sessions := fakeSessions(n, cli.ModeReport, interval)
	var mu sync.Mutex
	began := time.Now()
	starts := map[string]time.Duration{}
	allStarted := make(chan struct{})
	var startedWG sync.WaitGroup
	startedWG.Add(n)
	go func() { startedWG.Wait(); close(allStarted) }()
	release := map[string]chan struct{}{}
	for _, s := range sessions {
		release[s.name] = make(chan struct{})
	}
	view := func(ctx context.Context, s *session, env Env) error {
		mu.Lock()
		starts[s.name] = time.Since(began)
		mu.Unlock()
		fmt.Fprintf(env.Stdout, "%s start\n", s.name)
		startedWG.Done()
		<-release[s.name]
		fmt.Fprintf(env.Stdout, "%s end\n", s.name)
		return nil
	}
	var out strings.Builder
	done := make(chan []error)
	go func() { done <- runAll(context.Background(), sessions, view, Env{Stdout: &out}) }()
	select {
	case <-allStarted: // run one after another, the first would wait for its release forever
	case <-time.After(10 * time.Second):
		t.Fatal("the targets' views did not all start while the first was running")
	}
	// The last finishes first, the first last.
	for i := n - 1; i >= 0; i-- {
		close(release[sessions[i].name])
	}
	errs := <-done
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if want := "t1 start\nt1 end\nt2 start\nt2 end\nt3 start\nt3 end\n"; out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
	// Target i starts no sooner than i*interval/n: a lower bound, which load cannot break.
	for i, s := range sessions {
		if min := stagger(i, n, interval); starts[s.name] < min {
			t.Errorf("%s started after %v, before its stagger %v", s.name, starts[s.name], min)
		}
	}
}

func TestRunAllSplitKeysReachEveryTarget(t *testing.T) {
	sessions := fakeSessions(3, cli.ModeSplit, time.Millisecond)
	view := func(ctx context.Context, s *session, env Env) error {
		b, err := io.ReadAll(env.Stdin)
		fmt.Fprintf(env.Stdout, "%s read %q\n", s.name, b)
		return err
	}
	var out strings.Builder
	for _, err := range runAll(context.Background(), sessions, view, Env{Stdout: &out, Stdin: strings.NewReader("rq")}) {
		if err != nil {
			t.Error(err)
		}
	}
	if want := "t1 read \"rq\"\nt2 read \"rq\"\nt3 read \"rq\"\n"; out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
}

func TestResolveAllLooksUpAtOnceInOrder(t *testing.T) {
	index := map[string]int{}
	var names []string
	for i := range 3 * lookups {
		name := fmt.Sprintf("host%d.lab.test", i)
		if i == 5 {
			name = "no-such-host.lab.test"
		}
		names = append(names, name)
		index[name] = i
	}
	// The first lookups wait until `lookups` of them are in flight: one at a time, they would
	// wait forever (the test's timeout says so).
	var started sync.WaitGroup
	started.Add(lookups)
	lookup := func(ctx context.Context, name string) (netip.Addr, error) {
		i := index[name]
		if i < lookups {
			started.Done()
			started.Wait()
		}
		if i == 5 {
			return netip.Addr{}, errors.New("unknown host: " + name)
		}
		return netip.AddrFrom4([4]byte{198, 18, 50, byte(i)}), nil
	}
	addrs, errs := resolveAll(context.Background(), names, lookup)
	for i, name := range names {
		if i == 5 {
			if errs[i] == nil || addrs[i].IsValid() {
				t.Errorf("%s: %v %v, want an error", name, addrs[i], errs[i])
			}
			continue
		}
		if want := netip.AddrFrom4([4]byte{198, 18, 50, byte(i)}); errs[i] != nil || addrs[i] != want {
			t.Errorf("%s: %v %v, want %v", name, addrs[i], errs[i], want)
		}
	}
}
