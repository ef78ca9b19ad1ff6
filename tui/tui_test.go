package tui

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
)

// fakeControl records what the keys asked of the trace.
type fakeControl struct {
	resets     int
	paused     bool
	interval   time.Duration
	first, max int
	size, pat  int
	tos        int
	proto      probe.Protocol
	noTCP      bool // SetProtocol(TCP) fails
}

func (c *fakeControl) Reset()           { c.resets++ }
func (c *fakeControl) SetPaused(p bool) { c.paused = p }
func (c *fakeControl) SetInterval(d time.Duration) error {
	c.interval = d
	return nil
}
func (c *fakeControl) TTLRange() (int, int) { return c.first, c.max }
func (c *fakeControl) SetTTLRange(f, m int) error {
	if f > m {
		return errors.New("first above max")
	}
	c.first, c.max = f, m
	return nil
}
func (c *fakeControl) SetSize(n int) error      { c.size = n; return nil }
func (c *fakeControl) SetPattern(n int) error   { c.pat = n; return nil }
func (c *fakeControl) SetTOS(n int) error       { c.tos = n; return nil }
func (c *fakeControl) Protocol() probe.Protocol { return c.proto }
func (c *fakeControl) SetProtocol(p probe.Protocol) error {
	if p == probe.TCPProbes && c.noTCP {
		return errors.New("no TCP here")
	}
	c.proto = p
	return nil
}

// fakeNames knows a fixed set of names.
type fakeNames map[netip.Addr]string

func (n fakeNames) Name(a netip.Addr) string { return n[a] }
func (n fakeNames) Updates() <-chan struct{} { return nil }

var (
	hop1   = netip.MustParseAddr("198.18.0.2")
	hop2   = netip.MustParseAddr("198.18.1.2")
	hop2b  = netip.MustParseAddr("198.18.1.3")
	hop4   = netip.MustParseAddr("198.18.3.2")
	target = netip.MustParseAddr("198.18.4.2")
)

// path builds a 5-hop path: hop 1 always answers in 1 ms, hop 2 answers from two addresses and
// lost its latest settled probe, hop 3 never answers, hop 4 answers 12 ms, the target 20 ms.
func path(rounds int) stats.Snapshot {
	p := stats.NewPath(target, 1, 30)
	seq := uint16(0)
	for r := range rounds {
		for ttl := 1; ttl <= 5; ttl++ {
			seq++
			p.Sent(ttl, seq)
			switch ttl {
			case 1:
				p.Reply(1, seq, hop1, time.Millisecond, "")
			case 2:
				if r < rounds-1 {
					from := hop2
					if r%2 == 1 {
						from = hop2b
					}
					p.Reply(2, seq, from, 2*time.Millisecond, "")
				}
			case 4:
				p.Reply(4, seq, hop4, 12*time.Millisecond, "")
			case 5:
				p.Reply(5, seq, target, 20*time.Millisecond, "")
			}
		}
	}
	// One more probe to hop 2 so its unanswered one is settled as lost, and one in flight to
	// hop 1, which must not make it bold.
	p.Sent(2, seq+1)
	p.Sent(1, seq+2)
	return p.Snapshot()
}

func testUI(ctl *fakeControl, opt Options) *ui {
	if opt.Version == "" {
		opt.Version = "v9"
	}
	opt.LocalHost, opt.Local = "client", netip.MustParseAddr("198.18.0.1")
	opt.TargetName, opt.Target = "dest.lab.test", target
	opt.Now = func() time.Time { return time.Date(2026, 11, 27, 2, 38, 50, 0, time.UTC) }
	return newUI(ctl, fakeNames{hop1: "r1.lab.test"}, opt)
}

func screen(t *testing.T, w, h int) tcell.SimulationScreen {
	t.Helper()
	s := tcell.NewSimulationScreen("")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	s.SetSize(w, h)
	t.Cleanup(s.Fini)
	return s
}

// lines returns the screen's rows as text, trailing spaces trimmed.
func lines(s tcell.SimulationScreen) []string {
	cells, w, h := s.GetContents()
	out := make([]string, h)
	for y := range h {
		var b strings.Builder
		for x := range w {
			c := cells[y*w+x]
			if len(c.Runes) == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteString(string(c.Runes))
			}
		}
		out[y] = strings.TrimRight(b.String(), " ")
	}
	return out
}

func styleAt(s tcell.SimulationScreen, x, y int) tcell.Style {
	cells, w, _ := s.GetContents()
	return cells[y*w+x].Style
}

func render(t *testing.T, u *ui, snap stats.Snapshot, w, h int) (tcell.SimulationScreen, []string) {
	t.Helper()
	s := screen(t, w, h)
	u.draw(s, snap)
	s.Show()
	return s, lines(s)
}

func TestTableScreenLikeMtr(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DNS: true})
	s, got := render(t, u, path(4), 100, 30)
	want := []string{
		"                                     My traceroute  [mtr-go v9]",
		"client (198.18.0.1) -> dest.lab.test (198.18.4.2)                          2026-11-27T02:38:50+0000",
		"Keys:  Help   Display mode   Restart statistics   Order of fields   quit",
		"                                                           Packets               Pings",
		" Host                                                    Loss%   Snt   Last   Avg  Best  Wrst StDev",
		" 1. r1.lab.test                                           0.0%     5    1.0   1.0   1.0   1.0   0.0",
		" 2. 198.18.1.2                                           25.0%     5    2.0   2.0   2.0   2.0   0.0",
		"    198.18.1.3",
		" 3. (waiting for reply)",
		" 4. 198.18.3.2                                            0.0%     4   12.0  12.0  12.0  12.0   0.0",
		" 5. 198.18.4.2                                            0.0%     4   20.0  20.0  20.0  20.0   0.0",
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("row %d:\n got %q\nwant %q", i, got[i], w)
		}
	}
	if got[11] != "" {
		t.Errorf("row past the destination: %q", got[11])
	}
	for _, tc := range []struct {
		name string
		y    int
		bold bool
	}{
		{"answering hop with a probe in flight", 5, false},
		{"hop whose latest probe was lost", 6, true},
		{"silent hop", 8, true},
		{"answering hop", 9, false},
	} {
		_, _, attrs := styleAt(s, 4, tc.y).Decompose()
		if got := attrs&tcell.AttrBold != 0; got != tc.bold {
			t.Errorf("%s: bold %v, want %v", tc.name, got, tc.bold)
		}
	}
}

func TestTableFitsEveryWidth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		w, h   int
		fields string
		titles string // the title row's fields, right-aligned at w-2
	}{
		{"80x24 default fields", 80, 24, "", "Loss%   Snt   Last   Avg  Best  Wrst StDev"},
		{"wide terminal", 200, 50, "", "Loss%   Snt   Last   Avg  Best  Wrst StDev"},
		{"jitter set", 80, 24, "DR AGJMXI", "Drop   Rcv    Avg Gmean Jttr Javg Jmax Jint"},
		{"too many fields for 60 columns drop from the right", 60, 24, "LDRSNBAWVG", "Loss% Drop   Rcv   Snt  Last  Best   Avg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := testUI(&fakeControl{}, Options{Fields: tc.fields})
			_, got := render(t, u, path(3), tc.w, tc.h)
			if !strings.HasSuffix(got[4], tc.titles) || len(got[4]) != tc.w-1 {
				t.Errorf("titles end at column %d, want %d:\n%q", len(got[4])-1, tc.w-2, got[4])
			}
			if !strings.HasPrefix(got[5], " 1. 198.18.0.2") || len(got[5]) != tc.w-1 {
				t.Errorf("hop row:\n%q", got[5])
			}
		})
	}
}

func TestNamesAndToggles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dns, ip bool
		want    string
	}{
		{"-n shows addresses", false, false, " 1. 198.18.0.2"},
		{"names", true, false, " 1. r1.lab.test"},
		{"-b names with addresses", true, true, " 1. r1.lab.test (198.18.0.2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := testUI(&fakeControl{}, Options{DNS: tc.dns, ShowIPs: tc.ip})
			_, got := render(t, u, path(2), 100, 30)
			if !strings.HasPrefix(got[5], tc.want+"  ") {
				t.Errorf("row %q, want %q", got[5], tc.want)
			}
		})
	}
}

func TestUnreachableHopShowsTheError(t *testing.T) {
	p := stats.NewPath(target, 1, 30)
	p.Sent(1, 1)
	p.Reply(1, 1, hop1, time.Millisecond, "")
	p.Sent(2, 2)
	p.Reply(2, 2, hop2, time.Millisecond, "no route to host")
	_, got := render(t, testUI(&fakeControl{}, Options{}), p.Snapshot(), 100, 30)
	if !strings.HasPrefix(got[6], " 2. 198.18.1.2 (no route to host)") || len(got) > 7 && got[7] != "" {
		t.Errorf("rows:\n%s", strings.Join(got[5:8], "\n"))
	}
}

func TestMPLSLabelsUnderTheHop(t *testing.T) {
	p := stats.NewPath(target, 1, 30)
	p.Sent(1, 1)
	p.Reply(1, 1, hop1, time.Millisecond, "")
	p.MPLS(1, hop1, []stats.Label{{Label: 24001, TC: 0, S: false, TTL: 1}, {Label: 16, TC: 5, S: true, TTL: 1}})
	p.Sent(2, 2)
	p.Reply(2, 2, hop2, time.Millisecond, "")
	for _, on := range []bool{false, true} {
		_, got := render(t, testUI(&fakeControl{}, Options{MPLS: on}), p.Snapshot(), 100, 30)
		want := []string{" 1. 198.18.0.2", "    [MPLS: Lbl 24001 TC 0 S 0 TTL 1]", "    [MPLS: Lbl 16 TC 5 S 1 TTL 1]", " 2. 198.18.1.2"}
		if !on {
			want = []string{" 1. 198.18.0.2", " 2. 198.18.1.2"}
		}
		for i, w := range want {
			if !strings.HasPrefix(got[5+i], w) {
				t.Errorf("-e %v: row %d = %q, want %q", on, 5+i, got[5+i], w)
			}
		}
	}
}

func TestProtocolSwitchRefusedSaysWhy(t *testing.T) {
	ctl := &fakeControl{noTCP: true}
	u := testUI(ctl, Options{})
	u.runeKey('t')
	if ctl.proto != probe.ICMPProbes || !strings.Contains(u.status, "Cannot switch to TCP probes: no TCP here") {
		t.Errorf("protocol %v, status %q", ctl.proto, u.status)
	}
}

func TestStripchartModes(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DisplayMode: ModeStrip})
	s, got := render(t, u, path(4), 100, 30)
	hostW := 24
	chart := func(row string) string { return strings.TrimLeft(row[min(len(row), hostW+1):], " ") }
	for _, tc := range []struct {
		row  int
		host string
		want string
	}{
		{5, " 1. 198.18.0.2", "...."}, // the fifth probe is in flight: blank
		{6, " 2. 198.18.1.2", "...?"},
		{7, " 3. (waiting for reply)", "???"}, // the newest is in flight
		{8, " 4. 198.18.3.2", "...."},
		{9, " 5. 198.18.4.2", ">>>>"},
	} {
		if !strings.HasPrefix(got[tc.row], tc.host) || chart(got[tc.row]) != tc.want {
			t.Errorf("row %d: %q, want host %q chart %q", tc.row, got[tc.row], tc.host, tc.want)
		}
	}
	if !strings.Contains(got[4], "Last 74 pings") {
		t.Errorf("header %q", got[4])
	}
	if !strings.HasPrefix(got[11], "Scale:  .:up to 16 ms  >:slower") {
		t.Errorf("legend %q", got[11])
	}
	// The newest probe is drawn in the last column but one (the chart ends at w-2).
	if r, _, _ := s.Get(98, 9); r != ">" {
		t.Errorf("newest result of hop 5 at column 98 is %q", r)
	}

	u.mode = ModeScale
	s, got = render(t, u, path(4), 100, 30)
	if c := chart(got[5]); c != "...." {
		t.Errorf("scale mode, fastest hop: %q", c)
	}
	if c := chart(got[8]); c != "cccc" {
		t.Errorf("scale mode, 12 ms hop in a 1..20 ms scale: %q", c)
	}
	if c := chart(got[9]); c != ">>>>" {
		t.Errorf("scale mode, slowest hop: %q", c)
	}
	if want := "Scale:  .:1.3 ms  1:2.2 ms  2:3.7 ms  3:5.8 ms  a:8.4 ms  b:12 ms  c:16 ms  >  ?:no answer"; got[11] != want {
		t.Errorf("legend\n got %q\nwant %q", got[11], want)
	}
	fg, _, attrs := styleAt(s, 98, 9).Decompose()
	if fg != tcell.ColorRed || attrs&tcell.AttrBold == 0 {
		t.Errorf("'>' is drawn %v bold=%v, want red bold", fg, attrs&tcell.AttrBold != 0)
	}

	// NO_COLOR: the same characters, no colours.
	u = testUI(&fakeControl{}, Options{DisplayMode: ModeScale, NoColor: true})
	s, _ = render(t, u, path(4), 100, 30)
	if fg, _, _ := styleAt(s, 98, 9).Decompose(); fg != tcell.ColorDefault {
		t.Errorf("NO_COLOR: '>' has colour %v", fg)
	}
}

// press feeds keys to the UI as a user types them; "<Enter>" and friends name special keys.
func press(u *ui, keys ...string) {
	special := map[string]tcell.Key{
		"<Enter>": tcell.KeyEnter, "<Esc>": tcell.KeyEscape, "<BS>": tcell.KeyBackspace2,
		"<Down>": tcell.KeyDown, "<Up>": tcell.KeyUp, "<PgDn>": tcell.KeyPgDn, "<PgUp>": tcell.KeyPgUp,
		"<C-c>": tcell.KeyCtrlC, "<C-l>": tcell.KeyCtrlL, "<C-u>": tcell.KeyCtrlU,
	}
	for _, k := range keys {
		if sk, ok := special[k]; ok {
			u.key(tcell.NewEventKey(sk, 0, tcell.ModNone))
			continue
		}
		for _, r := range k {
			u.key(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone))
		}
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keys   []string
		check  func(u *ui, c *fakeControl) bool
		status string // substring of the status line
	}{
		{"q quits", []string{"q"}, func(u *ui, _ *fakeControl) bool { return u.quit }, ""},
		{"Ctrl-C quits", []string{"<C-c>"}, func(u *ui, _ *fakeControl) bool { return u.quit }, ""},
		{"Ctrl-C quits from a prompt", []string{"o", "<C-c>"}, func(u *ui, _ *fakeControl) bool { return u.quit }, ""},
		{"p pauses", []string{"p"}, func(u *ui, c *fakeControl) bool { return c.paused && u.paused }, ""},
		{"space resumes", []string{"p", " "}, func(u *ui, c *fakeControl) bool { return !c.paused && !u.paused }, "Resumed"},
		{"r resets", []string{"r"}, func(_ *ui, c *fakeControl) bool { return c.resets == 1 }, "reset"},
		{"d cycles the modes", []string{"d", "d"}, func(u *ui, _ *fakeControl) bool { return u.mode == ModeScale }, "latency chart"},
		{"d wraps to the table", []string{"dddd"}, func(u *ui, _ *fakeControl) bool { return u.mode == ModeTable }, "table"},
		{"n toggles names", []string{"n"}, func(u *ui, _ *fakeControl) bool { return !u.dns }, "DNS names off"},
		{"b toggles IPs", []string{"b"}, func(u *ui, _ *fakeControl) bool { return u.showIPs }, "on"},
		{"j switches to jitter", []string{"j"}, func(u *ui, _ *fakeControl) bool { return u.order == "DR AGJMXI" }, ""},
		{"j twice switches back", []string{"jj"}, func(u *ui, _ *fakeControl) bool { return u.order == "LS NABWV" }, ""},
		{"upper case works like mtr", []string{"D"}, func(u *ui, _ *fakeControl) bool { return u.mode == ModeStrip }, ""},
		{"? opens help", []string{"?"}, func(u *ui, _ *fakeControl) bool { return u.help }, ""},
		{"any key closes help", []string{"h", "x"}, func(u *ui, _ *fakeControl) bool { return !u.help && !u.quit }, ""},
		{"o sets the fields", []string{"o", "<C-u>", "lsnm", "<Enter>"}, func(u *ui, _ *fakeControl) bool { return u.order == "LSNM" && u.prompt == nil }, ""},
		{"o refuses unknown letters", []string{"o", "Z"}, func(u *ui, _ *fakeControl) bool { return string(u.prompt.input) == "LS NABWV" }, ""},
		{"o refuses an empty order", []string{"o", "<C-u>", "<Enter>"}, func(u *ui, _ *fakeControl) bool { return u.prompt != nil && u.order == "LS NABWV" }, ""},
		{"Esc leaves a prompt unchanged", []string{"o", "<BS>", "<Esc>"}, func(u *ui, _ *fakeControl) bool { return u.prompt == nil && u.order == "LS NABWV" }, "unchanged"},
		{"i sets the interval", []string{"i", "<C-u>", "0.25", "<Enter>"}, func(_ *ui, c *fakeControl) bool { return c.interval == 250*time.Millisecond }, "0.25 s"},
		{"i refuses zero", []string{"i", "<C-u>", "0", "<Enter>"}, func(u *ui, c *fakeControl) bool {
			return c.interval == 0 && strings.Contains(u.prompt.err, "out of range")
		}, ""},
		{"i refuses letters", []string{"i", "x"}, func(u *ui, _ *fakeControl) bool { return strings.Contains(u.prompt.err, "not allowed") }, ""},
		{"s sets the size", []string{"s", "<C-u>", "100", "<Enter>"}, func(_ *ui, c *fakeControl) bool { return c.size == 100 }, ""},
		{"s refuses a size below 28", []string{"s", "<C-u>", "20", "<Enter>"}, func(u *ui, c *fakeControl) bool { return c.size == 0 && strings.Contains(u.prompt.err, "28 to 4470") }, ""},
		{"B sets the bit pattern", []string{"B", "<C-u>", "170", "<Enter>"}, func(_ *ui, c *fakeControl) bool { return c.pat == 170 }, ""},
		{"Q sets the TOS", []string{"Q", "<C-u>", "32", "<Enter>"}, func(_ *ui, c *fakeControl) bool { return c.tos == 32 }, ""},
		{"Q refuses 256", []string{"Q", "<C-u>", "256", "<Enter>"}, func(u *ui, c *fakeControl) bool { return c.tos == 0 && u.prompt != nil }, ""},
		{"f sets the first TTL", []string{"f", "<C-u>", "3", "<Enter>"}, func(_ *ui, c *fakeControl) bool { return c.first == 3 && c.max == 30 }, "First TTL: 3"},
		{"f refuses more than max", []string{"f", "<C-u>", "31", "<Enter>"}, func(u *ui, c *fakeControl) bool { return c.first == 1 && u.prompt != nil }, ""},
		{"m sets the max TTL", []string{"m", "<C-u>", "10", "<Enter>"}, func(_ *ui, c *fakeControl) bool { return c.first == 1 && c.max == 10 }, ""},
		{"e shows MPLS labels", []string{"e"}, func(u *ui, _ *fakeControl) bool { return u.mpls }, "MPLS labels on"},
		{"e twice hides them", []string{"e", "e"}, func(u *ui, _ *fakeControl) bool { return !u.mpls }, "MPLS labels off"},
		{"u switches to UDP", []string{"u"}, func(_ *ui, c *fakeControl) bool { return c.proto == probe.UDPProbes }, "UDP probes"},
		{"u from UDP goes back to ICMP", []string{"u", "u"}, func(_ *ui, c *fakeControl) bool { return c.proto == probe.ICMPProbes }, "ICMP probes"},
		{"t switches to TCP", []string{"t"}, func(_ *ui, c *fakeControl) bool { return c.proto == probe.TCPProbes }, "TCP probes"},
		{"t from UDP goes to TCP", []string{"u", "t"}, func(_ *ui, c *fakeControl) bool { return c.proto == probe.TCPProbes }, "TCP probes"},
		{"u from TCP goes to UDP", []string{"t", "u"}, func(_ *ui, c *fakeControl) bool { return c.proto == probe.UDPProbes }, "UDP probes"},
		{"unknown keys say so", []string{"%"}, func(u *ui, _ *fakeControl) bool { return !u.quit }, "press ? for help"},
		{"+ scrolls 5 hops", []string{"+"}, func(u *ui, _ *fakeControl) bool { return u.scroll == 5 }, ""},
		{"- scrolls back", []string{"++", "-"}, func(u *ui, _ *fakeControl) bool { return u.scroll == 4 }, ""},
		{"scrolling stops at the last hop", []string{"<PgDn>", "<PgDn>", "+++"}, func(u *ui, _ *fakeControl) bool { return u.scroll == 9 }, ""},
		{"Ctrl-L repaints", []string{"<C-l>"}, func(u *ui, _ *fakeControl) bool { return u.redraw }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeControl{first: 1, max: 30}
			u := testUI(c, Options{DNS: true, Interval: time.Second, Size: 64})
			u.lastHops, u.pageRows = 10, 4
			press(u, tc.keys...)
			if !tc.check(u, c) {
				t.Errorf("after %q: state %+v, control %+v, prompt %+v", tc.keys, *u, *c, u.prompt)
			}
			if !strings.Contains(u.status, tc.status) {
				t.Errorf("status %q, want it to contain %q", u.status, tc.status)
			}
		})
	}
}

func TestPromptIsDrawnWithWhatIsAllowed(t *testing.T) {
	u := testUI(&fakeControl{first: 1, max: 30}, Options{})
	press(u, "m")
	_, got := render(t, u, path(2), 80, 24)
	if want := "Max TTL: 30  1 to 255; Enter applies, Esc cancels"; got[23] != want {
		t.Errorf("prompt line\n got %q\nwant %q", got[23], want)
	}
	press(u, "x")
	_, got = render(t, u, path(2), 80, 24)
	if !strings.HasPrefix(got[23], "Max TTL: 30  'x' is not allowed here: 1 to 255") {
		t.Errorf("prompt line after a bad key: %q", got[23])
	}
	// The table is still drawn behind the prompt.
	if !strings.HasPrefix(got[5], " 1. 198.18.0.2") {
		t.Errorf("hop row under the prompt: %q", got[5])
	}
}

func TestHelpScreen(t *testing.T) {
	u := testUI(&fakeControl{}, Options{})
	press(u, "h")
	_, got := render(t, u, path(2), 80, 24)
	text := strings.Join(got, "\n")
	for _, want := range []string{"Command:", "p       pause (SPACE to resume)", "press any key to go back"} {
		if !strings.Contains(text, want) {
			t.Errorf("help screen lacks %q:\n%s", want, text)
		}
	}
}

// liveSource is a Source whose snapshot tests change while the UI runs.
type liveSource struct {
	mu      sync.Mutex
	snap    stats.Snapshot
	changed chan struct{}
}

func (l *liveSource) Snapshot() stats.Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snap
}
func (l *liveSource) Changed() <-chan struct{} { return l.changed }

// frameGrab collects what each frame showed, read inside OnDraw where no one else draws.
type frameGrab struct {
	mu     sync.Mutex
	frames [][]string
	drawn  chan struct{}
}

func (g *frameGrab) onDraw(s tcell.Screen) {
	ls := lines(s.(tcell.SimulationScreen))
	g.mu.Lock()
	g.frames = append(g.frames, ls)
	g.mu.Unlock()
	select {
	case g.drawn <- struct{}{}:
	default:
	}
}

func (g *frameGrab) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.frames)
}

func (g *frameGrab) last() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.frames[len(g.frames)-1]
}

// waitFrame waits until a frame satisfies ok.
func (g *frameGrab) waitFrame(t *testing.T, what string, ok func([]string) bool) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if g.count() > 0 && ok(g.last()) {
			return g.last()
		}
		select {
		case <-g.drawn:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no frame with %s; last:\n%s", what, strings.Join(g.last(), "\n"))
		}
	}
}

func TestRunLoop(t *testing.T) {
	s := tcell.NewSimulationScreen("")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	s.SetSize(80, 24)
	src := &liveSource{snap: path(2), changed: make(chan struct{}, 1)}
	ctl := &fakeControl{first: 1, max: 30}
	g := &frameGrab{drawn: make(chan struct{}, 1)}
	type ran struct{ res Result }
	done := make(chan ran)
	go func() {
		done <- ran{Run(context.Background(), s, src, ctl, nil, Options{Version: "v9", OnDraw: g.onDraw})}
	}()
	g.waitFrame(t, "the first hop", func(l []string) bool { return strings.HasPrefix(l[5], " 1. 198.18.0.2") })

	// A flood of changes is drawn as a few frames, not one per change.
	before := g.count()
	start := time.Now()
	for i := range 2000 {
		src.mu.Lock()
		src.snap = path(2 + i%3)
		src.mu.Unlock()
		select {
		case src.changed <- struct{}{}:
		default:
		}
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	frames := g.count() - before
	if limit := int(elapsed/frame) + 2; frames > limit {
		t.Errorf("%d frames for 2000 changes in %v, want at most %d (10 a second)", frames, elapsed, limit)
	}
	if frames == 0 {
		t.Errorf("no frame drawn for 2000 changes")
	}

	// Keys are answered at once; resizing reflows.
	s.InjectKey(tcell.KeyRune, 'd', tcell.ModNone)
	g.waitFrame(t, "the stripchart", func(l []string) bool { return strings.Contains(l[4], "pings") })
	s.SetSize(120, 30)
	if err := s.PostEvent(tcell.NewEventResize(120, 30)); err != nil {
		t.Fatal(err)
	}
	g.waitFrame(t, "a 120-column chart", func(l []string) bool { return len(l) == 30 && strings.Contains(l[4], "Last 94 pings") })
	s.InjectKey(tcell.KeyRune, 'p', tcell.ModNone)
	g.waitFrame(t, "the pause line", func(l []string) bool { return strings.HasPrefix(l[29], "Paused") })
	if !ctl.pausedSeen() {
		t.Error("p did not pause the trace")
	}
	s.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
	select {
	case r := <-done:
		if r.res.Fields != "LS NABWV" {
			t.Errorf("result %+v", r.res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("q did not end the UI")
	}
}

func (c *fakeControl) pausedSeen() bool { return c.paused }

func TestRunEndsWhenTheTraceIsDone(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(cancel context.CancelFunc, done chan struct{})
	}{
		{"rounds of -c done", func(_ context.CancelFunc, done chan struct{}) { close(done) }},
		{"signal (context ended)", func(cancel context.CancelFunc, _ chan struct{}) { cancel() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tcell.NewSimulationScreen("")
			if err := s.Init(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			src := &liveSource{snap: path(1), changed: make(chan struct{}, 1)}
			ended := make(chan struct{})
			go func() {
				Run(ctx, s, src, &fakeControl{}, nil, Options{Done: done})
				close(ended)
			}()
			tc.stop(cancel, done)
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatal("the UI did not end")
			}
		})
	}
}

func TestPanicFinalisesTheScreen(t *testing.T) {
	s := &finiScreen{SimulationScreen: tcell.NewSimulationScreen("")}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !s.finished {
			t.Errorf("recovered %v; screen finalised: %v", r, s.finished)
		}
	}()
	Run(context.Background(), s, panicSource{}, &fakeControl{}, nil, Options{})
}

type finiScreen struct {
	tcell.SimulationScreen
	finished bool
}

func (f *finiScreen) Fini() {
	f.finished = true
	f.SimulationScreen.Fini()
}

type panicSource struct{}

func (panicSource) Snapshot() stats.Snapshot { panic("broken source") }
func (panicSource) Changed() <-chan struct{} { return nil }

// TestProtocolKeysFromSCTP: a run started with -S leaves SCTP as mtr does, u for UDP and t for
// TCP (there is no key back), and the summary of several targets names it.
func TestProtocolKeysFromSCTP(t *testing.T) {
	for _, tc := range []struct {
		keys string
		want []probe.Protocol
	}{
		{"uu", []probe.Protocol{probe.UDPProbes, probe.ICMPProbes}},
		{"tt", []probe.Protocol{probe.TCPProbes, probe.ICMPProbes}},
		{"tu", []probe.Protocol{probe.TCPProbes, probe.UDPProbes}},
	} {
		ctl := &fakeControl{proto: probe.SCTPProbes}
		u := testUI(ctl, Options{})
		for i, k := range tc.keys {
			u.runeKey(k)
			if ctl.proto != tc.want[i] || u.status != tc.want[i].String()+" probes" {
				t.Errorf("%q key %d: protocol %v, status %q; want %v", tc.keys, i, ctl.proto, u.status, tc.want[i])
			}
		}
	}
	if got := summaryRow(summary{loss: "0.0%", avg: "1.0", hops: 5}, probe.SCTPProbes); !strings.HasSuffix(got, "  SCTP ") {
		t.Errorf("summary row %q does not name SCTP", got)
	}
}
