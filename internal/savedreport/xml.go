package savedreport

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
)

// parseXML reads mtr's --xml (and mtr-go's, which may add an <ANALYSIS> element: ignored):
// <MTR DST=...> with one <HUB COUNT=N HOST=...> a hop, its columns as child elements.
func parseXML(data []byte) (*Report, error) {
	r := &Report{Format: MtrXML, Resolution: 0.1}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	line := func() int { l, _ := dec.InputPos(); return l }
	has := map[string]bool{}
	var row *Row
	var rowLine int
	var loss float64
	var haveLoss, haveRecv, sawMTR, done bool
	var field string
	for !done {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, lineErr(r.Format, line(), "%s", cleanName(strings.TrimPrefix(err.Error(), "XML syntax error on line "+strconv.Itoa(line())+": ")))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "MTR" && !sawMTR:
				sawMTR = true
				r.Target = cleanName(attr(t, "DST"))
			case !sawMTR:
				return nil, lineErr(r.Format, line(), "<%s> outside <MTR>", cleanName(t.Name.Local))
			case t.Name.Local == "HUB" && row == nil:
				n, err := strconv.Atoi(strings.TrimSpace(attr(t, "COUNT")))
				if err != nil {
					return nil, lineErr(r.Format, line(), "HUB without a COUNT number")
				}
				row = &Row{TTL: n, RecvExact: true}
				rowLine = line()
				haveLoss, haveRecv = false, false
				addHosts(row, splitHostIP(attr(t, "HOST")))
			case t.Name.Local == "ANALYSIS" && row == nil:
				if err := dec.Skip(); err != nil {
					return nil, lineErr(r.Format, line(), "%v", err)
				}
			case row != nil && field == "":
				field = t.Name.Local
			default:
				return nil, lineErr(r.Format, line(), "unexpected <%s>", cleanName(t.Name.Local))
			}
		case xml.CharData:
			if row == nil || field == "" {
				continue
			}
			v := strings.TrimSpace(string(t))
			has[field] = true
			switch field {
			case "Loss":
				x, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
				if err != nil {
					return nil, lineErr(r.Format, line(), "%v", badValue(field, v))
				}
				loss, haveLoss = x, true
			case "Snt", "Rcv", "Drop":
				x, err := strconv.Atoi(v)
				if err != nil || x < 0 {
					return nil, lineErr(r.Format, line(), "%v", badValue(field, v))
				}
				switch field {
				case "Snt":
					row.Sent = x
				case "Rcv":
					row.Recv, haveRecv = x, true
				default:
					if !haveRecv {
						row.Recv, haveRecv = -x, true // made Sent-Drop at </HUB>
					}
				}
			case "Last", "Avg", "Best", "Wrst", "StDev":
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, lineErr(r.Format, line(), "%v", badValue(field, v))
				}
				*map[string]*float64{"Last": &row.Last, "Avg": &row.Avg, "Best": &row.Best, "Wrst": &row.Wrst, "StDev": &row.StDev}[field] = x
			}
		case xml.EndElement:
			switch {
			case field != "" && t.Name.Local == field:
				field = ""
			case row != nil && t.Name.Local == "HUB":
				switch {
				case haveRecv && row.Recv < 0:
					row.Recv += row.Sent
				case haveRecv:
				case haveLoss:
					var err error
					if row.Recv, row.RecvExact, err = recvFromLoss(loss, row.Sent, 0.1); err != nil {
						return nil, lineErr(r.Format, rowLine, "%v", err)
					}
				default:
					return nil, lineErr(r.Format, rowLine, "HUB without Loss, Rcv or Drop")
				}
				if !has["Snt"] {
					return nil, lineErr(r.Format, rowLine, "HUB without Snt")
				}
				if err := checkRow(row); err != nil {
					return nil, lineErr(r.Format, rowLine, "%v", err)
				}
				if n := len(r.Rows); n > 0 && row.TTL <= r.Rows[n-1].TTL {
					return nil, lineErr(r.Format, rowLine, "hop %d after hop %d", row.TTL, r.Rows[n-1].TTL)
				}
				r.Rows = append(r.Rows, *row)
				row = nil
			case t.Name.Local == "MTR":
				done = true
			}
		}
	}
	if !done {
		return nil, lineErr(r.Format, line(), "the XML ends before </MTR> (truncated?)")
	}
	r.HasLatency, r.HasStDev, r.HasRange = has["Avg"], has["StDev"], has["Best"] && has["Wrst"]
	return r, nil
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
