package tui

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/stats"
)

// faultyPath is a 6-hop path after rounds rounds: hop 2 answers only two probes in three (a
// router limiting its ICMP answers: the hops after it lose nothing), and from hop 4 on three
// probes in ten are lost on the way (real loss: every later hop loses the same rounds).
func faultyPath(rounds int) stats.Snapshot {
	p := stats.NewPath(netip.MustParseAddr("198.18.5.2"), 1, 30)
	seq := uint16(0)
	for r := range rounds {
		for ttl := 1; ttl <= 6; ttl++ {
			seq++
			p.Sent(ttl, seq)
			if ttl == 2 && r%3 == 0 || ttl >= 4 && r%10 < 3 {
				continue
			}
			p.Reply(ttl, seq, netip.AddrFrom4([4]byte{198, 18, byte(ttl - 1), 2}), time.Duration(ttl)*time.Millisecond, "")
		}
	}
	for ttl := 1; ttl <= 6; ttl++ { // settle the last round's probes
		seq++
		p.Sent(ttl, seq)
	}
	return p.Snapshot()
}

// cleanPath is faultyPath without faults.
func cleanPath(rounds int) stats.Snapshot {
	p := stats.NewPath(netip.MustParseAddr("198.18.5.2"), 1, 30)
	seq := uint16(0)
	for range rounds {
		for ttl := 1; ttl <= 6; ttl++ {
			seq++
			p.Sent(ttl, seq)
			p.Reply(ttl, seq, netip.AddrFrom4([4]byte{198, 18, byte(ttl - 1), 2}), time.Duration(ttl)*time.Millisecond, "")
		}
	}
	return p.Snapshot()
}

func rowOf(t *testing.T, got []string, prefix string) string {
	t.Helper()
	for _, l := range got {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no row starting %q:\n%s", prefix, strings.Join(got, "\n"))
	return ""
}

func TestAnalysisPaneOpensAndCloses(t *testing.T) {
	snap := faultyPath(100)
	u := testUI(&fakeControl{}, Options{})
	_, before := render(t, u, snap, 100, 30)
	if text := strings.Join(before, "\n"); strings.Contains(text, "Analysis") || strings.Contains(text, "[rate") || strings.Contains(text, "[loss") {
		t.Fatalf("the pane or marks show before a is pressed:\n%s", text)
	}

	press(u, "a")
	_, open := render(t, u, snap, 100, 30)
	text := strings.Join(open, "\n")
	for _, want := range []string{"-- Analysis", "Conclusion: ", "[rate-limited, hop 2]", "[loss-starts, hops 4-6]", "Do: "} {
		if !strings.Contains(text, want) {
			t.Errorf("open pane lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasPrefix(open[29], "Analysis pane on") {
		t.Errorf("status line %q", open[29])
	}
	// The table is still there above the pane, every hop of it.
	for _, p := range []string{" 1. 198.18.0.2", " 6. 198.18.5.2"} {
		rowOf(t, open, p)
	}

	press(u, "a")
	_, closed := render(t, u, snap, 100, 30)
	for y := range 29 {
		if closed[y] != before[y] {
			t.Errorf("row %d after closing the pane: %q, before opening it: %q", y, closed[y], before[y])
		}
	}
	if !strings.HasPrefix(closed[29], "Analysis pane off") {
		t.Errorf("status line %q", closed[29])
	}
	if res := u.result(); res.Analyze {
		t.Error("result says the pane is open after closing it")
	}
}

func TestHopMarks(t *testing.T) {
	u := testUI(&fakeControl{}, Options{Analyze: true})
	_, got := render(t, u, faultyPath(100), 100, 30)
	for prefix, want := range map[string]string{
		" 2. 198.18.1.2": "[rate-limited]",
		" 4. 198.18.3.2": "[loss starts]",
	} {
		row := rowOf(t, got, prefix)
		mark := strings.Index(row, want)
		if mark < 0 {
			t.Errorf("row %q lacks %q", row, want)
			continue
		}
		// The mark ends the host column: the statistics keep their columns.
		if stats := strings.Index(row, "%"); stats < mark+len(want) {
			t.Errorf("mark %q runs into the statistics: %q", want, row)
		}
	}
	for _, p := range []string{" 1. ", " 3. ", " 5. ", " 6. "} {
		if row := rowOf(t, got, p); strings.Contains(row, "[") {
			t.Errorf("hop without a finding has a mark: %q", row)
		}
	}
	// Columns line up with the table without the pane.
	plainUI := testUI(&fakeControl{}, Options{})
	_, ref := render(t, plainUI, faultyPath(100), 100, 30)
	if a, b := rowOf(t, got, " 2. "), rowOf(t, ref, " 2. "); a[len(a)-40:] != b[len(b)-40:] {
		t.Errorf("statistics moved:\n%q\n%q", a, b)
	}

	// The charts carry the marks too, beside the host.
	press(u, "d")
	_, chart := render(t, u, faultyPath(100), 100, 30)
	if row := rowOf(t, chart, " 4. 198.18.3.2"); !strings.Contains(row, "[loss starts]") {
		t.Errorf("stripchart row %q lacks the mark", row)
	}
}

func TestMarks(t *testing.T) {
	a := analyze.Analysis{Findings: []analyze.Finding{
		{Kind: analyze.LossStarts, Hops: []int{4, 5, 6}, Settled: true},
		{Kind: analyze.LatencyStarts, Hops: []int{4}, Settled: false},
		{Kind: analyze.RateLimited, Hops: []int{2}, Settled: true},
		{Kind: analyze.LoadBalanced, Hops: []int{7, 8}, Settled: true},
		{Kind: analyze.Spike, Hops: []int{8}, Settled: true},
		{Kind: analyze.Spike, Hops: []int{8}, Settled: true},
		{Kind: analyze.DestSilent, Hops: []int{9}, Settled: false},
		{Kind: analyze.Kind(99), Hops: []int{1}, Settled: true},
		{Kind: analyze.Unreachable, Settled: true},
	}}
	got := marks(a)
	want := map[int]string{
		4: "loss starts, slow from here?", // where each starts; unsettled asks
		2: "rate-limited",
		7: "balanced", 8: "balanced, spike", // each hop of the segment, each kind once
		9: "silent?",
	}
	if len(got) != len(want) {
		t.Errorf("marks = %v, want %v", got, want)
	}
	for ttl, m := range want {
		if got[ttl] != m {
			t.Errorf("hop %d: mark %q, want %q", ttl, got[ttl], m)
		}
	}
}

func TestPaneWrapsOnANarrowTerminal(t *testing.T) {
	u := testUI(&fakeControl{}, Options{Analyze: true})
	snap := faultyPath(100)
	const w, h = 40, 24
	_, got := render(t, u, snap, w, h)
	pane := -1
	for y, l := range got {
		if utf8.RuneCountInString(l) > w {
			t.Errorf("row %d is wider than the screen: %q", y, l)
		}
		if strings.HasPrefix(l, "-- Analysis") {
			pane = y
		}
	}
	if pane < 0 {
		t.Fatalf("no pane:\n%s", strings.Join(got, "\n"))
	}
	// The text does not fit: the pane's last row says so.
	if last := got[h-2]; !strings.HasPrefix(last, "-- ") || !strings.Contains(last, "more line") {
		t.Fatalf("no more mark on the pane's last row %q:\n%s", last, strings.Join(got, "\n"))
	}
	// Scrolling down to the end shows every line of the analysis, and no more mark.
	seen := map[int]string{}
	visible := func(got []string) {
		body := got[pane+1 : h-1]
		if strings.Contains(body[len(body)-1], "more line") {
			body = body[:len(body)-1]
		}
		for i, l := range body {
			seen[u.pane.scroll+i] = l
		}
	}
	visible(got)
	for range 200 {
		press(u, "]")
		_, got = render(t, u, snap, w, h)
		visible(got)
		if !strings.Contains(got[h-2], "more line") {
			break
		}
	}
	if strings.Contains(got[h-2], "more line") {
		t.Fatalf("still more after scrolling 200 lines")
	}
	if !strings.Contains(got[pane], "above: [ scrolls up") {
		t.Errorf("title row at the end of the text: %q", got[pane])
	}
	var want []string
	for _, l := range paneText(u.pane.a, 10000) {
		want = append(want, strings.Fields(l.text)...)
	}
	var words []string
	for i := range len(seen) {
		l, ok := seen[i]
		if !ok {
			t.Fatalf("line %d never shown", i)
		}
		words = append(words, strings.Fields(l)...)
	}
	if strings.Join(words, " ") != strings.Join(want, " ") {
		t.Errorf("scrolled text differs from the analysis:\n got %q\nwant %q", strings.Join(words, " "), strings.Join(want, " "))
	}
	// [ goes back up; at the top the title is the pane's own again.
	for range 200 {
		press(u, "[")
	}
	_, got = render(t, u, snap, w, h)
	if !strings.HasPrefix(got[pane], "-- Analysis   a closes") || !strings.HasPrefix(got[pane+1], "Conclusion: ") {
		t.Errorf("after scrolling back up: %q, %q", got[pane], got[pane+1])
	}
}

func TestPaneUpdatesWhenTheSnapshotChanges(t *testing.T) {
	u := testUI(&fakeControl{}, Options{Analyze: true})
	now := time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC)
	u.clock = func() time.Time { return now }
	_, got := render(t, u, cleanPath(50), 100, 30)
	if !strings.Contains(strings.Join(got, "\n"), "Conclusion: No problem found on this path.") {
		t.Fatalf("clean path:\n%s", strings.Join(got, "\n"))
	}
	first := u.pane.at

	// The path changes within analyzeEvery of the last analysis: the pane keeps the old one and
	// asks to be drawn again when the wait is over.
	now = now.Add(analyzeEvery / 2)
	_, got = render(t, u, faultyPath(100), 100, 30)
	if strings.Contains(strings.Join(got, "\n"), "loss-starts") {
		t.Fatal("analysed again sooner than analyzeEvery")
	}
	if w := u.analysisWait(); w != analyzeEvery/2 {
		t.Errorf("analysisWait = %v, want %v", w, analyzeEvery/2)
	}
	now = now.Add(analyzeEvery / 2)
	_, got = render(t, u, faultyPath(100), 100, 30)
	if !strings.Contains(strings.Join(got, "\n"), "[loss-starts, hops 4-6]") {
		t.Fatalf("pane not updated:\n%s", strings.Join(got, "\n"))
	}
	if w := u.analysisWait(); w != 0 {
		t.Errorf("analysisWait = %v after an analysis, want 0", w)
	}

	// An unchanged path is not analysed again, however much time passes.
	at := u.pane.at
	now = now.Add(time.Hour)
	render(t, u, faultyPath(100), 100, 30)
	if u.pane.at != at || at == first {
		t.Errorf("analysis times: first %v, then %v, after an unchanged frame %v", first, at, u.pane.at)
	}
	// A closed pane analyses nothing.
	press(u, "a")
	now = now.Add(time.Hour)
	render(t, u, cleanPath(3), 100, 30)
	if u.pane.at != at {
		t.Error("a closed pane analysed the path")
	}
}

func TestHelpListsTheAnalysisKey(t *testing.T) {
	u := testUI(&fakeControl{}, Options{})
	press(u, "?")
	_, got := render(t, u, path(2), 80, 30)
	if !strings.Contains(strings.Join(got, "\n"), "  a       analysis pane") {
		t.Errorf("help lacks key a:\n%s", strings.Join(got, "\n"))
	}
}

func TestPaneScrollKeysWhenClosed(t *testing.T) {
	u := testUI(&fakeControl{}, Options{})
	press(u, "]")
	if !strings.Contains(u.status, "a opens it") {
		t.Errorf("status %q", u.status)
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in     string
		w      int
		indent string
		want   []string
	}{
		{"one two three", 7, "  ", []string{"one two", "  three"}},
		{"    Do: a b", 9, "      ", []string{"    Do: a", "      b"}},
		{"abcdefghij", 4, " ", []string{"abcd", " efg", " hij"}},
		{"", 10, "", nil},
		{"x", 0, "", nil},
		{"a b", 1, "  ", []string{"a", "b"}},
	} {
		got := wrap(tc.in, tc.w, tc.indent)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrap(%q, %d, %q) = %q, want %q", tc.in, tc.w, tc.indent, got, tc.want)
		}
	}
}

func TestRunLoopUpdatesThePane(t *testing.T) {
	s := tcell.NewSimulationScreen("")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	s.SetSize(100, 30)
	src := &liveSource{snap: cleanPath(20), changed: make(chan struct{}, 1)}
	g := &frameGrab{drawn: make(chan struct{}, 1)}
	done := make(chan Result)
	go func() {
		done <- Run(context.Background(), s, src, &fakeControl{}, nil, Options{Version: "v9", Analyze: true, OnDraw: g.onDraw})
	}()
	g.waitFrame(t, "a clean path's conclusion", func(l []string) bool {
		return strings.Contains(strings.Join(l, "\n"), "Conclusion: No problem found on this path.")
	})
	// One change signal, right after an analysis: the loop draws again once it may analyse.
	src.mu.Lock()
	src.snap = faultyPath(100)
	src.mu.Unlock()
	src.changed <- struct{}{}
	g.waitFrame(t, "the faults", func(l []string) bool {
		text := strings.Join(l, "\n")
		return strings.Contains(text, "[loss-starts, hops 4-6]") && strings.Contains(text, "[rate-limited]")
	})
	s.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
	select {
	case r := <-done:
		if !r.Analyze {
			t.Error("result: pane closed, want open")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("q did not end the UI")
	}
}

// FuzzWrap holds wrap to its contract for any text and width: no line wider than w, and the
// words come out in order, long ones only split.
func FuzzWrap(f *testing.F) {
	f.Add("Conclusion: Problem: Real loss starts at hop 4 (198.18.3.2)", 20, "  ")
	f.Add("    Do: contact AS64500 EXAMPLE-NET", 9, "        ")
	f.Add("αβγ δεζ\tη\x1b[2J", 3, " ")
	f.Fuzz(func(t *testing.T, s string, w int, indent string) {
		if w > 1000 || len(indent) > 100 || strings.TrimSpace(indent) != "" {
			return
		}
		lines := wrap(s, w, indent)
		if w <= 0 && lines != nil {
			t.Fatalf("width %d gave %q", w, lines)
		}
		var got strings.Builder
		for _, l := range lines {
			if n := utf8.RuneCountInString(l); n > w {
				t.Fatalf("line %q has %d runes, width %d", l, n, w)
			}
			got.WriteString(strings.Join(strings.Fields(l), ""))
		}
		// Invalid UTF-8 comes out as U+FFFD, one a byte, as a terminal cell can show it.
		if w > 0 && got.String() != strings.Join(strings.Fields(string([]rune(s))), "") {
			t.Fatalf("wrap(%q, %d) = %q lost or reordered text", s, w, lines)
		}
	})
}

func TestPaneFitsEverySize(t *testing.T) {
	snap := faultyPath(100)
	for _, mode := range []int{ModeTable, ModeStrip} {
		u := testUI(&fakeControl{}, Options{Analyze: true, DisplayMode: mode})
		for w := 1; w <= 70; w += 3 {
			for h := 1; h <= 30; h++ {
				_, got := render(t, u, snap, w, h)
				for y, l := range got {
					if utf8.RuneCountInString(l) > w {
						t.Fatalf("mode %d, %dx%d: row %d too wide: %q", mode, w, h, y, l)
					}
				}
				press(u, "]")
			}
		}
	}
}
