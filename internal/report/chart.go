package report

import (
	"bufio"
	"fmt"
	"html"
	"math"
	"strconv"
	"time"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/stats"
)

// The chart's geometry, in SVG user units (CSS pixels at 100 %): a label column (mark, hop,
// host), the latency plot, and the loss column, one row per hop.
const (
	chartWidth   = 760
	chartLabelX  = 18  // hop numbers and hosts start here; the analysis marks sit before them
	chartPlotX0  = 280 // latency 0
	chartPlotX1  = 590 // the scale's top
	chartLossX0  = 610 // loss 0 %
	chartLossX1  = 700 // loss 100 %
	chartTop     = 44  // the first row's top: room for the legend and the axis title
	chartRow     = 22
	chartHostMax = 30 // characters of a host shown before it is cut with "…"
)

// chartMark is how an analysis finding shows on the rows it concerns.
type chartMark struct {
	class string // mark-problem (settled problem), mark-unsettled, mark-note (an explanation)
	text  string
}

// writeSVGChart draws s as an inline SVG: per hop its Best–Wrst range with the Avg marked, its
// loss as a bar with the number, and the analysis's findings as marks on their hops with a key
// below. Everything is drawn, nothing scripted or fetched; every text is escaped. It reads
// without the table, and prints as vectors.
func writeSVGChart(bw *bufio.Writer, id string, s stats.Snapshot, names Names, o Options, a *analyze.Analysis) {
	esc := html.EscapeString
	marks := map[int][]chartMark{}
	var keys []chartMark
	if a != nil {
		for _, f := range a.Findings {
			m := chartMark{class: "mark-note", text: findingHead(f)}
			switch {
			case f.Kind.Problem() && f.Settled:
				m.class = "mark-problem"
			case f.Kind.Problem():
				m.class = "mark-unsettled"
			}
			keys = append(keys, m)
			for _, ttl := range f.Hops {
				marks[ttl] = append(marks[ttl], m)
			}
		}
	}
	top := chartScale(s)
	height := chartTop + chartRow*max(len(s.Hops), 1) + 28 + 18*len(keys)
	fmt.Fprintf(bw, `<figure id="%s">
<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="%s-title" viewBox="0 0 %d %d" width="%d" height="%d" font-family="sans-serif" font-size="12">
<title id="%s-title">Round-trip time (Best to Wrst, Avg marked) and loss per hop</title>
<style>
.range { fill: #9cc3e6; } .avg { fill: #1f4e79; } .grid { stroke: #ccc; stroke-width: 1; }
.loss { fill: #c0392b; } .lossbg { fill: #eee; } .axis { fill: #444; } .none { fill: #888; font-style: italic; }
.mark-problem { fill: #c0392b; } .mark-unsettled { fill: #e67e22; } .mark-note { fill: #7f8c8d; }
</style>
`, id, id, chartWidth, height, chartWidth, height, id)
	// Legend and axis titles.
	fmt.Fprintf(bw, `<rect class="range" x="%d" y="6" width="24" height="8"/><text x="%d" y="14">Best to Wrst</text>`+"\n", chartPlotX0, chartPlotX0+30)
	fmt.Fprintf(bw, `<rect class="avg" x="%d" y="4" width="3" height="12"/><text x="%d" y="14">Avg</text>`+"\n", chartPlotX0+120, chartPlotX0+128)
	fmt.Fprintf(bw, `<text class="axis" x="%d" y="%d">RTT (ms)</text><text class="axis" x="%d" y="%d">Loss</text>`+"\n", chartPlotX0, chartTop-8, chartLossX0, chartTop-8)
	fmt.Fprintf(bw, `<text class="axis" x="%d" y="%d">Hop</text>`+"\n", chartLabelX, chartTop-8)
	// Grid and scale.
	bottom := chartTop + chartRow*max(len(s.Hops), 1)
	for k := 0; k <= 4; k++ {
		v := top * float64(k) / 4
		x := chartX(v, top)
		fmt.Fprintf(bw, `<line class="grid" x1="%s" y1="%d" x2="%s" y2="%d"/><text class="axis" x="%s" y="%d" text-anchor="middle">%s</text>`+"\n",
			num(x), chartTop, num(x), bottom, num(x), bottom+14, esc(chartTick(v)))
	}
	for i := range s.Hops {
		h := &s.Hops[i]
		y := chartTop + chartRow*i
		mid := y + chartRow/2
		host := hostText(h, names, o.ShowIPs)
		if r := []rune(host); len(r) > chartHostMax {
			host = string(r[:chartHostMax-1]) + "…"
		}
		fmt.Fprintf(bw, `<g class="hop" id="%s-hop-%d">`, id, h.TTL)
		for k, m := range marks[h.TTL] {
			fmt.Fprintf(bw, `<path class="%s" d="M%d %d l5 -9 l5 9 z"><title>%s</title></path>`, m.class, 2+k*4, mid+4, esc(m.text))
		}
		fmt.Fprintf(bw, `<text x="%d" y="%d">%d. %s</text>`, chartLabelX, mid+4, h.TTL, esc(host))
		if h.Recv > 0 {
			best, avg, worst := ms(h.Best), h.Avg(), ms(h.Worst)
			x0, x1 := chartX(best, top), chartX(worst, top)
			fmt.Fprintf(bw, `<rect class="range" x="%s" y="%d" width="%s" height="8"><title>Best %.1f ms, Avg %.1f ms, Wrst %.1f ms</title></rect>`,
				num(x0), mid-4, num(math.Max(x1-x0, 1)), best, avg, worst)
			fmt.Fprintf(bw, `<rect class="avg" x="%s" y="%d" width="3" height="14"/>`, num(chartX(avg, top)-1.5), mid-7)
		} else {
			fmt.Fprintf(bw, `<text class="none" x="%d" y="%d">no answer</text>`, chartPlotX0+4, mid+4)
		}
		loss := h.Loss()
		fmt.Fprintf(bw, `<rect class="lossbg" x="%d" y="%d" width="%d" height="10"/>`, chartLossX0, mid-5, chartLossX1-chartLossX0)
		if loss > 0 {
			fmt.Fprintf(bw, `<rect class="loss" x="%d" y="%d" width="%s" height="10"/>`, chartLossX0, mid-5, num(loss/100*(chartLossX1-chartLossX0)))
		}
		fmt.Fprintf(bw, `<text x="%d" y="%d">%.1f%%</text></g>`+"\n", chartLossX1+6, mid+4, loss)
	}
	// The key to the marks: what each finding is, by its colour and its hops.
	for k, m := range keys {
		y := bottom + 34 + 18*k
		fmt.Fprintf(bw, `<path class="%s" d="M%d %d l5 -9 l5 9 z"/><text x="%d" y="%d">%s</text>`+"\n", m.class, chartLabelX, y, chartLabelX+14, y, esc(m.text))
	}
	bw.WriteString("</svg>\n</figure>\n")
}

// chartScale is the latency at the plot's right edge: the largest Wrst rounded up to 1, 2 or 5
// times a power of ten, so the four grid steps fall on round numbers.
func chartScale(s stats.Snapshot) float64 {
	worst := 0.0
	for i := range s.Hops {
		if s.Hops[i].Recv > 0 {
			worst = math.Max(worst, ms(s.Hops[i].Worst))
		}
	}
	if worst <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(worst)))
	for _, m := range []float64{1, 2, 4, 5, 10} {
		if worst <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func chartX(v, top float64) float64 {
	return chartPlotX0 + math.Min(v/top, 1)*(chartPlotX1-chartPlotX0)
}

// chartTick writes a grid value with no more digits than it needs.
func chartTick(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}

// num writes a coordinate to a tenth of a unit: enough for the eye, and stable for goldens.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
