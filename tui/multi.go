package tui

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Target is one of several targets a live view shows.
type Target struct {
	Source  Source
	Control Control
	// Options are the target's own, as Run takes them; Version, LocalHost, AS, Now, Done and
	// OnDraw come from RunMulti's.
	Options Options
}

// RunMulti shows several targets on s: a summary of them all, one line each, and any one
// target's full view, which is Run's screen with its keys acting on that target alone. Tab and
// Shift-Tab go from target to target, l or Esc back to the summary, where the arrows and Enter
// (or the target's number) pick one. q quits them all. It returns each target's Result, in order.
func RunMulti(ctx context.Context, s tcell.Screen, targets []Target, names Names, opt Options) []Result {
	defer s.Fini()
	m := newMulti(targets, names, opt, s.Colors() > 0)
	stop := make(chan struct{})
	defer close(stop)
	m.merge(stop)
	loop(ctx, s, m, names, opt)
	res := make([]Result, len(m.uis))
	for i, u := range m.uis {
		res[i] = u.result()
	}
	return res
}

// multi is the state of a view of several targets; only the UI goroutine touches it.
type multi struct {
	opt    Options
	uis    []*ui
	srcs   []Source
	cv     *canvas // shared by the summary and every target's view
	cur    int     // the target in view, or -1: the summary
	sel    int     // the summary's highlighted line
	top    int     // the summary's first line shown
	rows   int     // summary lines that fit on the screen
	help   bool
	status string
	color  bool
	redraw bool
	change chan struct{} // any target's statistics changed
}

func newMulti(targets []Target, names Names, opt Options, colors bool) *multi {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	m := &multi{opt: opt, cv: &canvas{}, cur: -1, color: colors && !opt.NoColor, change: make(chan struct{}, 1)}
	for i, t := range targets {
		o := t.Options
		o.Version, o.LocalHost, o.AS, o.Now = opt.Version, opt.LocalHost, opt.AS, opt.Now
		o.Done, o.OnDraw = nil, nil
		u := newUI(t.Control, names, o)
		u.color = u.color && colors
		u.cv = m.cv
		u.hint = fmt.Sprintf("[%d/%d] Tab next, l list", i+1, len(targets))
		m.uis = append(m.uis, u)
		m.srcs = append(m.srcs, t.Source)
	}
	return m
}

// merge forwards every target's change signal into one, until stop is closed: the loop selects
// on a fixed set of channels whatever the number of targets.
func (m *multi) merge(stop <-chan struct{}) {
	for _, src := range m.srcs {
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-src.Changed():
				}
				select {
				case m.change <- struct{}{}:
				default: // one pending signal is as good as many
				}
			}
		}()
	}
}

func (m *multi) changed() <-chan struct{} { return m.change }
func (m *multi) resized()                 { m.redraw = true }

func (m *multi) analysisWait() time.Duration {
	if m.cur < 0 {
		return 0
	}
	return m.uis[m.cur].analysisWait()
}

func (m *multi) draw(s tcell.Screen) bool {
	if m.cur >= 0 {
		u := m.uis[m.cur]
		u.draw(s, m.srcs[m.cur].Snapshot())
		full := m.redraw || u.redraw
		m.redraw, u.redraw = false, false
		return full
	}
	m.cv.begin(s.Size())
	m.paint(m.cv)
	m.cv.flush(s)
	full := m.redraw
	m.redraw = false
	return full
}

// open shows target i's full view.
func (m *multi) open(i int) {
	m.cur, m.sel = i, i
	m.status = ""
}

// cycle goes d targets on, round the list; from the summary Tab opens the first target and
// Shift-Tab the last.
func (m *multi) cycle(d int) {
	n := len(m.uis)
	if m.cur < 0 {
		if d > 0 {
			m.open(0)
		} else {
			m.open(n - 1)
		}
		return
	}
	m.open(((m.cur+d)%n + n) % n)
}

func (m *multi) key(ev *tcell.EventKey) bool {
	if ev.Key() == tcell.KeyCtrlC {
		return true
	}
	if m.cur >= 0 {
		u := m.uis[m.cur]
		if u.prompt == nil {
			switch ev.Key() {
			case tcell.KeyTab:
				m.cycle(1)
				return false
			case tcell.KeyBacktab:
				m.cycle(-1)
				return false
			case tcell.KeyEscape:
				if u.details {
					break // Esc closes the hop details first
				}
				m.cur = -1
				return false
			case tcell.KeyRune:
				if !u.help && unicode.ToLower(ev.Rune()) == 'l' {
					m.cur = -1
					return false
				}
			}
		}
		u.key(ev)
		return u.quit
	}

	m.status = ""
	if m.help {
		m.help = false
		return false
	}
	n := len(m.uis)
	switch ev.Key() {
	case tcell.KeyTab:
		m.cycle(1)
	case tcell.KeyBacktab:
		m.cycle(-1)
	case tcell.KeyEnter:
		m.open(m.sel)
	case tcell.KeyUp:
		m.sel = max(0, m.sel-1)
	case tcell.KeyDown:
		m.sel = min(n-1, m.sel+1)
	case tcell.KeyPgUp:
		m.sel = max(0, m.sel-max(1, m.rows))
	case tcell.KeyPgDn:
		m.sel = min(n-1, m.sel+max(1, m.rows))
	case tcell.KeyHome:
		m.sel = 0
	case tcell.KeyEnd:
		m.sel = n - 1
	case tcell.KeyCtrlL:
		m.redraw = true
	case tcell.KeyRune:
		r := ev.Rune()
		switch {
		case unicode.ToLower(r) == 'q':
			return true
		case r == '?' || unicode.ToLower(r) == 'h':
			m.help = true
		case r >= '1' && r <= '9' && int(r-'0') <= n:
			m.open(int(r - '0' - 1))
		case unicode.ToLower(r) == 'l':
		default:
			m.status = fmt.Sprintf("Key %q acts on one target: open one first (arrows and Enter, Tab, 1-9); ? for help.", r)
		}
	}
	return false
}

// summary is one target's line of the summary screen.
type summary struct {
	loss    string // the destination's Loss%, "-" until it answers
	avg     string // the destination's Avg in ms, "-" until it answers
	hops    int    // the destination's TTL, or the hops seen so far
	changes int
}

// summarize reads a target's line from its snapshot. The destination is the lowest hop that
// answered from the target's address; until one has, loss and Avg are unknown rather than the
// last hop's, which would blame the path for a destination that is simply not reached yet.
func summarize(snap stats.Snapshot) summary {
	sum := summary{loss: "-", avg: "-", hops: len(snap.Hops), changes: snap.PathChanges}
	for i := range snap.Hops {
		h := &snap.Hops[i]
		for _, a := range h.Addrs {
			if a.IP == snap.Target {
				sum.loss = strconv.FormatFloat(h.Loss(), 'f', 1, 64) + "%"
				sum.avg = strconv.FormatFloat(h.Avg(), 'f', 1, 64)
				sum.hops = h.TTL
				return sum
			}
		}
	}
	return sum
}

// summaryHead is the summary's column header; summaryRow lays a line out under it.
const summaryHead = "Loss%    Avg  Hops  Changes  Proto"

func summaryRow(sum summary, proto vocab.Protocol) string {
	return fmt.Sprintf("%5s %6s %5d %8d  %-5s", sum.loss, sum.avg, sum.hops, sum.changes, proto)
}

// summaryHelp lists the summary's keys.
var summaryHelp = []string{
	"Several targets:",
	"  Up/Down, PgUp/PgDn, Home/End   choose a target",
	"  Enter or 1-9                   show that target's full view",
	"  Tab / Shift-Tab                next / previous target's full view",
	"  l or Esc                       back to this list from a target's view",
	"  q                              quit (every target)",
	"In a target's view its keys (r, p, u, t, i, f, m, ...; ? lists them) act on",
	"that target only.",
	"",
	" press any key to go back...",
}

func (m *multi) paint(s *canvas) {
	w, h := s.Size()
	if w <= 0 || h <= 0 {
		return
	}
	title := "My traceroute  [mtr-go " + m.opt.Version + "]"
	s.put(max(0, (w-len(title))/2), 0, title, bold)
	clock := max(0, w-25)
	local := m.opt.LocalHost
	for _, u := range m.uis {
		if u.privacy > 0 { // # in one target's view hides this host there, so here too
			local = vocab.Hidden
		}
	}
	s.put(0, 1, cut(fmt.Sprintf("%s -> %d targets", local, len(m.uis)), clock-1), plain)
	s.put(clock, 1, m.opt.Now().Format(vocab.TimeLayout), plain)
	if m.help {
		for i, l := range summaryHelp {
			if 2+i >= h {
				break
			}
			s.put(0, 2+i, cut(l, w), plain)
		}
		return
	}
	x := s.put(0, 2, "Keys:  ", plain)
	for i, k := range [][2]string{{"Enter", " open"}, {"Tab", " next"}, {"?", " help"}, {"q", "uit"}} {
		if i > 0 {
			x = s.put(x, 2, "   ", plain)
		}
		x = s.put(x, 2, k[0], bold)
		x = s.put(x, 2, k[1], plain)
	}

	// The statistics end two columns from the right edge, as in the table; the name takes
	// what is left.
	right := max(0, w-2-len(summaryHead))
	s.put(0, 4, cut(" Target", right), bold)
	s.put(right, 4, summaryHead, bold)
	m.rows = max(1, h-1-firstHopRow)
	m.sel = min(max(m.sel, 0), len(m.uis)-1)
	if m.sel < m.top {
		m.top = m.sel
	}
	if m.sel >= m.top+m.rows {
		m.top = m.sel - m.rows + 1
	}
	for i := m.top; i < len(m.uis) && firstHopRow+i-m.top < h-1; i++ {
		y := firstHopRow + i - m.top
		u := m.uis[i]
		st := plain
		if i == m.sel {
			st = plain.Reverse(true)
		}
		name := fmt.Sprintf("%2d. %s (%s)", i+1, u.opt.TargetName, u.opt.Target)
		if u.opt.TargetName == u.opt.Target.String() {
			name = fmt.Sprintf("%2d. %s", i+1, u.opt.TargetName)
		}
		line := fmt.Sprintf("%-*s", right, cut(name, right-1)) + summaryRow(summarize(m.srcs[i].Snapshot()), u.ctl.Protocol())
		s.put(0, y, cut(line, w), st)
	}
	if m.status != "" && h-1 >= firstHopRow {
		s.put(0, h-1, cut(m.status, w), plain)
	}
}
