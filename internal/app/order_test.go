package app

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStaggerSpreadsStartsOverTheFirstInterval(t *testing.T) {
	for _, c := range []struct {
		n        int
		interval time.Duration
		want     []time.Duration
	}{
		{1, time.Second, []time.Duration{0}},
		{4, time.Second, []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond}},
		{3, 200 * time.Millisecond, []time.Duration{0, 66666666, 133333332}},
	} {
		for i, want := range c.want {
			if got := stagger(i, c.n, c.interval); got != want {
				t.Errorf("stagger(%d, %d, %v) = %v, want %v", i, c.n, c.interval, got, want)
			}
		}
	}
	// A thousand targets at -i 0.1: every start inside the first interval, none two at once.
	prev := time.Duration(-1)
	for i := range 1000 {
		d := stagger(i, 1000, 100*time.Millisecond)
		if d <= prev || d >= 100*time.Millisecond {
			t.Fatalf("target %d starts at %v after %v", i, d, prev)
		}
		prev = d
	}
}

func TestOrderedFirstStreamsOthersWaitTheirTurn(t *testing.T) {
	var out bytes.Buffer
	o := newOrdered(&out, 3)
	fmt.Fprint(o.slot(2), "c1 ")
	fmt.Fprint(o.slot(1), "b1 ")
	fmt.Fprint(o.slot(0), "a1 ")
	if out.String() != "a1 " {
		t.Fatalf("before any target is done: %q, want only the first target's output", out.String())
	}
	fmt.Fprint(o.slot(2), "c2 ")
	o.slot(2).Close() // done before the ones ahead of it: waits
	if out.String() != "a1 " {
		t.Fatalf("a later target's end flushed it early: %q", out.String())
	}
	fmt.Fprint(o.slot(0), "a2 ")
	o.slot(0).Close()
	// Target 2 is now first unfinished: its buffer follows and it streams from here on.
	if out.String() != "a1 a2 b1 " {
		t.Fatalf("after the first target ended: %q", out.String())
	}
	fmt.Fprint(o.slot(1), "b2 ")
	if out.String() != "a1 a2 b1 b2 " {
		t.Fatalf("the target in turn does not stream: %q", out.String())
	}
	o.slot(1).Close()
	if want := "a1 a2 b1 b2 c1 c2 "; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	if err := o.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestOrderedConcurrentWritersKeepCommandLineOrder(t *testing.T) {
	var out bytes.Buffer
	const n, lines = 20, 200
	o := newOrdered(&out, n)
	var wg sync.WaitGroup
	for i := n - 1; i >= 0; i-- {
		wg.Go(func() {
			defer o.slot(i).Close()
			for j := range lines {
				fmt.Fprintf(o.slot(i), "%d %d\n", i, j)
			}
		})
	}
	wg.Wait()
	var want strings.Builder
	for i := range n {
		for j := range lines {
			fmt.Fprintf(&want, "%d %d\n", i, j)
		}
	}
	if out.String() != want.String() {
		t.Fatalf("output out of order:\n%.400s", out.String())
	}
}

func TestOrderedWaitingOutputSpillsBeyondTheBound(t *testing.T) {
	var out bytes.Buffer
	o := newOrdered(&out, 2)
	line := strings.Repeat("x", 99) + "\n"
	total := 0
	for total <= 3*spillAt {
		fmt.Fprint(o.slot(1), line)
		total += len(line)
		if s := o.slot(1); s.mem.Len() > spillAt {
			t.Fatalf("a waiting target holds %d bytes in memory, bound %d", s.mem.Len(), spillAt)
		}
	}
	if o.slot(1).spill == nil {
		t.Fatal("no spill file after 3x the bound")
	}
	fmt.Fprint(o.slot(0), "first\n")
	o.slot(0).Close()
	o.slot(1).Close()
	if want := "first\n" + strings.Repeat(line, total/len(line)); out.String() != want {
		t.Fatalf("spilled output came back as %d bytes, want %d", out.Len(), len(want))
	}
}

func TestOrderedWaitTurn(t *testing.T) {
	var out bytes.Buffer
	o := newOrdered(&out, 2)
	turned := make(chan struct{})
	go func() { o.slot(1).waitTurn(); close(turned) }()
	select {
	case <-turned:
		t.Fatal("the second target's turn came while the first runs")
	case <-time.After(20 * time.Millisecond):
	}
	o.slot(0).Close()
	<-turned // hangs (test timeout) if the turn never comes
	o.slot(0).waitTurn()
}
