package tui

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/stats"
)

// defaultMaxPath is mtr 0.96's -E default: the addresses of a load-balanced hop shown.
const defaultMaxPath = 8

// top is the screen row of the first hop: below the title, the addresses, the key line and two
// header rows; in compact mode (c) only the column titles stay, so three more hops fit.
func (u *ui) top() int {
	if u.compact {
		return 3
	}
	return firstHopRow
}

// legendGap is the rows from the last hop of a chart to its legend: a blank one, none when compact.
func (u *ui) legendGap() int {
	if u.compact {
		return 0
	}
	return 1
}

// shownAddrs is the addresses the table shows for hop, the latest responder first: at most -E.
func (u *ui) shownAddrs(hop *stats.Hop) []stats.Addr {
	n := u.opt.MaxPath
	if n <= 0 {
		n = defaultMaxPath
	}
	return hop.Addrs[:min(n, len(hop.Addrs))]
}

func (u *ui) compactKey() {
	u.compact = !u.compact
	u.status = "Compact mode " + onOff(u.compact)
}

// Braille graph (display mode 3): each cell of the Unicode braille block is two probes side by
// side, each a bar of up to four dots whose height is the RTT's quarter of the range on screen,
// so a hop's latency reads as a curve at twice the chart modes' resolution. A lost probe is the
// top dot alone (a bar always stands on the bottom dot), and its cell is red.

// brailleBar holds the dots of a bar of height 1..4 from the bottom, for the left and the right
// column of a cell (dots 7,3,2,1 and 8,6,5,4 of the braille numbering).
var brailleBar = [2][5]rune{
	{0, 0x40, 0x40 | 0x04, 0x40 | 0x04 | 0x02, 0x40 | 0x04 | 0x02 | 0x01},
	{0, 0x80, 0x80 | 0x20, 0x80 | 0x20 | 0x10, 0x80 | 0x20 | 0x10 | 0x08},
}

// brailleLost is the top dot of each column.
var brailleLost = [2]rune{0x01, 0x08}

// brailleLevels maps an RTT to a bar height 1..4: quarters of lo..hi, the range on screen.
type brailleLevels struct{ lo, hi time.Duration }

func (b brailleLevels) level(rtt time.Duration) int {
	if b.hi <= b.lo {
		return 1
	}
	l := 1 + int(4*(rtt-b.lo)/(b.hi-b.lo+1))
	return min(4, max(1, l))
}

// bound is the largest RTT drawn with height l.
func (b brailleLevels) bound(l int) time.Duration {
	if l >= 4 {
		return b.hi
	}
	return b.lo + (b.hi-b.lo+1)*time.Duration(l)/4 - 1
}

// brailleCell is the cell for two probes (left, right); a missing or in-flight probe is blank.
func brailleCell(lv brailleLevels, pair [2]*stats.Result, inFlight [2]bool) (r rune, lost bool) {
	r = 0x2800
	for side, p := range pair {
		switch {
		case p == nil || inFlight[side]:
		case p.Pending:
			r |= brailleLost[side]
			lost = true
		default:
			r |= brailleBar[side][lv.level(p.RTT)]
		}
	}
	return r, lost
}

// drawBraille is display mode 3.
func (u *ui) drawBraille(s *canvas, w, h int, hops []stats.Hop) {
	hostW := 24
	for i := range hops {
		hostW = max(hostW, utf8.RuneCountInString(u.hopText(&hops[i]))+1)
		if m := u.mark(hops[i].TTL); m != "" {
			hostW = max(hostW, utf8.RuneCountInString(u.hopText(&hops[i]))+len(m)+5)
		}
	}
	hostW = min(hostW, w/2)
	cells := max(0, min((stats.HistoryLen+1)/2, w-hostW-2))

	hists := make([][]stats.Result, len(hops))
	lv, any := brailleLevels{}, false
	for i := range hops {
		hist := hops[i].History()
		hist = hist[max(0, len(hist)-2*cells):]
		hists[i] = hist
		for _, r := range hist {
			if r.Pending {
				continue
			}
			if !any || r.RTT < lv.lo {
				lv.lo = r.RTT
			}
			lv.hi = max(lv.hi, r.RTT)
			any = true
		}
	}

	s.put(0, u.top()-1, " Host", bold)
	s.put(hostW+1, u.top()-1, fmt.Sprintf("Last %d pings, 2 per cell", 2*cells), bold)
	y := u.top()
	last := h - 2
	for i := range hops {
		if y >= last {
			break
		}
		hop := &hops[i]
		u.hopCell(s, y, hop, hostW)
		hist := hists[i]
		// Pairs are aligned to the newest probe, so the right edge is always the latest one.
		n := (len(hist) + 1) / 2
		x := hostW + 1 + cells - n
		for k := range n {
			var pair [2]*stats.Result
			var flying [2]bool
			for side := range 2 {
				j := len(hist) - 2*(n-k) + side
				if j < 0 {
					continue
				}
				pair[side] = &hist[j]
				flying[side] = j == len(hist)-1 && hop.InFlight
			}
			ch, lost := brailleCell(lv, pair, flying)
			st := plain
			if lost {
				st = u.colored(tcell.ColorRed, true)
			}
			s.set(x+k, y, ch, st)
		}
		y++
	}
	u.drawBrailleLegend(s, y+u.legendGap(), h, lv, any)
}

func (u *ui) drawBrailleLegend(s *canvas, y, h int, lv brailleLevels, any bool) {
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
	x := s.put(0, y, "Scale:", plain)
	for l := 1; l <= 4; l++ {
		x = s.put(x, y, fmt.Sprintf("  %c:%s", 0x2800|brailleBar[0][l]|brailleBar[1][l], "≤"+ms(lv.bound(l))), plain)
	}
	x = s.put(x, y, "  ", plain)
	x = s.put(x, y, string(rune(0x2800|brailleLost[0]|brailleLost[1])), u.colored(tcell.ColorRed, true))
	s.put(x, y, ":no answer", plain)
}
