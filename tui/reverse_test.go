package tui

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/stats"
)

// fakeReverse is a reverse trace standing still at u.
type fakeReverse struct{ u reverse.Update }

func (f *fakeReverse) Latest() reverse.Update   { return f.u }
func (f *fakeReverse) Changed() <-chan struct{} { return nil }
func (f *fakeReverse) URL() string              { return "https://dest.lab.test:9100" }

var (
	client   = netip.MustParseAddr("198.18.0.1")
	retOnly  = netip.MustParseAddr("198.18.7.1")
	retFirst = netip.MustParseAddr("198.18.4.1")
)

// returnPath is the far end's three hops back to the client, the middle one a router the
// forward path does not use, losing one probe in four.
func returnPath(rounds int) stats.Snapshot {
	p := stats.NewPath(client, 1, 30)
	seq := uint16(0)
	for r := range rounds {
		for ttl, a := range []netip.Addr{retFirst, retOnly, client} {
			seq++
			p.Sent(ttl+1, seq)
			if ttl == 1 && r%4 == 3 {
				continue
			}
			p.Reply(ttl+1, seq, a, time.Duration(ttl+1)*3*time.Millisecond, "")
		}
	}
	p.Finish()
	return p.Snapshot()
}

func reverseUpdate() reverse.Update {
	return reverse.Update{Responder: "dest.lab.test", Target: client, Snapshot: returnPath(8), Rounds: 8}
}

const revHead = "Reverse: from dest.lab.test to 198.18.0.1 (your address as the responder sees it)"

// rowIndex is the index of the first row starting with prefix, -1 when none does.
func rowIndex(rows []string, prefix string) int {
	for i, r := range rows {
		if strings.HasPrefix(r, prefix) {
			return i
		}
	}
	return -1
}

func TestReverseStackedWhenTallEnough(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DNS: true, Reverse: &fakeReverse{reverseUpdate()}})
	s, got := render(t, u, path(4), 100, 30)
	// The forward table is where it is without --reverse; the reverse part follows it at once.
	plain := testUI(&fakeControl{}, Options{DNS: true})
	_, alone := render(t, plain, path(4), 100, 30)
	for i := range 11 {
		if got[i] != alone[i] {
			t.Errorf("forward row %d changed:\n got %q\nwant %q", i, got[i], alone[i])
		}
	}
	want := []string{
		revHead,
		"                                                           Packets               Pings",
		" Host                                                    Loss%   Snt   Last   Avg  Best  Wrst StDev",
		" 1. 198.18.4.1                                            0.0%     8    3.0   3.0   3.0   3.0   0.0",
		" 2. 198.18.7.1                                           25.0%     8    6.0   6.0   6.0   6.0   0.0",
		" 3. 198.18.0.1                                            0.0%     8    9.0   9.0   9.0   9.0   0.0",
	}
	for i, w := range want {
		if got[11+i] != w {
			t.Errorf("row %d:\n got %q\nwant %q", 11+i, got[11+i], w)
		}
	}
	if got[17] != "" {
		t.Errorf("row after the reverse table: %q", got[17])
	}
	if _, _, attrs := styleAt(s, 0, 11).Decompose(); attrs&tcell.AttrBold == 0 {
		t.Errorf("the reverse heading is not bold")
	}
	if !u.stacked {
		t.Errorf("stacked not recorded for the v key")
	}
}

func TestReverseSwitchedWhenTooShort(t *testing.T) {
	// 5 forward rows and 6 reverse rows need 5+6+6+1 = 18 rows: at 17 they do not fit.
	u := testUI(&fakeControl{}, Options{DNS: true, Reverse: &fakeReverse{reverseUpdate()}})
	_, got := render(t, u, path(4), 100, 17)
	if rowIndex(got, "Reverse:") >= 0 || got[3] != "forward (v: reverse)                                       Packets               Pings" {
		t.Fatalf("not the forward table alone with the hint:\n%s", strings.Join(got, "\n"))
	}
	if got[5] != " 1. r1.lab.test                                           0.0%     5    1.0   1.0   1.0   1.0   0.0" {
		t.Errorf("forward row 1: %q", got[5])
	}
	_, got = render(t, u, path(4), 100, 18)
	if rowIndex(got, revHead) != 11 {
		t.Errorf("at 18 rows both should fit:\n%s", strings.Join(got, "\n"))
	}
	if u.key(tcell.NewEventKey(tcell.KeyRune, 'v', 0)); u.status != "Reverse trace first when both do not fit (they do now)" {
		t.Errorf("v with both shown: status %q", u.status)
	}
	u.key(tcell.NewEventKey(tcell.KeyRune, 'v', 0))
	_, _ = render(t, u, path(4), 100, 17)

	u.key(tcell.NewEventKey(tcell.KeyRune, 'v', 0))
	_, got = render(t, u, path(4), 100, 17)
	if !strings.HasPrefix(got[1], revHead[:70]) {
		t.Errorf("the title line does not say which trace this is: %q", got[1])
	}
	if !strings.HasPrefix(got[3], "reverse (v: forward)") {
		t.Errorf("hint: %q", got[3])
	}
	if got[5] != " 1. 198.18.4.1                                            0.0%     8    3.0   3.0   3.0   3.0   0.0" ||
		got[7] != " 3. 198.18.0.1                                            0.0%     8    9.0   9.0   9.0   9.0   0.0" || got[8] != "" {
		t.Errorf("not the reverse table:\n%s", strings.Join(got, "\n"))
	}
	if u.status != "Reverse trace shown" {
		t.Errorf("status %q", u.status)
	}
	u.key(tcell.NewEventKey(tcell.KeyRune, 'v', 0))
	_, got = render(t, u, path(4), 100, 17)
	if !strings.HasPrefix(got[5], " 1. r1.lab.test") {
		t.Errorf("v again does not go back to the forward table: %q", got[5])
	}
}

func TestReverseUnreachableIsOneLine(t *testing.T) {
	rev := &fakeReverse{reverse.Update{Err: errors.New("cannot reach https://dest.lab.test:9100: connection refused\x1b[2J")}}
	u := testUI(&fakeControl{}, Options{DNS: true, Reverse: rev})
	_, got := render(t, u, path(4), 100, 30)
	if got[11] != "Reverse: cannot reach https://dest.lab.test:9100: connection refused[2J" || got[12] != "" {
		t.Errorf("rows 11-12:\n%q\n%q", got[11], got[12])
	}
	// Waiting for the responder's first answer says so.
	rev.u = reverse.Update{}
	_, got = render(t, u, path(4), 100, 30)
	if got[11] != "Reverse: waiting for the responder at https://dest.lab.test:9100" {
		t.Errorf("row 11 %q", got[11])
	}
	// On a screen too short, v shows the line alone.
	rev.u = reverse.Update{Err: errors.New("401 Unauthorized: wrong token")}
	u.key(tcell.NewEventKey(tcell.KeyRune, 'v', 0))
	_, got = render(t, u, path(4), 100, 10)
	if !strings.HasPrefix(got[1], "Reverse: 401 Unauthorized: wrong token   ") || !strings.HasPrefix(got[3], "reverse (v: forward)") {
		t.Errorf("rows 1, 3: %q %q", got[1], got[3])
	}
}

func TestReverseKeyWithoutReverse(t *testing.T) {
	u := testUI(&fakeControl{}, Options{})
	u.key(tcell.NewEventKey(tcell.KeyRune, 'v', 0))
	if u.showRev || !strings.Contains(u.status, "--reverse") {
		t.Errorf("showRev %v, status %q", u.showRev, u.status)
	}
}

// With the analysis pane open the tables are not stacked: the pane analyses the one shown, and
// says which direction it is.
func TestReversePaneAnalysesTheTableShown(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DNS: true, Analyze: true, Reverse: &fakeReverse{reverseUpdate()}})
	u.clock = func() time.Time { return time.Unix(0, 0) }
	_, got := render(t, u, path(4), 100, 40)
	if rowIndex(got, "Reverse: from") >= 0 || rowIndex(got, "-- Analysis, forward") < 0 {
		t.Fatalf("pane open: want the forward table alone and its analysis:\n%s", strings.Join(got, "\n"))
	}
	u.key(tcell.NewEventKey(tcell.KeyRune, 'v', 0))
	_, got = render(t, u, path(4), 100, 40)
	if rowIndex(got, "-- Analysis, return") < 0 || !strings.Contains(strings.Join(got, "\n"), "198.18.7.1") {
		t.Errorf("after v: want the return table and its analysis:\n%s", strings.Join(got, "\n"))
	}
}

// liveReverse is a reverse trace whose state the test changes while the UI runs.
type liveReverse struct {
	mu      sync.Mutex
	u       reverse.Update
	changed chan struct{}
}

func (l *liveReverse) Latest() reverse.Update {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.u
}
func (l *liveReverse) Changed() <-chan struct{} { return l.changed }
func (l *liveReverse) URL() string              { return "https://dest.lab.test:9100" }

func (l *liveReverse) set(u reverse.Update) {
	l.mu.Lock()
	l.u = u
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// The live view follows the reverse stream as it delivers, with the forward trace standing
// still.
func TestRunLoopFollowsTheReverseStream(t *testing.T) {
	s := tcell.NewSimulationScreen("")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	s.SetSize(100, 30)
	src := &liveSource{snap: path(4), changed: make(chan struct{}, 1)}
	rev := &liveReverse{changed: make(chan struct{}, 1)}
	g := &frameGrab{drawn: make(chan struct{}, 1)}
	done := make(chan Result)
	go func() {
		done <- Run(context.Background(), s, src, &fakeControl{}, nil, Options{Version: "v9", Reverse: rev, OnDraw: g.onDraw})
	}()
	g.waitFrame(t, "the wait for the responder", func(l []string) bool {
		return l[11] == "Reverse: waiting for the responder at https://dest.lab.test:9100"
	})
	for _, rounds := range []int{1, 2, 8} {
		u := reverseUpdate()
		u.Snapshot = returnPath(rounds)
		rev.set(u)
		want := fmt.Sprintf(" 1. 198.18.4.1                                            0.0%%     %d", rounds)
		g.waitFrame(t, fmt.Sprintf("the reverse table after %d rounds", rounds), func(l []string) bool {
			return l[11] == revHead && strings.HasPrefix(l[14], want)
		})
	}
	rev.set(reverse.Update{Err: errors.New("the responder went away")})
	g.waitFrame(t, "why it stopped", func(l []string) bool { return l[11] == "Reverse: the responder went away" })
	s.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("q did not end the UI")
	}
}

// TestRevHeadingNamesTheNAT: the live view's reverse heading says, as the report's does, when
// the responder traced to a NAT in front of this host.
func TestRevHeadingNamesTheNAT(t *testing.T) {
	u := reverseUpdate()
	u.Target = netip.MustParseAddr("198.18.1.1")
	u.Local = client
	want := "Reverse: from dest.lab.test to 198.18.1.1 (your address as the responder sees it: a NAT's, in front of this host's 198.18.0.1)"
	if got := revHeading(u, "https://dest:9816"); got != want {
		t.Errorf("heading %q, want %q", got, want)
	}
	u.Local = u.Target
	if got := revHeading(u, "https://dest:9816"); got != "Reverse: from dest.lab.test to 198.18.1.1 (your address as the responder sees it)" {
		t.Errorf("without a NAT: %q", got)
	}
}
