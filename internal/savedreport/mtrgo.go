package savedreport

import (
	"html"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// mtr-go's --markdown and --html reports are tables whose header names the columns as mtr's
// text report does, after "Hop" and "Host"; a row with an empty Hop cell lists another address
// of the hop above it.

// Formats of mtr-go's own ticket reports.
const (
	MtrGoMarkdown Format = "mtr-go Markdown"
	MtrGoHTML     Format = "mtr-go HTML"
)

// parseMarkdown reads the table after "### mtr-go report: NAME (ADDRESS)".
func parseMarkdown(s string) (*Report, error) {
	r := &Report{Format: MtrGoMarkdown, Resolution: 0.1}
	var cells [][]string
	var lines []int
	inTable := false
	for n, raw := range strings.Split(s, "\n") {
		t := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		if name, ok := strings.CutPrefix(t, "### mtr-go report: "); ok && r.Target == "" {
			r.Target = targetOf(name)
		}
		if !strings.HasPrefix(t, "|") {
			if inTable {
				break // the table ends; an analysis may follow
			}
			continue
		}
		inTable = true
		if strings.HasPrefix(t, "| --") || strings.HasPrefix(t, "| :-") {
			continue
		}
		cells = append(cells, mdCells(t))
		lines = append(lines, n+1)
	}
	return readTable(r, cells, lines)
}

// mdCells splits "| a | b\|c |" into its unescaped cells.
func mdCells(t string) []string {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "|"), "|")
	var out []string
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		switch {
		case t[i] == '\\' && i+1 < len(t):
			i++
			b.WriteByte(t[i])
		case t[i] == '|':
			out = append(out, html.UnescapeString(strings.TrimSpace(b.String())))
			b.Reset()
		default:
			b.WriteByte(t[i])
		}
	}
	return append(out, html.UnescapeString(strings.TrimSpace(b.String())))
}

var (
	reportTableRE = regexp.MustCompile(`(?is)<table id="report">(.*?)</table>`)
	dstRE         = regexp.MustCompile(`(?is)<dd id="dst">(.*?)</dd>`)
	htmlRowRE     = regexp.MustCompile(`(?is)<tr>(.*?)</tr>`)
	htmlCellRE    = regexp.MustCompile(`(?is)<t[hd][^>]*>(.*?)</t[hd]>`)
)

// parseMtrGoHTML reads <table id="report"> and the target from <dd id="dst">.
func parseMtrGoHTML(s string) (*Report, error) {
	r := &Report{Format: MtrGoHTML, Resolution: 0.1}
	if m := dstRE.FindStringSubmatch(s); m != nil {
		r.Target = targetOf(html.UnescapeString(tagRE.ReplaceAllString(m[1], "")))
	}
	m := reportTableRE.FindStringSubmatchIndex(s)
	if m == nil {
		return nil, lineErr(r.Format, 1+strings.Count(s, "\n"), "no complete <table id=\"report\"> (truncated?)")
	}
	var cells [][]string
	var lines []int
	for _, row := range htmlRowRE.FindAllStringSubmatchIndex(s[m[2]:m[3]], -1) {
		var c []string
		for _, cell := range htmlCellRE.FindAllStringSubmatch(s[m[2]+row[2]:m[2]+row[3]], -1) {
			c = append(c, strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(cell[1], ""))))
		}
		cells = append(cells, c)
		lines = append(lines, 1+strings.Count(s[:m[2]+row[0]], "\n"))
	}
	return readTable(r, cells, lines)
}

// targetOf is the address in "name (address)", else the name.
func targetOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, " ("); i > 0 && strings.HasSuffix(s, ")") {
		if a, err := netip.ParseAddr(s[i+2 : len(s)-1]); err == nil {
			return a.String()
		}
	}
	return cleanName(s)
}

// readTable reads a header row and hop rows of cells; lines are their line numbers.
func readTable(r *Report, cells [][]string, lines []int) (*Report, error) {
	if len(cells) == 0 {
		return nil, lineErr(r.Format, 1, "no report table")
	}
	head := cells[0]
	if len(head) < 3 || head[0] != "Hop" || head[1] != "Host" {
		return nil, lineErr(r.Format, lines[0], "the table's header is not \"Hop | Host | ...\"")
	}
	cols := head[2:]
	for _, c := range cols {
		if !knownColumn(c) {
			return nil, lineErr(r.Format, lines[0], "unknown column %q", cleanName(c))
		}
	}
	for k, row := range cells[1:] {
		ln := lines[k+1]
		if len(row) != len(head) {
			return nil, lineErr(r.Format, ln, "%d cells for %d columns (truncated?)", len(row), len(head))
		}
		if row[0] == "" {
			if len(r.Rows) == 0 {
				return nil, lineErr(r.Format, ln, "another address before any hop")
			}
			addHosts(&r.Rows[len(r.Rows)-1], splitHostIP(row[1]))
			continue
		}
		ttl, err := strconv.Atoi(row[0])
		if err != nil {
			return nil, lineErr(r.Format, ln, "%v", badValue("Hop", row[0]))
		}
		x := Row{TTL: ttl, RecvExact: true}
		if err := textValues(&x, cols, row[2:]); err != nil {
			return nil, lineErr(r.Format, ln, "%v", err)
		}
		addHosts(&x, splitHostIP(row[1]))
		if err := checkRow(&x); err != nil {
			return nil, lineErr(r.Format, ln, "%v", err)
		}
		if n := len(r.Rows); n > 0 && x.TTL <= r.Rows[n-1].TTL {
			return nil, lineErr(r.Format, ln, "hop %d after hop %d", x.TTL, r.Rows[n-1].TTL)
		}
		r.Rows = append(r.Rows, x)
	}
	if _, err := finishText(r, cols, lines[0]); err != nil {
		return nil, err
	}
	return r, nil
}
