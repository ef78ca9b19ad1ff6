package tui

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// firstHopRow is the screen row of the first hop: title, addresses, keys, two header rows.
const firstHopRow = 5

var (
	plain = tcell.StyleDefault
	bold  = plain.Bold(true)
)

// draw paints the whole screen for snap. What it paints depends only on the UI state, the
// snapshot and the injected clock (Options.Now), so tests call it on a simulation screen
// directly. It is not pure: it keeps in u what the keys need from the frame (rows per page, the
// number of hops, the scroll position clamped to the path) and the frame itself, so that only
// the cells that changed since the last frame reach s (see canvas).
func (u *ui) draw(s tcell.Screen, snap stats.Snapshot) {
	snap = vocab.Mask(snap, u.privacy)
	u.last = snap
	u.cv.begin(s.Size())
	u.paint(u.cv, snap)
	u.cv.flush(s)
	u.sendClipboard(s)
}

// paint draws the frame for snap on c.
func (u *ui) paint(s *canvas, snap stats.Snapshot) {
	w, h := s.Size()
	if w <= 0 || h <= 0 {
		return
	}
	title := "My traceroute  [mtr-go " + u.opt.Version + "]"
	s.put(max(0, (w-len(title))/2), 0, title, bold)
	now := u.opt.Now().Format(vocab.TimeLayout)
	clock := max(0, w-25)
	local := u.localText()
	target := u.opt.TargetName + " (" + u.opt.Target.String() + ")"
	line1 := local + " -> " + target

	// With --reverse: both tables stacked when they fit (and the analysis pane is closed: its
	// hop marks belong to one table), otherwise the one that v chose.
	var rev reverse.Update
	stacked, showRev := false, false
	if u.opt.Reverse != nil {
		rev = u.opt.Reverse.Latest()
		hops := snap.Hops[min(u.scroll, len(snap.Hops)):]
		stacked = !u.help && !u.pane.open && u.stackFits(h, hops, rev)
		showRev = !stacked && u.showRev
	}
	u.stacked = stacked
	if showRev {
		line1 = vocab.StripControl(revHeading(rev, u.opt.Reverse.URL()))
		snap = rev.Snapshot
	}
	s.put(0, 1, cut(line1, clock-1), plain)
	s.put(clock, 1, now, plain)

	if u.help {
		u.drawHelp(s, w, h)
		return
	}
	u.lastHops = len(snap.Hops)
	u.ttls = u.ttls[:0]
	for i := range snap.Hops {
		u.ttls = append(u.ttls, snap.Hops[i].TTL)
	}
	if u.details {
		u.drawDetails(s, w, h, snap)
		u.drawStatus(s, w, h)
		return
	}
	if !u.compact {
		u.drawKeys(s)
	}
	if showRev {
		u.followCursor(snap.Hops, ModeTable)
	} else {
		u.followCursor(snap.Hops, u.mode)
	}
	u.scroll = min(u.scroll, max(0, len(snap.Hops)-1))
	hops := snap.Hops[min(u.scroll, len(snap.Hops)):]
	if u.opt.Reverse != nil && !stacked && !u.compact {
		hint := "forward (v: reverse)"
		if showRev {
			hint = "reverse (v: forward)"
		}
		s.put(0, 3, hint, plain)
	}
	if u.pane.open {
		// The table keeps the rows above the pane: h is from here on the table's bottom.
		u.refresh(snap)
		rows := paneRows(h-1-u.top(), u.tableRows(hops))
		u.drawPane(s, w, u.top()+rows, h-1)
		h = u.top() + rows + 1
	}
	tableH := h
	if stacked {
		tableH = u.top() + u.tableRows(hops) + 1
	}
	u.pageRows = max(1, tableH-u.top()-1)
	mode := u.mode
	if showRev {
		mode = ModeTable // the reverse table has no chart (see drawReverse)
	}
	switch mode {
	case ModeTable:
		u.drawTable(s, w, tableH, hops)
	case ModeBraille:
		u.drawBraille(s, w, tableH, hops)
	default:
		u.drawChart(s, w, tableH, hops)
	}
	if stacked {
		u.drawReverse(s, w, h, tableH-1, rev, u.opt.Reverse.URL())
	}
	_, h = s.Size()
	u.drawStatus(s, w, h)
}

// drawKeys writes mtr's key-hint line, the key letters in bold.
func (u *ui) drawKeys(s *canvas) {
	x := s.put(0, 2, "Keys:  ", plain)
	for i, k := range []string{"Help", "Display mode", "Restart statistics", "Order of fields", "quit"} {
		if i > 0 {
			x = s.put(x, 2, "   ", plain)
		}
		x = s.put(x, 2, k[:1], bold)
		x = s.put(x, 2, k[1:], plain)
	}
	if u.hint != "" {
		s.put(x+3, 2, u.hint, plain)
	}
}

// drawTable is display mode 0: the statistics table, mtr's layout. The statistics end two
// columns from the right edge; the host column takes what is left.
func (u *ui) drawTable(s *canvas, w, h int, hops []stats.Hop) {
	fields := u.fields
	texts := make([][]string, len(hops))
	widths := make([]int, len(fields))
	for j, f := range fields {
		widths[j] = f.Width
	}
	for i := range hops {
		if !hops[i].Known() {
			continue // mtr shows no statistics for a hop that never answered
		}
		texts[i] = make([]string, len(fields))
		for j, f := range fields {
			texts[i][j] = f.Text(&hops[i])
			widths[j] = max(widths[j], len(texts[i][j]))
		}
	}
	// On a narrow screen drop columns from the right rather than squeezing hosts to nothing.
	const minHost = 16
	total := 0
	n := 0
	for n < len(fields) && total+widths[n]+1+minHost <= w {
		total += widths[n]
		n++
	}
	start := w - total - 1

	head := u.top() - 1
	if !u.compact {
		s.put(start, head-1, "   Packets               Pings", bold)
	}
	s.put(0, head, " Host", bold)
	x := start
	for j := range n {
		t := fields[j].Title
		s.put(x+widths[j]-len(t), head, t, bold)
		x += widths[j]
	}

	y := u.top()
	last := h - 1 // the status line
	for i := range hops {
		if y >= last {
			break
		}
		hop := &hops[i]
		st := u.hopCell(s, y, hop, start-1)
		if texts[i] != nil {
			x := start
			for j := range n {
				s.put(x+widths[j]-len(texts[i][j]), y, texts[i][j], st)
				x += widths[j]
			}
		}
		y++
		for i, a := range u.shownAddrs(hop) {
			if i > 0 { // the latest responder is on the hop row itself
				if y >= last {
					break
				}
				s.put(0, y, cut("    "+u.ipText(a.IP)+u.name(a.IP), start-1), plain)
				y++
			}
			for _, l := range a.MPLS {
				if !u.mpls || y >= last {
					break
				}
				s.put(0, y, cut("    "+l.String(), w), plain)
				y++
			}
		}
	}
}

// hostText is the host column of a hop: the latest responder, or mtr's placeholder, followed by
// the ICMP error the hop answers with, or why its probes cannot be sent.
func (u *ui) hostText(h *stats.Hop) string {
	if !h.Known() {
		if n := h.Note(); n != "" {
			return "(" + n + ")"
		}
		return "(waiting for reply)"
	}
	t := u.name(h.Addr())
	if n := h.Note(); n != "" {
		t += " (" + n + ")"
	}
	return t
}

// hopCell writes a hop's "N. host" at the start of row y, cut to width, and returns the style of
// the row: bold while the hop's latest settled probe is unanswered.
func (u *ui) hopCell(s *canvas, y int, hop *stats.Hop, width int) tcell.Style {
	st := plain
	if unanswered(hop) {
		st = bold
	}
	text := u.hopText(hop)
	textSt := st
	if hop.TTL == u.cursor {
		textSt = st.Reverse(true)
	}
	if m := u.mark(hop.TTL); m != "" && width >= len(m)+12 {
		// The mark ends the host column, one space before the statistics.
		m = "[" + m + "]"
		s.put(width-1-len(m), y, m, st)
		width -= len(m) + 2
	}
	s.put(0, y, cut(text, width), textSt)
	return st
}

// hopText is "N. host", with y or z the field before the host of a hop that answered.
func (u *ui) hopText(hop *stats.Hop) string {
	info := ""
	if hop.Known() {
		info = u.ipText(hop.Addr())
	}
	return fmt.Sprintf("%2d. %s%s", hop.TTL, info, u.hostText(hop))
}

// unanswered is mtr's "not up": the hop's latest settled probe went unanswered (or it never
// answered at all). The newest probe, still in flight, does not count yet, so rows do not flicker
// bold on every probe.
func unanswered(h *stats.Hop) bool {
	if !h.Known() {
		return true
	}
	settled := 0 // the newest result, unless it is the probe still in flight
	if h.InFlight {
		settled = 1
	}
	r, ok := h.Recent(settled)
	return ok && r.Pending
}

// Latency chart characters and colours per bucket (mtr's eight), from fastest to slowest.
var (
	bucketChars  = []rune{'.', '1', '2', '3', 'a', 'b', 'c', '>'}
	bucketColors = []struct {
		c    tcell.Color
		bold bool
	}{
		{tcell.ColorReset, false}, {tcell.ColorGreen, false}, {tcell.ColorGreen, true}, {tcell.ColorYellow, true},
		{tcell.ColorPurple, true}, {tcell.ColorPurple, false}, {tcell.ColorRed, false}, {tcell.ColorRed, true},
	}
)

// scale holds the upper bound of each of the first seven buckets; slower answers fall in the
// eighth. Bounds grow quadratically from the fastest to the slowest answer on screen, as mtr's
// do, so the fine detail goes where most answers are.
type scale [7]time.Duration

func newScale(lo, hi time.Duration) scale {
	var sc scale
	for i := range sc {
		f := float64(i+1) / 8
		sc[i] = lo + time.Duration(float64(hi-lo)*f*f)
	}
	return sc
}

func (sc scale) bucket(rtt time.Duration) int {
	for i, b := range sc {
		if rtt <= b {
			return i
		}
	}
	return len(sc)
}

// drawChart is display modes 1 and 2: one character per recent probe of each hop, newest at the
// right, as wide as the terminal allows.
func (u *ui) drawChart(s *canvas, w, h int, hops []stats.Hop) {
	hostW := 24
	for i := range hops {
		hostW = max(hostW, utf8.RuneCountInString(u.hopText(&hops[i]))+1)
		if m := u.mark(hops[i].TTL); m != "" {
			hostW = max(hostW, utf8.RuneCountInString(u.hopText(&hops[i]))+len(m)+5)
		}
	}
	hostW = min(hostW, w/2)
	width := max(0, min(stats.HistoryLen, w-hostW-2))

	hists := make([][]stats.Result, len(hops))
	lo, hi, any := time.Duration(0), time.Duration(0), false
	for i := range hops {
		hist := hops[i].History()
		hist = hist[max(0, len(hist)-width):]
		hists[i] = hist
		for _, r := range hist {
			if r.Pending {
				continue
			}
			if !any || r.RTT < lo {
				lo = r.RTT
			}
			hi = max(hi, r.RTT)
			any = true
		}
	}
	sc := newScale(lo, hi)

	s.put(0, u.top()-1, " Host", bold)
	s.put(hostW+1, u.top()-1, fmt.Sprintf("Last %d pings", width), bold)
	y := u.top()
	last := h - 2 // a legend line and the status line
	for i := range hops {
		if y >= last {
			break
		}
		hop := &hops[i]
		u.hopCell(s, y, hop, hostW)
		x := hostW + 1 + width - len(hists[i])
		for k, r := range hists[i] {
			ch, cs := u.chartCell(hop, r, k == len(hists[i])-1, sc)
			s.set(x+k, y, ch, cs)
		}
		y++
	}
	u.drawLegend(s, y+u.legendGap(), h, sc, any)
}

// chartCell is the character and style for one probe in the chart.
func (u *ui) chartCell(h *stats.Hop, r stats.Result, newest bool, sc scale) (rune, tcell.Style) {
	switch {
	case r.Pending && newest && h.InFlight:
		return ' ', plain // not answered yet, not lost yet
	case r.Pending:
		return '?', u.colored(tcell.ColorRed, true)
	}
	b := sc.bucket(r.RTT)
	if u.mode == ModeStrip {
		if b == len(sc) {
			return '>', plain
		}
		return '.', plain
	}
	return bucketChars[b], u.colored(bucketColors[b].c, bucketColors[b].bold)
}

func (u *ui) colored(c tcell.Color, isBold bool) tcell.Style {
	st := plain.Bold(isBold)
	if u.color {
		st = st.Foreground(c)
	}
	return st
}

// drawLegend explains the chart's characters in milliseconds.
func (u *ui) drawLegend(s *canvas, y, h int, sc scale, any bool) {
	if y >= h-1 {
		y = h - 2
	}
	if y < u.top() {
		return
	}
	if !any {
		s.put(0, y, "Scale: no answers yet", plain)
		return
	}
	if u.mode == ModeStrip {
		s.put(0, y, fmt.Sprintf("Scale:  .:up to %s  >:slower  ?:no answer", ms(sc[6])), plain)
		return
	}
	x := s.put(0, y, "Scale: ", plain)
	for i, b := range sc {
		x = s.put(x, y, " "+string(bucketChars[i]), u.colored(bucketColors[i].c, bucketColors[i].bold))
		x = s.put(x, y, ":"+ms(b)+" ", plain)
	}
	x = s.put(x, y, " >", u.colored(bucketColors[7].c, bucketColors[7].bold))
	s.put(x, y, "  ?:no answer", plain)
}

// ms prints a bucket bound in whole milliseconds, with a decimal below 10 ms (lab and LAN paths
// are mostly sub-millisecond, where mtr's integer legend reads "0 ms" everywhere).
func ms(d time.Duration) string {
	v := stats.Ms(d)
	if v < 10 {
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// drawStatus writes the bottom line: an open prompt, the answer to the last key, or the pause.
func (u *ui) drawStatus(s *canvas, w, h int) {
	y := h - 1
	if y < u.top() {
		return
	}
	switch {
	case u.prompt != nil:
		p := u.prompt
		if p.list != nil {
			drawList(s, p, w, y)
		}
		x := s.put(0, y, p.label+": ", bold)
		x = s.put(x, y, string(p.input), plain)
		s.ShowCursor(x, y)
		msg := p.err
		if msg == "" {
			msg = p.hint
		}
		s.put(x+2, y, cut(msg, w-x-2), plain)
		return
	case u.status != "":
		s.put(0, y, cut(u.status, w), plain)
	case u.paused:
		s.put(0, y, "Paused: no probes are sent. Press space to resume.", bold)
	}
}

// helpText lists the keys. Unlike mtr's help screen, probing and receiving go on behind it.
var helpText = []string{
	"Command:",
	"  ?|h     help (any key leaves it; probing goes on)",
	"  p       pause (SPACE to resume)",
	"  d / c   display mode: table, strip, latency, braille / compact rows",
	"  e       toggle MPLS information",
	"  n       toggle DNS on/off",
	"  b       toggle showing IP addresses beside names",
	"  r       reset all statistics",
	"  o       change the order and choice of fields",
	"  j       toggle latency (LS NABWV) / jitter (DR AGJMXI) fields",
	"  y / z   cycle IP information / toggle AS numbers",
	"  a       analysis pane: findings, hop marks, conclusion ([ / ] scroll)",
	"  u / t   switch between ICMP and UDP / TCP",
	"  v       --reverse: forward or reverse table, when both do not fit",
	"  i/s/B   set the interval / the packet size / the payload bit pattern",
	"  f/m/Q   set the first / largest TTL / the type of service (TOS)",
	"  + / -   scroll 5 hops (PgUp/PgDn, Home/End); arrows, Enter: hop details",
	"  x/w/#   copy (text, html) / export to a file / hide hops 1-N (privacy)",
	"  g       trace another host (Up/Down: recent hosts, --history)",
	"  q       quit (Ctrl-L redraws the screen)",
	"",
	" press any key to go back...",
}

// targetHelp is added to the help of one target's view among several.
var targetHelp = []string{
	"  Tab     next target, Shift-Tab previous; l or Esc: the list of targets",
	"  (these keys act on this target only; q quits every target)",
}

func (u *ui) drawHelp(s *canvas, w, h int) {
	text := helpText
	if u.hint != "" {
		text = append(slices.Clone(helpText[:len(helpText)-2]), append(targetHelp, helpText[len(helpText)-2:]...)...)
	}
	for i, l := range text {
		if 2+i >= h {
			break
		}
		s.put(0, 2+i, cut(l, w), plain)
	}
}

// cut shortens s to at most n characters.
func cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
