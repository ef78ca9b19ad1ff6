package savedreport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// parseJSON reads mtr's --json (and mtr-go's, which may add an "analysis" object: ignored, the
// analysis is made afresh). Each hub's columns are keys named as in the text report header.
func parseJSON(data []byte) (*Report, error) {
	r := &Report{Format: MtrJSON, Resolution: 0.001}
	var doc struct {
		Report *struct {
			Mtr struct {
				Dst   string `json:"dst"`
				DstIP string `json:"dst_ip"` // mtr-go's`
			} `json:"mtr"`
			Hubs []map[string]json.RawMessage `json:"hubs"`
		} `json:"report"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, jsonErr(data, dec, err)
	}
	if doc.Report == nil {
		return nil, lineErr(r.Format, 1, "no \"report\" object")
	}
	r.Target = cleanName(doc.Report.Mtr.Dst)
	if a, err := netip.ParseAddr(doc.Report.Mtr.DstIP); err == nil {
		r.Target = a.String()
	}
	has := map[string]bool{}
	for i, hub := range doc.Report.Hubs {
		row := Row{RecvExact: true}
		num := func(key string) (float64, bool, error) {
			raw, ok := hub[key]
			if !ok {
				return 0, false, nil
			}
			has[key] = true
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return 0, false, err
			}
			switch x := v.(type) {
			case float64:
				return x, true, nil
			case string: // older mtr writes some numbers as strings
				f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(x), "%"), 64)
				if err != nil {
					return 0, false, fmt.Errorf("%s: %q is not a number", key, cleanName(x))
				}
				return f, true, nil
			}
			return 0, false, fmt.Errorf("%s is not a number", key)
		}
		hubErr := func(err error) error {
			return fmt.Errorf("%s, hub %d: %v", r.Format, i+1, err)
		}
		count, ok, err := num("count")
		if err != nil || !ok {
			return nil, hubErr(fmt.Errorf("no hop number (\"count\")"))
		}
		row.TTL = int(count)
		sent, ok, err := num("Snt")
		if err != nil || !ok || sent != float64(int(sent)) {
			return nil, hubErr(fmt.Errorf("no probe count (\"Snt\")"))
		}
		row.Sent = int(sent)
		if rcv, ok, err := num("Rcv"); err != nil {
			return nil, hubErr(err)
		} else if ok {
			row.Recv = int(rcv)
		} else if drop, ok, err := num("Drop"); err != nil {
			return nil, hubErr(err)
		} else if ok {
			row.Recv = row.Sent - int(drop)
		} else if loss, ok, err := num("Loss%"); err != nil || !ok {
			return nil, hubErr(fmt.Errorf("no loss (\"Loss%%\", \"Rcv\" or \"Drop\")"))
		} else if row.Recv, row.RecvExact, err = recvFromLoss(loss, row.Sent, 0.1); err != nil {
			return nil, hubErr(err)
		}
		for key, dst := range map[string]*float64{"Last": &row.Last, "Avg": &row.Avg, "Best": &row.Best, "Wrst": &row.Wrst, "StDev": &row.StDev} {
			v, _, err := num(key)
			if err != nil {
				return nil, hubErr(err)
			}
			*dst = v
		}
		// mtr-go's JSON lists every address that answered ("addrs") and the latest one ("ip")
		// beside the name mtr shows ("host"): the addresses say more.
		var addrs []struct {
			IP string `json:"ip"`
		}
		var ip string
		if raw, ok := hub["addrs"]; ok {
			if err := json.Unmarshal(raw, &addrs); err != nil {
				return nil, hubErr(fmt.Errorf("addrs is not a list of addresses"))
			}
		} else if raw, ok := hub["ip"]; ok {
			if err := json.Unmarshal(raw, &ip); err != nil {
				return nil, hubErr(fmt.Errorf("ip is not a string"))
			}
			addrs = append(addrs, struct {
				IP string `json:"ip"`
			}{ip})
		}
		for _, a := range addrs {
			x, err := netip.ParseAddr(a.IP)
			if err != nil {
				return nil, hubErr(fmt.Errorf("address %q is not an IP address", cleanName(a.IP)))
			}
			addHosts(&row, x.String())
		}
		if raw, ok := hub["ASN"]; ok {
			var asn string
			if json.Unmarshal(raw, &asn) == nil {
				row.ASN = parseASN(asn)
			}
		}
		if raw, ok := hub["host"]; ok && len(addrs) == 0 {
			var h string
			if err := json.Unmarshal(raw, &h); err != nil {
				return nil, hubErr(fmt.Errorf("host is not a string"))
			}
			addHosts(&row, splitHostIP(h))
		}
		if err := checkRow(&row); err != nil {
			return nil, hubErr(err)
		}
		if n := len(r.Rows); n > 0 && row.TTL <= r.Rows[n-1].TTL {
			return nil, hubErr(fmt.Errorf("hop %d after hop %d", row.TTL, r.Rows[n-1].TTL))
		}
		r.Rows = append(r.Rows, row)
	}
	r.HasLatency, r.HasStDev, r.HasRange = has["Avg"], has["StDev"], has["Best"] && has["Wrst"]
	return r, nil
}

// jsonErr names the line a JSON error is on.
func jsonErr(data []byte, dec *json.Decoder, err error) error {
	off := dec.InputOffset()
	var se *json.SyntaxError
	if e, ok := err.(*json.SyntaxError); ok {
		se = e
		off = se.Offset
	}
	var te *json.UnmarshalTypeError
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		te = e
		off = te.Offset
	}
	off = min(max(off, 0), int64(len(data)))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	msg := err.Error()
	if err.Error() == "unexpected EOF" {
		msg = "the JSON ends early (truncated?)"
	}
	return lineErr(MtrJSON, line, "%s", msg)
}
