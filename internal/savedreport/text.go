package savedreport

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// parseText reads mtr's report (-r, -w, -b, -z, any -o order) and mtr-go's, which is laid out
// the same and may end with an "Analysis:" section. The header names the columns; each hop line
// is "N.|-- host" (or "N. AS123 host" with -z) followed by one value per column, so the values
// are taken from the right and the rest is the host.
func parseText(s string) (*Report, error) {
	r := &Report{Format: MtrText, Resolution: 0.1}
	lines := strings.Split(s, "\n")
	var cols []string
	stray := 0 // the first line after the hops that is not one of them
	for n, raw := range lines {
		ln := n + 1
		line := strings.TrimRight(raw, " \t\r")
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "Analysis:"):
			// mtr-go's own analysis of the run: the analysis here is made afresh.
			return finishText(r, cols, ln)
		case strings.HasPrefix(t, "Start:"):
			continue
		case strings.HasPrefix(t, "HOST:"):
			if cols != nil {
				return nil, lineErr(r.Format, ln, "a second header; give one report at a time")
			}
			f := strings.Fields(t)
			if len(f) < 3 {
				return nil, lineErr(r.Format, ln, "a header without columns")
			}
			cols = f[2:]
			for _, c := range cols {
				if !knownColumn(c) {
					return nil, lineErr(r.Format, ln, "unknown column %q", cleanName(c))
				}
			}
			continue
		}
		if cols == nil {
			// Text pasted into a ticket around the report ("here is my mtr:").
			continue
		}
		num, rest, isHop := hopNumber(t)
		if !isHop {
			switch {
			case len(r.Rows) == 0:
				return nil, lineErr(r.Format, ln, "expected a hop line (\"1.|-- host ...\")")
			case strings.HasPrefix(t, "[MPLS"):
				// A hop's MPLS labels: nothing the analysis reads.
			case !strings.Contains(t, " ") && addrLike(t) && stray == 0:
				// Another address that answered the hop above.
				addHosts(&r.Rows[len(r.Rows)-1], splitHostIP(t))
			case stray == 0:
				// The table ends here, unless a hop line follows (then this line is the error).
				stray = ln
			}
			continue
		}
		if stray != 0 {
			if !fitsColumns(rest, len(cols)) {
				break // words after the report that happen to be numbered ("1. Rebooted the modem")
			}
			return nil, lineErr(r.Format, stray, "expected a hop line (\"1.|-- host ...\")")
		}
		f := strings.Fields(rest)
		if len(f) < len(cols)+1 {
			return nil, lineErr(r.Format, ln, "%d values for %d columns (truncated?)", max(len(f)-1, 0), len(cols))
		}
		vals := f[len(f)-len(cols):]
		host := strings.Join(f[:len(f)-len(cols)], " ")
		host = strings.TrimPrefix(host, "|--")
		host = strings.TrimSpace(host)
		// -z puts the AS ("AS???", "AS64500") before the host.
		row := Row{TTL: num, RecvExact: true}
		if hf := strings.Fields(host); len(hf) > 1 && asColumn.MatchString(hf[0]) {
			host = strings.Join(hf[1:], " ")
			row.ASN = parseASN(hf[0])
		}
		if err := textValues(&row, cols, vals); err != nil {
			return nil, lineErr(r.Format, ln, "%v", err)
		}
		addHosts(&row, splitHostIP(host))
		if err := checkRow(&row); err != nil {
			return nil, lineErr(r.Format, ln, "%v", err)
		}
		if len(r.Rows) > 0 && row.TTL <= r.Rows[len(r.Rows)-1].TTL {
			return nil, lineErr(r.Format, ln, "hop %d after hop %d", row.TTL, r.Rows[len(r.Rows)-1].TTL)
		}
		r.Rows = append(r.Rows, row)
	}
	return finishText(r, cols, len(lines))
}

func finishText(r *Report, cols []string, ln int) (*Report, error) {
	if cols == nil {
		return nil, fmt.Errorf("not a report mtr-go knows: no mtr \"HOST:\" header line, and not mtr's JSON, CSV or XML, WinMTR's export or mtr-go's Markdown or HTML")
	}
	has := map[string]bool{}
	for _, c := range cols {
		has[c] = true
	}
	if !(has["Rcv"] && has["Drop"]) && (!has["Snt"] || (!has["Loss%"] && !has["Rcv"] && !has["Drop"])) {
		return nil, lineErr(r.Format, ln, "the report needs Snt and one of Loss%%, Rcv or Drop, or Rcv and Drop (-o with L, R or D)")
	}
	r.HasLatency, r.HasStDev, r.HasRange = has["Avg"], has["StDev"], has["Best"] && has["Wrst"]
	return r, nil
}

var textColumns = map[string]bool{
	"Loss%": true, "Drop": true, "Rcv": true, "Snt": true, "Last": true, "Best": true, "Avg": true,
	"Wrst": true, "StDev": true, "Gmean": true, "Jttr": true, "Javg": true, "Jmax": true, "Jint": true,
}

func knownColumn(c string) bool { return textColumns[c] }

// hopNumber splits "12.|-- host ..." into 12 and the rest.
func hopNumber(t string) (int, string, bool) {
	i := strings.IndexByte(t, '.')
	// "12.|-- host" or, with -z, "12. AS64500 host"; an address below a hop ("198.18.1.2") has
	// a digit after its first dot.
	if i < 1 || i > 3 || i+1 >= len(t) || (t[i+1] != '|' && t[i+1] != ' ') {
		return 0, "", false
	}
	n, err := strconv.Atoi(t[:i])
	if err != nil {
		return 0, "", false
	}
	return n, t[i+1:], true
}

// textValues reads one line's values by the header's columns.
func textValues(row *Row, cols, vals []string) error {
	loss, haveLoss, haveRecv, drop, haveDrop, haveSent := 0.0, false, false, 0, false, false
	for k, c := range cols {
		v := vals[k]
		switch c {
		case "Loss%":
			x, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
			if err != nil {
				return badValue(c, v)
			}
			loss, haveLoss = x, true
		case "Snt", "Rcv", "Drop":
			x, err := strconv.Atoi(v)
			if err != nil || x < 0 {
				return badValue(c, v)
			}
			switch c {
			case "Snt":
				row.Sent, haveSent = x, true
			case "Rcv":
				row.Recv, haveRecv = x, true
			default:
				drop, haveDrop = x, true
			}
		case "Last", "Avg", "Best", "Wrst", "StDev":
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return badValue(c, v)
			}
			*map[string]*float64{"Last": &row.Last, "Avg": &row.Avg, "Best": &row.Best, "Wrst": &row.Wrst, "StDev": &row.StDev}[c] = x
		}
	}
	switch {
	case haveRecv && haveDrop && !haveSent:
		// -o "DR": no Snt column, but the two counts make it.
		row.Sent = row.Recv + drop
	case haveRecv:
	case haveDrop:
		row.Recv = row.Sent - drop
	case haveLoss:
		var err error
		row.Recv, row.RecvExact, err = recvFromLoss(loss, row.Sent, 0.1)
		if err != nil {
			return err
		}
	}
	return nil
}

func badValue(col, v string) error {
	return &valueError{col, cleanName(v)}
}

type valueError struct{ col, v string }

func (e *valueError) Error() string {
	return e.col + " value " + strconv.Quote(e.v) + " is not a number"
}

// addrLike reports whether a lone word below a hop is an address or host name that answered it
// (mtr lists them so), rather than text pasted after the report.
func addrLike(w string) bool {
	if _, err := netip.ParseAddr(w); err == nil {
		return true
	}
	if !strings.Contains(w, ".") || strings.HasPrefix(w, ".") || strings.HasSuffix(w, ".") {
		return false
	}
	for _, c := range w {
		if !(c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// asColumn is what -z prints before a host: "AS" and a number, or "AS???" when unknown. Only that
// is the AS column; a router named "ASR9K-1.example" is a host.
var asColumn = regexp.MustCompile(`^AS(\d+|\?\?\?)$`)

// fitsColumns reports whether the rest of a numbered line holds a host and n numbers (a Loss%
// with its sign), as a hop line of the table does.
func fitsColumns(rest string, n int) bool {
	f := strings.Fields(rest)
	if len(f) < n+1 {
		return false
	}
	for _, v := range f[len(f)-n:] {
		if _, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64); err != nil {
			return false
		}
	}
	return true
}
