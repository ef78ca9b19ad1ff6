package tui

import (
	"fmt"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/asinfo"
	"github.com/mtr-go/mtr-go/stats"
)

// analyzeEvery is the shortest time between two analyses while probes come in. One costs about
// 40 µs for 15 hops, cheap enough for the UI goroutine, but a busy path changes the snapshot on
// every frame and findings read over a few rounds do not move faster than this anyway.
const analyzeEvery = 250 * time.Millisecond

// pane is the analysis pane's state: the latest analysis and what it was computed from.
type pane struct {
	open   bool
	scroll int // text lines skipped at the top
	a      analyze.Analysis
	marks  map[int]string // TTL → the short mark its row carries
	done   bool           // a is the analysis of some snapshot
	key    []hopKey       // what a was computed from
	at     time.Time      // when, on u.clock
	stale  bool           // the snapshot changed since, and the analysis waits for analyzeEvery
	lines  int            // text lines in the last frame, to bound scrolling
	height int            // text rows the last frame had for them

	// The text of a at width textW, kept so that frames without a new analysis do not wrap it
	// again: most frames redraw for a clock tick or a probe while the analysis waits.
	text  []paneLine
	textW int
}

// hopKey is what the analysis of a hop depends on, compared instead of the whole hop so an
// unchanged path (a paused trace, the clock's redraw each second) is not analysed again.
type hopKey struct {
	ttl, sent, recv int
	inFlight        bool
	addrs           int
	addr            netip.Addr // latest responder
	err, sendErr    string
}

func keyOf(snap stats.Snapshot, into []hopKey) []hopKey {
	into = into[:0]
	for i := range snap.Hops {
		h := &snap.Hops[i]
		into = append(into, hopKey{ttl: h.TTL, sent: h.Sent, recv: h.Recv, inFlight: h.InFlight,
			addrs: len(h.Addrs), addr: h.Addr(), err: h.Err, sendErr: h.SendErr})
	}
	return into
}

func sameKey(a, b []hopKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// refresh analyses snap when the pane is open and the path changed, at most once per
// analyzeEvery; otherwise it keeps the last analysis and notes it is stale, so the loop can
// draw again once the wait is over.
func (u *ui) refresh(snap stats.Snapshot) {
	p := &u.pane
	if !p.open {
		return
	}
	key := keyOf(snap, u.keyBuf)
	u.keyBuf = key
	if p.done && sameKey(key, p.key) {
		p.stale = false
		return
	}
	now := u.clock()
	if p.done && now.Sub(p.at) < analyzeEvery {
		p.stale = true
		return
	}
	in := analyze.Input{Snapshot: snap}
	// The reverse trace's source is the far end; and # hides this host's address here as in
	// the title (the app only withholds it when --privacy was given at start).
	if !u.showingReverse() && u.privacy == 0 {
		in.Local = u.opt.Local
	}
	if u.opt.AS != nil && u.ipinfo >= 0 {
		// Only once the user asked for AS data (-y/-z or the keys): asking sends DNS queries.
		in.AS = asinfo.ForAnalysis(snap, u.opt.AS.Info)
	}
	if u.ctl != nil {
		in.Protocol = u.ctl.Protocol()
	}
	p.a = analyze.Analyze(in)
	if u.opt.Reverse != nil && u.opt.Reverse.Latest().Target.IsValid() {
		p.a.Reverse = "" // its advice, to trace the other way, is taken: both tables are here
	}
	p.marks = marks(p.a)
	p.text = nil
	p.key = append(p.key[:0], key...)
	p.at, p.done, p.stale = now, true, false
}

// analysisWait is how long until a stale analysis may be computed again, or 0 when none waits.
func (u *ui) analysisWait() time.Duration {
	p := &u.pane
	if !p.open || !p.stale {
		return 0
	}
	return max(time.Millisecond, analyzeEvery-u.clock().Sub(p.at))
}

// markText is the short word a hop row carries for each kind of finding.
var markText = map[analyze.Kind]string{
	analyze.Loop:          "loop",
	analyze.Unreachable:   "unreachable",
	analyze.Interrupted:   "last answer",
	analyze.DestSilent:    "silent",
	analyze.LossStarts:    "loss starts",
	analyze.LatencyStarts: "slow from here",
	analyze.DestThrottles: "throttles",
	analyze.RateLimited:   "rate-limited",
	analyze.Deprioritised: "icmp slow",
	analyze.Spike:         "spike",
	analyze.Unsteady:      "unsteady",
	analyze.LoadBalanced:  "balanced",
}

// marks gives each hop a finding names its mark, joined when several do. A finding over several
// hops marks where it happens (its first hop), except those that are true of each hop they list:
// a load-balanced segment and a deprioritising router. An unsettled finding's mark ends in "?".
func marks(a analyze.Analysis) map[int]string {
	m := map[int]string{}
	for _, f := range a.Findings {
		if len(f.Hops) == 0 {
			continue
		}
		word := markText[f.Kind]
		if word == "" {
			continue
		}
		if !f.Settled {
			word += "?"
		}
		hops := f.Hops[:1]
		if f.Kind == analyze.LoadBalanced || f.Kind == analyze.Deprioritised {
			hops = f.Hops
		}
		for _, t := range hops {
			if old := m[t]; old == "" {
				m[t] = word
			} else if !strings.Contains(old, word) {
				m[t] = old + ", " + word
			}
		}
	}
	return m
}

// mark is the mark of the hop at ttl while the pane is open, or "".
func (u *ui) mark(ttl int) string {
	if !u.pane.open || !u.pane.done {
		return ""
	}
	return u.pane.marks[ttl]
}

// paneText is the analysis as lines of at most w runes: the conclusion first, so that it shows
// on a short screen, then each finding with what to do and whom to contact.
func paneText(a analyze.Analysis, w int) []paneLine {
	var out []paneLine
	add := func(text, indent string, bold bool) {
		for _, l := range wrap(vocab.StripControl(text), w, indent) {
			out = append(out, paneLine{l, bold})
		}
	}
	add("Conclusion: "+a.Conclusion, "  ", true)
	if a.Reverse != "" {
		add("Reverse path: on the far end, run: "+a.Reverse, "  ", false)
	}
	for i, f := range a.Findings {
		add(fmt.Sprintf("%d. [%s] %s", i+1, findingHead(f), f.Summary), "    ", false)
		if f.Action != "" {
			add("    Do: "+f.Action, "        ", false)
		}
		if f.Contact != "" {
			add("    Contact: "+f.Contact, "        ", false)
		}
	}
	return out
}

type paneLine struct {
	text string
	bold bool
}

// findingHead is "rate-limited, hop 2" or "loss-starts, hops 3-5, not settled (80%, -c 40)".
func findingHead(f analyze.Finding) string {
	head := f.Kind.String()
	if len(f.Hops) == 1 {
		head += fmt.Sprintf(", hop %d", f.Hops[0])
	} else if len(f.Hops) > 1 {
		head += ", hops " + analyze.HopList(f.Hops)
	}
	if !f.Settled {
		head += fmt.Sprintf(", not settled (confidence %.0f%%", math.Floor(100*f.Confidence))
		if f.MoreProbes > 0 {
			head += fmt.Sprintf(", -c %d would settle it", f.MoreProbes)
		}
		head += ")"
	}
	return head
}

// wrap breaks s into lines of at most w runes at spaces, continuation lines starting with
// indent; a word longer than a line is cut across lines.
func wrap(s string, w int, indent string) []string {
	if w <= 0 {
		return nil
	}
	if len(indent) >= w {
		indent = ""
	}
	var out []string
	line := []rune{}
	for _, word := range strings.Fields(s) {
		rw := []rune(word)
		lead := 0 // leading spaces of the first line are kept: they indent sub-items
		if len(out) == 0 && len(line) == 0 {
			lead = len(s) - len(strings.TrimLeft(s, " "))
			line = append(line, []rune(strings.Repeat(" ", min(lead, w-1)))...)
		}
		for {
			sep := 0
			if len(line) > 0 && strings.TrimSpace(string(line)) != "" {
				sep = 1
			}
			if len(line)+sep+len(rw) <= w {
				if sep == 1 {
					line = append(line, ' ')
				}
				line = append(line, rw...)
				break
			}
			if strings.TrimSpace(string(line)) != "" {
				out = append(out, string(line))
				line = []rune(indent)
				continue
			}
			// Too long for an empty line: fill it and go on with the rest of the word.
			room := w - len(line)
			line = append(line, rw[:room]...)
			rw = rw[room:]
			out = append(out, string(line))
			line = []rune(indent)
		}
	}
	if strings.TrimSpace(string(line)) != "" {
		out = append(out, string(line))
	}
	return out
}

// drawPane paints the pane on rows top..bottom-1: a title line, then the text from the scroll
// position; when the text does not fit, the last row says how much is left and how to see it.
func (u *ui) drawPane(s *canvas, w, top, bottom int) {
	p := &u.pane
	if top >= bottom {
		return
	}
	title := "Analysis   a closes, [ and ] scroll"
	if u.opt.Reverse != nil {
		title = "Analysis, forward   a closes, [ and ] scroll, v: return"
		if u.showingReverse() {
			title = "Analysis, return   a closes, [ and ] scroll, v: forward"
		}
	}
	s.put(0, top, cut(strings.Repeat("-", 2)+" "+title+" "+strings.Repeat("-", max(0, w)), w), bold)
	rows := bottom - top - 1
	if p.text == nil || p.textW != w {
		p.text, p.textW = paneText(p.a, w), w
	}
	text := p.text
	if !p.done {
		text = []paneLine{{"Analysing...", false}}
	}
	p.lines, p.height = len(text), rows
	p.scroll = min(p.scroll, max(0, len(text)-rows))
	if rows <= 0 {
		return
	}
	shown := text[p.scroll:]
	fits := len(shown) <= rows
	n := rows
	if !fits {
		n = rows - 1 // the "more" line
	}
	for i := 0; i < n && i < len(shown); i++ {
		st := plain
		if shown[i].bold {
			st = bold
		}
		s.put(0, top+1+i, shown[i].text, st)
	}
	if !fits {
		more := len(shown) - n
		s.put(0, bottom-1, cut(fmt.Sprintf("-- %d more line%s: ] scrolls down --", more, plural(more)), w), bold)
	} else if p.scroll > 0 && rows > 1 {
		// Scrolled to the end: the title row says what is above instead of its own text.
		s.put(0, top, cut(fmt.Sprintf("-- %d line%s above: [ scrolls up ", p.scroll, plural(p.scroll))+strings.Repeat("-", max(0, w)), w), bold)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// scrollPane moves the pane's text by n lines.
func (u *ui) scrollPane(n int) {
	p := &u.pane
	if !p.open {
		u.status = "The analysis pane is closed; a opens it."
		return
	}
	p.scroll = max(0, min(p.scroll+n, p.lines-p.height))
}

// paneRows splits the rows between the hop table and an open pane: avail rows are free below the
// table's header, the table needs need of them. The pane gets what the table leaves, and at
// least half of a screen too short for both; it returns the table's rows.
func paneRows(avail, need int) int {
	if avail <= 0 {
		return 0
	}
	pane := max(avail/2, avail-need)
	return avail - pane
}

// tableRows is how many rows the table of hops would fill.
func (u *ui) tableRows(hops []stats.Hop) int { return u.rowsOf(hops, u.mode) }

// rowsOf is how many rows hops fill in display mode mode.
func (u *ui) rowsOf(hops []stats.Hop, mode int) int {
	n := 0
	for i := range hops {
		n++
		if mode != ModeTable {
			continue
		}
		shown := u.shownAddrs(&hops[i])
		n += max(0, len(shown)-1)
		if u.mpls {
			for _, a := range shown {
				n += len(a.MPLS)
			}
		}
	}
	if mode != ModeTable {
		n += u.legendGap() + 1 // the chart's legend and the blank line above it
	}
	return n
}
