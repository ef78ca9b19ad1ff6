package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/mtr-go/mtr-go/stats"
)

// Markdown writes the report as a Markdown (GitHub/GitLab flavoured) section to paste into a
// ticket or chat: a heading naming the target, the source host, start time and options, then
// the report table with numbers right-aligned. Cells are escaped so a | in a name cannot break
// the table. With o.Reverse the reverse table follows under its own heading (or one line says
// why there is none), then each direction's analysis.
func Markdown(w io.Writer, s stats.Snapshot, names Names, m Meta, o Options) error {
	t, err := newTicketTable(s, names, o)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	target := m.targetText()
	fmt.Fprintf(bw, "### mtr-go report: %s\n\n", mdEscape(target))
	fmt.Fprintf(bw, "- **From:** %s\n", mdEscape(o.LocalHost))
	fmt.Fprintf(bw, "- **Start:** %s\n", ticketTime(m))
	if m.Options != "" {
		fmt.Fprintf(bw, "- **Options:** %s\n", mdEscape(m.Options))
	}
	bw.WriteString("\n")
	writeMDTable(bw, t)
	if r := o.Reverse; r != nil {
		if r.hasTable() {
			rt, err := newTicketTable(r.Snapshot, r.Names, reverseOptions(o))
			if err != nil {
				return err
			}
			fmt.Fprintf(bw, "\n#### %s\n\n", mdEscape(r.heading()))
			writeMDTable(bw, rt)
		}
		if r.Err != "" {
			fmt.Fprintf(bw, "\n**Reverse:** %s\n", mdEscape(r.reason()))
		}
	}
	if o.Analysis != nil {
		if o.Reverse == nil {
			writeMarkdownAnalysis(bw, "Analysis", o.Analysis)
		} else {
			writeMarkdownAnalysis(bw, "Analysis, forward", o.Analysis)
			if o.Reverse.Analysis != nil {
				writeMarkdownAnalysis(bw, "Analysis, return", o.Reverse.Analysis)
			}
		}
	}
	if len(o.Joint) > 0 {
		bw.WriteString("\n")
		for _, l := range o.Joint {
			fmt.Fprintf(bw, "%s  \n", mdEscape(l))
		}
	}
	return bw.Flush()
}

// writeMDTable writes a ticket table with the hop and numbers right-aligned.
func writeMDTable(bw *bufio.Writer, t ticketTable) {
	writeMDRow(bw, t.titles)
	align := []string{"--:", ":--"}
	for range t.titles[2:] {
		align = append(align, "--:")
	}
	writeMDRow(bw, align)
	for _, r := range t.rows {
		host := mdEscape(r.host)
		if r.err != "" {
			host += " *(" + mdEscape(r.err) + ")*"
		}
		cells := append([]string{r.hop, host}, r.values...)
		writeMDRow(bw, cells)
	}
}

func writeMDRow(w *bufio.Writer, cells []string) {
	w.WriteString("|")
	for _, c := range cells {
		w.WriteString(" ")
		w.WriteString(c)
		w.WriteString(" |")
	}
	w.WriteString("\n")
}

// mdEscape makes text safe in a table cell: | would end the cell, and the other characters
// would turn a name into emphasis, code or a link.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, `|`, `\|`, `*`, `\*`, `_`, `\_`, "`", "\\`", `[`, `\[`, `]`, `\]`, `<`, `&lt;`, `>`, `&gt;`,
	"\n", " ", "\r", " ",
)

func mdEscape(s string) string { return mdEscaper.Replace(s) }
