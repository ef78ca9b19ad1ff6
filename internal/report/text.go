package report

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Options are the report flags that change the text layout.
type Options struct {
	Fields    string // -o column order; "" means vocab.DefaultFields
	Wide      bool   // -w: host column as wide as the longest name, nothing cut
	ShowIPs   bool   // -b: "name (ip)" when a name is known
	LocalHost string // local host name for the HOST: line
	MPLS      bool   // -e: each address's MPLS label stack on lines below it
	// Analysis (--analyze) is appended to the report, Markdown and HTML, and added to JSON and XML
	// as an "analysis" object and an <ANALYSIS> element; nil leaves mtr's formats as they are.
	Analysis *analyze.Analysis
	// IPInfo (-y, -z) adds AS and IP information where mtr 0.95 shows it; nil adds nothing.
	IPInfo *IPInfo
	// Reverse (--reverse) is the far end's trace back to this host, printed after the forward
	// one in every format but split and raw; nil leaves the formats as they are.
	Reverse *Reverse
	// Joint is the conclusion drawn from both directions, one line each, printed as is after
	// their analyses; nil prints nothing.
	Joint []string
	// MaxPath (-E) is how many addresses of a hop the text report, Markdown and HTML list, the
	// latest responder first; 0 lists all. JSON and CSV, read by programs, always list all.
	MaxPath int
}

// extraAddrs are the addresses listed under a hop's row: all but the latest responder (which is
// on the row), at most MaxPath in all.
func (o Options) extraAddrs(h *stats.Hop) []stats.Addr {
	a := h.Addrs
	if o.MaxPath > 0 && len(a) > o.MaxPath {
		a = a[:o.MaxPath]
	}
	return a[min(1, len(a)):]
}

// Names returns the reverse name of an address, or "" (DNS off or no name).
type Names func(netip.Addr) string

// Start writes mtr's "Start:" line. t is printed in its own location; pass time.Now() to get
// mtr's local time.
func Start(w io.Writer, t time.Time) error {
	_, err := fmt.Fprintf(w, "Start: %s\n", t.Format(vocab.TimeLayout))
	return err
}

// hostColumn is where mtr's narrow report starts the statistics: the header's "HOST: name" and a
// row's " 12.|-- name" are padded or cut to this many columns, so names keep at most 25 characters.
const hostColumn = 33

const (
	headerPrefix = "HOST: "
	rowIndent    = 8 // len(" %2d.|-- ") for hops below 100; extra addresses are indented as much
)

// unknownHost is shown for a hop that never answered.
const unknownHost = "???"

// Text writes the report table: the HOST: header and one row per hop of s, each hop's other
// addresses on lines of their own below it. The layout is mtr 0.95's, except that a value wider
// than its column widens that column in every line instead of being cut, and -w never cuts.
// With o.Reverse the reverse table follows in the same layout, under a heading that names where
// it ran from and the address it traced to; with o.Analysis the analysis ends the report.
func Text(w io.Writer, s stats.Snapshot, names Names, o Options) error {
	bw := bufio.NewWriter(w)
	if err := textTable(bw, s, names, o); err != nil {
		return err
	}
	if o.Reverse != nil {
		if err := writeTextReverse(bw, o); err != nil {
			return err
		}
	}
	writeTextAnalyses(bw, o)
	return bw.Flush()
}

// textTable writes the HOST: header and the hops' rows of one direction to bw.
func textTable(bw *bufio.Writer, s stats.Snapshot, names Names, o Options) error {
	order := o.Fields
	if order == "" {
		order = vocab.DefaultFields
	}
	fields, err := vocab.ParseFields(order)
	if err != nil {
		return err
	}

	type row struct {
		left   string   // " %2d.|-- host", or with -y " %2d. " and the field's text
		host   string   // with -y: the host text, appended to left once the widths are known
		values []string // one per field
		labels []string // MPLS lines of the latest responder
		extra  []string // host text of the hop's other addresses
		extraL [][]string
	}
	rows := make([]row, len(s.Hops))
	widths := make([]int, len(fields))
	for i, f := range fields {
		widths[i] = f.Width
	}
	for i := range s.Hops {
		h := &s.Hops[i]
		r := &rows[i]
		r.left = fmt.Sprintf(" %2d.|-- %s", h.TTL, hostText(h, names, o.ShowIPs))
		if o.IPInfo != nil {
			r.left = fmt.Sprintf(" %2d. %s", h.TTL, o.IPInfo.text(h.Addr()))
			r.host = hostText(h, names, o.ShowIPs)
		}
		r.values = make([]string, len(fields))
		for j, f := range fields {
			r.values[j] = f.Text(h)
			widths[j] = max(widths[j], utf8.RuneCountInString(r.values[j]))
		}
		for _, a := range o.extraAddrs(h) {
			e := addrText(a.IP, names, o.ShowIPs)
			if o.IPInfo != nil {
				// mtr prints these lines unpadded, five spaces in, the field before the host.
				e = "     " + o.IPInfo.text(a.IP) + e
			}
			r.extra = append(r.extra, e)
			r.extraL = append(r.extraL, mplsLines(a.MPLS, o.MPLS))
		}
		if len(h.Addrs) > 0 {
			r.labels = mplsLines(h.Addrs[0].MPLS, o.MPLS)
		}
	}

	// The header and the rows share the statistics column: narrow reports cut everything to it,
	// wide ones grow it to fit the longest name. In wide mode mtr pads the local name and the hop
	// names to the same width, so rows sit two columns right of the titles; we keep that.
	headerLeft := headerPrefix + o.LocalHost
	rowWidth, headerWidth, extraWidth := hostColumn, hostColumn, hostColumn
	if o.IPInfo != nil {
		prefix, host := make([]string, len(rows)), make([]string, len(rows))
		for i, r := range rows {
			prefix[i], host[i] = r.left, r.host
			rows[i].left += r.host
		}
		headerWidth, rowWidth = ipinfoWidths(prefix, host, o)
	} else if o.Wide {
		n := utf8.RuneCountInString(o.LocalHost)
		for _, r := range rows {
			// Hop numbers of 100 and more push the name one column right; widening n for them
			// keeps every row's statistics in line.
			n = max(n, utf8.RuneCountInString(r.left)-rowIndent)
		}
		headerWidth = len(headerPrefix) + n
		rowWidth = rowIndent + n
		extraWidth = n
	}

	writeLine := func(left string, leftWidth int, cells []string) {
		bw.WriteString(fit(left, leftWidth, !o.Wide))
		for j, c := range cells {
			bw.WriteString(strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c)))
			bw.WriteString(c)
		}
		bw.WriteByte('\n')
	}
	titles := make([]string, len(fields))
	for j, f := range fields {
		titles[j] = f.Title
	}
	writeLine(headerLeft, headerWidth, titles)
	for _, r := range rows {
		writeLine(r.left, rowWidth, r.values)
		writeLines(bw, r.labels)
		for i, e := range r.extra {
			if o.IPInfo != nil {
				bw.WriteString(e)
				bw.WriteByte('\n')
				writeLines(bw, r.extraL[i])
				continue
			}
			// mtr pads these to the host column too, leaving trailing spaces; nothing follows
			// them, so they are never cut.
			bw.WriteString(strings.Repeat(" ", rowIndent))
			bw.WriteString(fit(e, extraWidth, false))
			bw.WriteByte('\n')
			writeLines(bw, r.extraL[i])
		}
	}
	return nil
}

// ipinfoWidths returns the header's and the rows' left widths with -y. Narrow reports cut both
// at the host column, as mtr does (the field takes its place from the name). Wide ones fit the
// longest field and name: mtr 0.95 pads the header to the name width plus the field's, and the
// rows to the field plus the name width and a space, which puts both at the same column.
func ipinfoWidths(prefix, host []string, o Options) (header, row int) {
	if !o.Wide {
		return hostColumn, hostColumn
	}
	n := utf8.RuneCountInString(o.LocalHost)
	p := 0
	for i := range host {
		n = max(n, utf8.RuneCountInString(host[i]))
		p = max(p, utf8.RuneCountInString(prefix[i]))
	}
	const hop = len(" 12. ")
	return len(headerPrefix) + n + p - hop, p + n + 1
}

// hostText is what a row shows for a hop: its latest responder's name or address, or ???.
func hostText(h *stats.Hop, names Names, showIPs bool) string {
	if !h.Known() {
		return unknownHost
	}
	return addrText(h.Addr(), names, showIPs)
}

func addrText(a netip.Addr, names Names, showIPs bool) string {
	name := ""
	if names != nil && !vocab.IsMasked(a) {
		name = names(a)
	}
	return vocab.HostText(a, name, showIPs)
}

// fit pads s with spaces to width runes and, when cut is set, truncates it to width.
func fit(s string, width int, cut bool) string {
	n := utf8.RuneCountInString(s)
	if n < width {
		return s + strings.Repeat(" ", width-n)
	}
	if cut && n > width {
		i := 0
		for k := range s {
			if i == width {
				return s[:k]
			}
			i++
		}
	}
	return s
}

// mplsLines formats a label stack as mtr's report does with -e, one line per label (mtr prints
// S with a stray "u", a format bug; here it is the bit).
func mplsLines(labels []stats.Label, on bool) []string {
	if !on {
		return nil
	}
	var out []string
	for _, l := range labels {
		out = append(out, "       "+l.String())
	}
	return out
}

func writeLines(bw *bufio.Writer, lines []string) {
	for _, l := range lines {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
}
