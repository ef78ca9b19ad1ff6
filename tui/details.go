package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Hop details: the arrows move a cursor over the hops and Enter opens the hop under it, full
// screen, drawn from each new snapshot so it updates while probes go on. The cursor is a TTL,
// not a row, so it stays on its hop while the path grows or the view scrolls.

// cursorKey moves the cursor by d hops; the first move puts it on the first hop shown.
func (u *ui) cursorKey(d int) {
	if len(u.ttls) == 0 {
		return
	}
	i := -1
	for k, t := range u.ttls {
		if t == u.cursor {
			i = k
		}
	}
	switch {
	case i < 0:
		i = min(u.scroll, len(u.ttls)-1)
	default:
		i = max(0, min(i+d, len(u.ttls)-1))
	}
	u.cursor, u.follow = u.ttls[i], true
}

// detailsKey handles the keys that mean something else while the details are open; it reports
// whether it took the key.
func (u *ui) detailsKey(ev *tcell.EventKey) bool {
	switch ev.Key() {
	case tcell.KeyEnter:
		if u.details {
			u.details = false
			return true
		}
		if u.cursor == 0 {
			u.cursorKey(0)
		}
		u.details = u.cursor != 0
		if !u.details {
			u.status = "No hop to show yet."
		}
		return true
	case tcell.KeyEscape:
		if u.details {
			u.details = false
			return true
		}
	case tcell.KeyUp:
		u.cursorKey(-1)
		return true
	case tcell.KeyDown:
		u.cursorKey(1)
		return true
	}
	return false
}

// followCursor scrolls the table so that the cursor's hop is on screen after a cursor key.
func (u *ui) followCursor(hops []stats.Hop, mode int) {
	if !u.follow {
		return
	}
	u.follow = false
	for i := range hops {
		if hops[i].TTL != u.cursor {
			continue
		}
		u.scroll = min(u.scroll, i)
		for u.scroll < i && u.rowsOf(hops[u.scroll:i+1], mode) > u.pageRows {
			u.scroll++
		}
		return
	}
}

// bin is one bar of the RTT histogram: answers in lo..hi.
type bin struct {
	lo, hi time.Duration
	n      int
}

// histogram sorts rtts into at most n bins of equal width from the fastest to the slowest; all
// equal RTTs make one bin.
func histogram(rtts []time.Duration, n int) []bin {
	if len(rtts) == 0 || n <= 0 {
		return nil
	}
	lo, hi := rtts[0], rtts[0]
	for _, r := range rtts {
		lo, hi = min(lo, r), max(hi, r)
	}
	if lo == hi {
		return []bin{{lo, hi, len(rtts)}}
	}
	width := (hi - lo + time.Duration(n) - 1) / time.Duration(n)
	bins := make([]bin, n)
	for i := range bins {
		bins[i].lo = lo + time.Duration(i)*width
		bins[i].hi = bins[i].lo + width
	}
	bins[n-1].hi = hi
	for _, r := range rtts {
		bins[min(n-1, int((r-lo)/width))].n++
	}
	return bins
}

// stripChars draw the latest results from the fastest to the slowest of the hop's own range.
var stripChars = []rune("▁▂▃▄▅▆▇█")

// strip is the latest results of a hop, newest last: a block by RTT, '?' lost, ' ' in flight.
func strip(hist []stats.Result, inFlight bool) string {
	var lo, hi time.Duration
	any := false
	for _, r := range hist {
		if !r.Pending {
			if !any || r.RTT < lo {
				lo = r.RTT
			}
			hi, any = max(hi, r.RTT), true
		}
	}
	out := make([]rune, len(hist))
	for i, r := range hist {
		switch {
		case r.Pending && i == len(hist)-1 && inFlight:
			out[i] = ' '
		case r.Pending:
			out[i] = '?'
		case hi == lo:
			out[i] = stripChars[0]
		default:
			out[i] = stripChars[int(int64(len(stripChars)-1)*int64(r.RTT-lo)/int64(hi-lo))]
		}
	}
	return string(out)
}

// detailLines is the text of the details of hop, w columns wide.
func (u *ui) detailLines(hop *stats.Hop, w int) []paneLine {
	var out []paneLine
	add := func(bold bool, format string, a ...any) {
		out = append(out, paneLine{cut(fmt.Sprintf(format, a...), w), bold})
	}
	add(true, "Hop %d   Enter or Esc: back to the table; arrows: the other hops", hop.TTL)
	add(false, "Sent %d  Received %d  Loss %.1f%%  Last %.1f  Avg %.1f  Best %.1f  Wrst %.1f  StDev %.1f ms",
		hop.Sent, hop.Recv, hop.Loss(), stats.Ms(hop.Last), hop.Avg(), stats.Ms(hop.Best), stats.Ms(hop.Worst), hop.StDev())
	if n := hop.Note(); n != "" {
		add(false, "Error: %s", vocab.StripControl(n))
	}
	add(false, "")
	if !hop.Known() {
		add(false, "No answer yet.")
		return out
	}
	total := 0
	for _, a := range hop.Addrs {
		total += a.Count
	}
	add(true, "Answered by          Count  Share")
	for _, a := range hop.Addrs {
		line := fmt.Sprintf("  %-18s %6d %5.1f%%", vocab.AddrText(a.IP), a.Count, 100*float64(a.Count)/float64(max(1, total)))
		if vocab.IsMasked(a.IP) {
			// A hop hidden for privacy (--privacy, #): its stand-in address is neither looked
			// up nor shown.
			add(false, "%s", line)
			continue
		}
		if u.names != nil && u.dns {
			if n := u.names.Name(a.IP); n != "" {
				line += "  " + vocab.StripControl(n)
			}
		}
		if u.opt.AS != nil {
			if info, ok := u.opt.AS.Info(a.IP); ok && info.AS != "" {
				line += "  AS" + vocab.StripControl(info.AS)
				if info.Name != "" {
					line += " (" + vocab.StripControl(info.Name) + ")"
				}
			}
		}
		add(false, "%s", line)
		for _, l := range a.MPLS {
			add(false, "      %s", l)
		}
	}
	hist := hop.History()
	var rtts []time.Duration
	for _, r := range hist {
		if !r.Pending {
			rtts = append(rtts, r.RTT)
		}
	}
	add(false, "")
	add(true, "RTTs of the last %d answers", len(rtts))
	bins := histogram(rtts, 8)
	most := 0
	for _, b := range bins {
		most = max(most, b.n)
	}
	barW := max(1, w-30)
	for _, b := range bins {
		bar := strings.Repeat("#", (b.n*barW+most-1)/most)
		add(false, "  %7.1f - %-10s %5d %s", stats.Ms(b.lo), fmt.Sprintf("%.1f ms", stats.Ms(b.hi)), b.n, bar)
	}
	add(false, "")
	add(true, "Latest results, newest at the right (%c fastest .. %c slowest, ? no answer)", stripChars[0], stripChars[len(stripChars)-1])
	show := hist[max(0, len(hist)-max(1, w-2)):]
	add(false, "  %s", strip(show, hop.InFlight))
	return out
}

// drawDetails paints the details of the cursor's hop from row 2 to above the status line.
func (u *ui) drawDetails(s *canvas, w, h int, snap stats.Snapshot) {
	var hop *stats.Hop
	for i := range snap.Hops {
		if snap.Hops[i].TTL == u.cursor {
			hop = &snap.Hops[i]
		}
	}
	if hop == nil {
		s.put(0, 2, cut(fmt.Sprintf("Hop %d: no probes yet (Enter or Esc: back)", u.cursor), w), bold)
		return
	}
	for i, l := range u.detailLines(hop, w) {
		if 2+i >= h-1 {
			break
		}
		st := plain
		if l.bold {
			st = bold
		}
		s.put(0, 2+i, l.text, st)
	}
}
