package tui

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
)

type fixedSource struct{ snap stats.Snapshot }

func (f fixedSource) Snapshot() stats.Snapshot { return f.snap }
func (f fixedSource) Changed() <-chan struct{} { return nil }

var (
	target2 = netip.MustParseAddr("2001:db8:9::2")
	target3 = netip.MustParseAddr("198.18.7.9")
)

// shortPath is 2 hops to target2; the destination answered 2 of 4 probes, in 4 and 6 ms, and
// the path changed once (hop 1 answered from a second address).
func shortPath() stats.Snapshot {
	p := stats.NewPath(target2, 1, 30)
	r1, r1b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::11")
	seq := uint16(100)
	for r := range 4 {
		seq++
		p.Sent(1, seq)
		from := r1
		if r == 3 {
			from = r1b
		}
		p.Reply(1, seq, from, time.Millisecond, "")
		seq++
		p.Sent(2, seq)
		if r%2 == 0 {
			p.Reply(2, seq, target2, time.Duration(4+r)*time.Millisecond, "")
		}
	}
	p.Sent(2, seq+1) // settles the last unanswered probe as lost
	return p.Snapshot()
}

// unreached is a path whose destination never answered: hops 1 and 2 only.
func unreached() stats.Snapshot {
	p := stats.NewPath(target3, 1, 30)
	p.Sent(1, 1)
	p.Reply(1, 1, hop1, time.Millisecond, "")
	p.Sent(2, 2)
	p.Reply(2, 2, hop2, 2*time.Millisecond, "")
	p.Sent(3, 3)
	return p.Snapshot()
}

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		name string
		snap stats.Snapshot
		want summary
	}{
		{"clean, destination at hop 5; hop 2 answered from a second address", path(4), summary{loss: "0.0%", avg: "20.0", hops: 5, changes: 1}},
		{"half lost at the destination, one path change", shortPath(), summary{loss: "50.0%", avg: "5.0", hops: 2, changes: 1}},
		{"destination not reached", unreached(), summary{loss: "-", avg: "-", hops: 3}},
		{"nothing yet", stats.NewPath(target, 1, 30).Snapshot(), summary{loss: "-", avg: "-", hops: 1}},
	} {
		if got := summarize(c.snap); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// threeTargets is a view of three targets with their controls.
func threeTargets() (*multi, []*fakeControl) {
	ctls := []*fakeControl{{first: 1, max: 30}, {first: 1, max: 30, proto: probe.UDPProbes}, {first: 1, max: 30, proto: probe.TCPProbes}}
	srcs := []stats.Snapshot{path(4), shortPath(), unreached()}
	names := []string{"dest.lab.test", "v6.lab.test", target3.String()}
	addrs := []netip.Addr{target, target2, target3}
	var ts []Target
	for i := range ctls {
		ts = append(ts, Target{Source: fixedSource{srcs[i]}, Control: ctls[i], Options: Options{TargetName: names[i], Target: addrs[i], DNS: true, Interval: time.Second}})
	}
	m := newMulti(ts, fakeNames{hop1: "r1.lab.test"}, Options{
		Version: "v9", LocalHost: "client",
		Now: func() time.Time { return time.Date(2026, 11, 27, 2, 38, 50, 0, time.UTC) },
	}, true)
	return m, ctls
}

func drawMulti(t *testing.T, s tcell.SimulationScreen, m *multi) []string {
	t.Helper()
	m.draw(s)
	s.Show()
	return lines(s)
}

func pressMulti(m *multi, keys ...string) (quit bool) {
	special := map[string]tcell.Key{
		"<Tab>": tcell.KeyTab, "<S-Tab>": tcell.KeyBacktab, "<Enter>": tcell.KeyEnter, "<Esc>": tcell.KeyEscape,
		"<Down>": tcell.KeyDown, "<Up>": tcell.KeyUp, "<End>": tcell.KeyEnd, "<C-c>": tcell.KeyCtrlC,
	}
	for _, k := range keys {
		if sk, ok := special[k]; ok {
			quit = m.key(tcell.NewEventKey(sk, 0, tcell.ModNone)) || quit
			continue
		}
		for _, r := range k {
			quit = m.key(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone)) || quit
		}
	}
	return quit
}

func TestMultiSummaryScreen(t *testing.T) {
	m, _ := threeTargets()
	got := drawMulti(t, screen(t, 100, 30), m)
	want := []string{
		"                                     My traceroute  [mtr-go v9]",
		"client -> 3 targets                                                        2026-11-27T02:38:50+0000",
		"Keys:  Enter open   Tab next   ? help   quit",
		"",
		" Target                                                         Loss%    Avg  Hops  Changes  Proto",
		" 1. dest.lab.test (198.18.4.2)                                   0.0%   20.0     5        1  ICMP",
		" 2. v6.lab.test (2001:db8:9::2)                                 50.0%    5.0     2        1  UDP",
		" 3. 198.18.7.9                                                      -      -     3        0  TCP",
		"",
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("line %d:\n got %q\nwant %q", i, got[i], w)
		}
	}
}

func TestMultiSwitchingAndKeysActOnTheTargetInView(t *testing.T) {
	m, ctls := threeTargets()
	s := screen(t, 100, 30)
	drawMulti(t, s, m)

	// Tab from the summary opens target 1, again target 2: its own full view, hops and all.
	pressMulti(m, "<Tab>", "<Tab>")
	got := drawMulti(t, s, m)
	if !strings.Contains(got[1], "v6.lab.test (2001:db8:9::2)") || !strings.Contains(got[2], "[2/3]") {
		t.Fatalf("after Tab Tab, not target 2's view:\n%s", strings.Join(got, "\n"))
	}
	if !strings.HasPrefix(got[5], " 1. 2001:db8::11") || !strings.HasPrefix(got[7], " 2. 2001:db8:9::2") {
		t.Fatalf("target 2's hops not shown:\n%s", strings.Join(got[4:8], "\n"))
	}

	// Its help tells how to get to the others.
	pressMulti(m, "?")
	if got = drawMulti(t, s, m); !strings.Contains(strings.Join(got, "\n"), "Tab     next target") {
		t.Errorf("target view's help lacks the target keys:\n%s", strings.Join(got, "\n"))
	}
	pressMulti(m, "x") // any key leaves the help

	// Run keys act on it alone.
	pressMulti(m, "r", "p")
	if ctls[1].resets != 1 || !ctls[1].paused || ctls[0].resets != 0 || ctls[0].paused || ctls[2].resets != 0 {
		t.Errorf("r and p in target 2's view: controls %+v %+v %+v", *ctls[0], *ctls[1], *ctls[2])
	}
	pressMulti(m, "u") // UDP -> ICMP for target 2
	if ctls[1].proto != probe.ICMPProbes || ctls[0].proto != probe.ICMPProbes || ctls[2].proto != probe.TCPProbes {
		t.Errorf("u in target 2's view: protocols %v %v %v", ctls[0].proto, ctls[1].proto, ctls[2].proto)
	}
	// A prompt takes Tab and l as its own keys' business: no switching while it is open.
	pressMulti(m, "i", "<Tab>")
	if m.cur != 1 || m.uis[1].prompt == nil {
		t.Fatalf("Tab with the interval prompt open: target %d, prompt %v", m.cur, m.uis[1].prompt)
	}
	// The hop details take Esc as theirs too.
	pressMulti(m, "<Esc>") // closes the prompt
	drawMulti(t, s, m)
	pressMulti(m, "<Down>", "<Enter>")
	if m.cur != 1 || !m.uis[1].details {
		t.Fatalf("Down Enter in target 2's view: target %d, details %v", m.cur, m.uis[1].details)
	}
	pressMulti(m, "<Esc>")
	if m.cur != 1 || m.uis[1].details {
		t.Fatalf("Esc in the hop details: target %d, details %v; want them closed, target 2 kept", m.cur, m.uis[1].details)
	}
	pressMulti(m, "<Esc>") // now to the list
	if m.cur != -1 {
		t.Fatalf("Esc did not go back to the summary: in target %d", m.cur)
	}
	got = drawMulti(t, s, m)
	if !strings.Contains(got[6], "v6.lab.test") || styleAt(s, 3, 6) != plain.Reverse(true) {
		t.Errorf("the summary does not highlight the target left:\n%s", strings.Join(got[4:8], "\n"))
	}

	// The list: arrows and Enter; Shift-Tab wraps around; l back.
	pressMulti(m, "<Down>", "<Enter>")
	if got = drawMulti(t, s, m); !strings.Contains(got[1], "198.18.7.9") {
		t.Fatalf("Down Enter did not open target 3:\n%s", got[1])
	}
	pressMulti(m, "<Tab>")
	if m.cur != 0 {
		t.Errorf("Tab from the last target: target %d, want 1", m.cur+1)
	}
	pressMulti(m, "<S-Tab>")
	if m.cur != 2 {
		t.Errorf("Shift-Tab from the first target: target %d, want 3", m.cur+1)
	}
	pressMulti(m, "l", "2")
	if m.cur != 1 {
		t.Errorf("l then 2: target %d, want 2", m.cur+1)
	}
	// In the summary the run keys do nothing but say so.
	pressMulti(m, "l", "r")
	if ctls[1].resets != 1 || ctls[0].resets != 0 || !strings.Contains(m.status, "open one first") {
		t.Errorf("r in the summary: resets %d %d, status %q", ctls[0].resets, ctls[1].resets, m.status)
	}
	if !pressMulti(m, "q") {
		t.Error("q in the summary did not quit")
	}
	pressMulti(m, "1")
	if !pressMulti(m, "q") {
		t.Error("q in a target's view did not quit")
	}
}

func TestMultiSummaryScrollsToTheSelection(t *testing.T) {
	var ts []Target
	for i := range 40 {
		a := netip.AddrFrom4([4]byte{198, 18, 20, byte(i + 1)})
		ts = append(ts, Target{Source: fixedSource{stats.NewPath(a, 1, 30).Snapshot()}, Control: &fakeControl{}, Options: Options{TargetName: a.String(), Target: a}})
	}
	m := newMulti(ts, nil, Options{Version: "v9", Now: func() time.Time { return time.Time{} }}, false)
	s := screen(t, 80, 24)
	drawMulti(t, s, m)
	pressMulti(m, "<End>")
	got := drawMulti(t, s, m)
	if !strings.HasPrefix(got[22], "40. 198.18.20.40") || !strings.HasPrefix(got[5], "23. ") {
		t.Fatalf("End: rows\n%s", strings.Join(got[4:], "\n"))
	}
	pressMulti(m, "<Enter>")
	if m.cur != 39 {
		t.Errorf("Enter on the last line opened target %d", m.cur+1)
	}
}

func TestRunMultiLoop(t *testing.T) {
	s := tcell.NewSimulationScreen("")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	s.SetSize(100, 30)
	srcs := []*liveSource{
		{snap: unreached(), changed: make(chan struct{}, 1)},
		{snap: shortPath(), changed: make(chan struct{}, 1)},
	}
	var ts []Target
	for i, a := range []netip.Addr{target3, target2} {
		ts = append(ts, Target{Source: srcs[i], Control: &fakeControl{}, Options: Options{TargetName: a.String(), Target: a, Fields: "LS"}})
	}
	g := &frameGrab{drawn: make(chan struct{}, 1)}
	done := make(chan []Result)
	go func() { done <- RunMulti(context.Background(), s, ts, nil, Options{Version: "v9", OnDraw: g.onDraw}) }()
	g.waitFrame(t, "the summary", func(l []string) bool { return strings.HasPrefix(l[5], " 1. 198.18.7.9") })
	// A change of the second target reaches the summary.
	srcs[1].mu.Lock()
	srcs[1].snap = path(3)
	srcs[1].mu.Unlock()
	srcs[1].changed <- struct{}{}
	g.waitFrame(t, "target 2's new destination", func(l []string) bool { return strings.Contains(l[6], "0.0%   20.0     5") })
	s.InjectKey(tcell.KeyTab, 0, tcell.ModNone)
	s.InjectKey(tcell.KeyRune, 'j', tcell.ModNone) // jitter fields on target 1 only
	s.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
	select {
	case res := <-done:
		if len(res) != 2 || res[0].Fields == res[1].Fields || res[1].Fields != "LS" {
			t.Errorf("results %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("q did not end the view")
	}
}

// TestMultiSummaryHidesHostAfterPrivacyKey: once # hides hops in any target's view, the
// summary's title hides this host as that view's title does.
func TestMultiSummaryHidesHostAfterPrivacyKey(t *testing.T) {
	m, _ := threeTargets()
	s := screen(t, 100, 30)
	drawMulti(t, s, m)
	pressMulti(m, "<Tab>", "#")
	m.uis[0].key(tcell.NewEventKey(tcell.KeyCtrlU, 0, tcell.ModNone))
	pressMulti(m, "2", "<Enter>", "<Esc>")
	if m.cur != -1 || m.uis[0].privacy != 2 {
		t.Fatalf("not back in the summary with # 2: target %d, privacy %d", m.cur, m.uis[0].privacy)
	}
	if got := drawMulti(t, s, m); strings.Contains(got[1], "client") || !strings.HasPrefix(got[1], "(hidden) -> 3 targets") {
		t.Errorf("summary title after # 2: %q", got[1])
	}
}
