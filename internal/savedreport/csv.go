package savedreport

import (
	"strconv"
	"strings"
)

// parseCSV reads mtr's --csv (and mtr-go's): a header naming the columns, then one line an
// address; a hop answered by several addresses has one line each, with the same Hop.
func parseCSV(s string) (*Report, error) {
	r := &Report{Format: MtrCSV, Resolution: 0.01}
	lines := strings.Split(s, "\n")
	header := strings.Split(strings.TrimRight(lines[0], "\r"), ",")
	col := map[string]int{}
	for i, h := range header {
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	for _, need := range []string{"Hop", "Ip", "Snt"} {
		if _, ok := col[need]; !ok {
			return nil, lineErr(r.Format, 1, "no %q column", need)
		}
	}
	_, hasLoss := col["Loss%"]
	_, hasRcv := col["Rcv"]
	_, hasDrop := col["Drop"]
	if !hasLoss && !hasRcv && !hasDrop {
		return nil, lineErr(r.Format, 1, "no Loss%%, Rcv or Drop column")
	}
	_, r.HasLatency = col["Avg"]
	_, r.HasStDev = col["StDev"]
	for n := 1; n < len(lines); n++ {
		ln := n + 1
		line := strings.TrimRight(lines[n], "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, ",")
		// mtr's header ends with a comma that its lines lack.
		if len(f) < len(header) && !(len(f) == len(header)-1 && header[len(header)-1] == "") {
			return nil, lineErr(r.Format, ln, "%d fields for %d columns (truncated?)", len(f), len(header))
		}
		get := func(name string) (string, bool) {
			i, ok := col[name]
			if !ok || i >= len(f) {
				return "", false
			}
			return strings.TrimSpace(f[i]), true
		}
		v, _ := get("Hop")
		ttl, err := strconv.Atoi(v)
		if err != nil {
			return nil, lineErr(r.Format, ln, "%v", badValue("Hop", v))
		}
		host, _ := get("Ip")
		if k := len(r.Rows); k > 0 && r.Rows[k-1].TTL == ttl {
			addHosts(&r.Rows[k-1], splitHostIP(host))
			continue
		}
		row := Row{TTL: ttl, RecvExact: true}
		ints := map[string]*int{"Snt": &row.Sent, "Rcv": &row.Recv}
		drop := 0
		ints["Drop"] = &drop
		for name, dst := range ints {
			if v, ok := get(name); ok {
				x, err := strconv.Atoi(v)
				if err != nil || x < 0 {
					return nil, lineErr(r.Format, ln, "%v", badValue(name, v))
				}
				*dst = x
			}
		}
		for name, dst := range map[string]*float64{"Last": &row.Last, "Avg": &row.Avg, "Best": &row.Best, "Wrst": &row.Wrst, "StDev": &row.StDev} {
			if v, ok := get(name); ok {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, lineErr(r.Format, ln, "%v", badValue(name, v))
				}
				*dst = x
			}
		}
		switch {
		case hasRcv:
		case hasDrop:
			row.Recv = row.Sent - drop
		default:
			v, _ := get("Loss%")
			loss, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, lineErr(r.Format, ln, "%v", badValue("Loss%", v))
			}
			if row.Recv, row.RecvExact, err = recvFromLoss(loss, row.Sent, 0.01); err != nil {
				return nil, lineErr(r.Format, ln, "%v", err)
			}
		}
		if r.Target == "" {
			h, _ := get("Host")
			r.Target = cleanName(h)
		}
		addHosts(&row, splitHostIP(host))
		if err := checkRow(&row); err != nil {
			return nil, lineErr(r.Format, ln, "%v", err)
		}
		if k := len(r.Rows); k > 0 && row.TTL < r.Rows[k-1].TTL {
			return nil, lineErr(r.Format, ln, "hop %d after hop %d", row.TTL, r.Rows[k-1].TTL)
		}
		r.Rows = append(r.Rows, row)
	}
	return r, nil
}
