package report

import (
	"bufio"
	"fmt"
	"html"
	"io"

	"github.com/mtr-go/mtr-go/stats"
)

// HTML writes the report as one self-contained page (inline style, no scripts, nothing fetched),
// like WinMTR's export: open it in a browser, attach it to a ticket, or copy the table into one.
// Every text is HTML-escaped.
func HTML(w io.Writer, s stats.Snapshot, names Names, m Meta, o Options) error {
	t, err := newTicketTable(s, names, o)
	if err != nil {
		return err
	}
	esc := html.EscapeString
	target := m.targetText()
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mtr-go report: %s</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; }
dd { margin: 0; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: 0.2em 0.6em; text-align: right; font-family: monospace; }
th { background: #eee; }
td.host, th.host { text-align: left; }
.err { color: #b00; }
figure { margin: 1em 0; max-width: 100%%; overflow-x: auto; }
figure svg { max-width: 100%%; height: auto; }
@media print { figure { break-inside: avoid; } }
</style>
</head>
<body>
<h1>mtr-go report: %s</h1>
<dl>
<dt>From</dt><dd id="src">%s</dd>
<dt>Target</dt><dd id="dst">%s</dd>
<dt>Start</dt><dd id="start">%s</dd>
`, esc(target), esc(target), esc(o.LocalHost), esc(target), esc(ticketTime(m)))
	if m.Options != "" {
		fmt.Fprintf(bw, "<dt>Options</dt><dd id=\"options\">%s</dd>\n", esc(m.Options))
	}
	bw.WriteString("</dl>\n")
	writeSVGChart(bw, "chart", s, names, o, o.Analysis)
	writeHTMLTable(bw, "report", t)
	if r := o.Reverse; r != nil {
		if r.hasTable() {
			rt, err := newTicketTable(r.Snapshot, r.Names, reverseOptions(o))
			if err != nil {
				return err
			}
			fmt.Fprintf(bw, "<h2 id=\"reverse-heading\">%s</h2>\n", esc(r.heading()))
			writeSVGChart(bw, "reverse-chart", r.Snapshot, r.Names, reverseOptions(o), r.Analysis)
			writeHTMLTable(bw, "reverse-report", rt)
		}
		if r.Err != "" {
			fmt.Fprintf(bw, "<p id=\"reverse-error\" class=\"err\">%s</p>\n", esc(r.errLine()))
		}
	}
	if o.Analysis != nil {
		if o.Reverse == nil {
			writeHTMLAnalysis(bw, "Analysis", "", o.Analysis)
		} else {
			writeHTMLAnalysis(bw, "Analysis, forward", "", o.Analysis)
			if o.Reverse.Analysis != nil {
				writeHTMLAnalysis(bw, "Analysis, return", "-return", o.Reverse.Analysis)
			}
		}
	}
	if len(o.Joint) > 0 {
		bw.WriteString("<p id=\"both\">")
		for i, l := range o.Joint {
			if i > 0 {
				bw.WriteString("<br>")
			}
			bw.WriteString(esc(l))
		}
		bw.WriteString("</p>\n")
	}
	bw.WriteString("</body>\n</html>\n")
	return bw.Flush()
}

// writeHTMLTable writes a ticket table with the given id.
func writeHTMLTable(bw *bufio.Writer, id string, t ticketTable) {
	esc := html.EscapeString
	fmt.Fprintf(bw, "<table id=\"%s\">\n<thead><tr>", id)
	for i, title := range t.titles {
		if i == 1 {
			fmt.Fprintf(bw, `<th class="host">%s</th>`, esc(title))
			continue
		}
		fmt.Fprintf(bw, "<th>%s</th>", esc(title))
	}
	bw.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range t.rows {
		fmt.Fprintf(bw, "<tr><td>%s</td><td class=\"host\">%s", esc(r.hop), esc(r.host))
		if r.err != "" {
			fmt.Fprintf(bw, ` <span class="err">(%s)</span>`, esc(r.err))
		}
		bw.WriteString("</td>")
		for _, v := range r.values {
			fmt.Fprintf(bw, "<td>%s</td>", esc(v))
		}
		bw.WriteString("</tr>\n")
	}
	bw.WriteString("</tbody>\n</table>\n")
}
