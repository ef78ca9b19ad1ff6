package savedreport

import (
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
)

// parseCSV reads mtr's --csv (and mtr-go's): a header naming the columns, then one line an
// address; a hop answered by several addresses has one line each, with the same Hop. A name
// holding a comma is quoted, as RFC 4180 has it.
func parseCSV(s string) (*Report, error) {
	r := &Report{Format: MtrCSV, Resolution: 0.01}
	cr := csv.NewReader(strings.NewReader(s))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, csvErr(err)
	}
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
	_, best := col["Best"]
	_, wrst := col["Wrst"]
	r.HasRange = best && wrst
	for {
		f, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		ln, _ := cr.FieldPos(0)
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
		if asn, ok := get("Asn"); ok {
			row.ASN = parseASN(asn)
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

// csvErr is the reader's error as one line naming the line.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return lineErr(MtrCSV, pe.Line, "%v", pe.Err)
	}
	return lineErr(MtrCSV, 1, "%v", err)
}
