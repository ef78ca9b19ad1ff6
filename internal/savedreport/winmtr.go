package savedreport

import (
	"html"
	"regexp"
	"strconv"
	"strings"
)

// WinMTR's exports (its "Copy Text to clipboard", "Copy HTML to clipboard" and "Export" buttons)
// hold, per hop, the host, an integer Loss %, Sent, Recv and integer-millisecond Best, Avrg,
// Wrst and Last; no StDev, no hop numbers (rows are hops 1, 2, ... in order) and no target.
// A hop that never answered is "No response from host".

var winColumns = []string{"%", "Sent", "Recv", "Best", "Avrg", "Wrst", "Last"}

// parseWinText reads the text export: a box of "|  host - loss | sent | recv | ... |" lines.
func parseWinText(s string) (*Report, error) {
	r := &Report{Format: WinMTRText, HasLatency: true, HasRange: true, Resolution: 1}
	header := false
	for n, raw := range strings.Split(s, "\n") {
		ln := n + 1
		t := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		switch {
		case t == "" || strings.HasPrefix(t, "|---") || strings.HasPrefix(t, "|___") || strings.Contains(t, "WinMTR statistics"):
			continue
		case !strings.HasPrefix(t, "|"):
			if header && len(r.Rows) > 0 {
				continue // the footer ("WinMTR v0.92 ... by Appnor MSP")
			}
			return nil, lineErr(r.Format, ln, "not a WinMTR table line")
		case strings.Contains(t, "Sent") && strings.Contains(t, "Recv"):
			header = true
			continue
		case !header:
			return nil, lineErr(r.Format, ln, "a table line before the header")
		}
		cells := strings.Split(strings.Trim(t, "|"), "|")
		if len(cells) != 7 {
			return nil, lineErr(r.Format, ln, "%d cells, want 7 (truncated?)", len(cells))
		}
		// The first cell is "host - loss"; the host may itself hold " - ".
		i := strings.LastIndex(cells[0], " - ")
		if i < 0 {
			return nil, lineErr(r.Format, ln, "no \"host - loss\" cell")
		}
		vals := append([]string{cells[0][i+3:]}, cells[1:]...)
		row, err := winRow(len(r.Rows)+1, cells[0][:i], vals)
		if err != nil {
			return nil, lineErr(r.Format, ln, "%v", err)
		}
		r.Rows = append(r.Rows, row)
	}
	if !header {
		return nil, lineErr(r.Format, 1, "no WinMTR header (Host - %% | Sent | Recv ...)")
	}
	return r, nil
}

var (
	winRowRE  = regexp.MustCompile(`(?is)<tr>(.*?)</tr>`)
	winCellRE = regexp.MustCompile(`(?is)<td[^>]*>(.*?)</td>`)
	tagRE     = regexp.MustCompile(`<[^>]*>`)
)

// parseWinHTML reads the HTML export: a table whose first row is the header.
func parseWinHTML(s string) (*Report, error) {
	r := &Report{Format: WinMTRHTML, HasLatency: true, HasRange: true, Resolution: 1}
	header := false
	for _, m := range winRowRE.FindAllStringSubmatchIndex(s, -1) {
		ln := 1 + strings.Count(s[:m[0]], "\n")
		var cells []string
		for _, c := range winCellRE.FindAllStringSubmatch(s[m[2]:m[3]], -1) {
			cells = append(cells, strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(c[1], ""))))
		}
		if !header {
			if len(cells) != 8 || cells[0] != "Host" || cells[2] != "Sent" {
				return nil, lineErr(r.Format, ln, "the first table row is not WinMTR's header (Host, %%, Sent, ...)")
			}
			header = true
			continue
		}
		if len(cells) != 8 {
			return nil, lineErr(r.Format, ln, "%d cells, want 8 (truncated?)", len(cells))
		}
		row, err := winRow(len(r.Rows)+1, cells[0], cells[1:])
		if err != nil {
			return nil, lineErr(r.Format, ln, "%v", err)
		}
		r.Rows = append(r.Rows, row)
	}
	if !header {
		return nil, lineErr(r.Format, 1, "no WinMTR table")
	}
	if !strings.Contains(strings.ToLower(s), "</table>") {
		return nil, lineErr(r.Format, 1+strings.Count(s, "\n"), "the table ends early (truncated?)")
	}
	return r, nil
}

// winRow reads one hop's values, in WinMTR's column order.
func winRow(ttl int, host string, vals []string) (Row, error) {
	row := Row{TTL: ttl, RecvExact: true}
	var x [7]int
	for k, v := range vals {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return row, badValue(winColumns[k], strings.TrimSpace(v))
		}
		x[k] = n
	}
	row.Sent, row.Recv = x[1], x[2]
	row.Best, row.Avg, row.Wrst, row.Last = float64(x[3]), float64(x[4]), float64(x[5]), float64(x[6])
	addHosts(&row, splitHostIP(host))
	return row, checkRow(&row)
}
