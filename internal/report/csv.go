package report

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// csvVersion fills mtr's Mtr_Version column. Scripts match the "MTR." prefix; the number says
// which mtr's column layout this is, not the program that wrote it.
const csvVersion = "MTR.0.95"

// CSV writes mtr 0.95's --csv table: the header Mtr_Version,Start_Time,Status,Host,Hop,Ip and
// every -o title (the spacer's " " included, its value being the Drop count as in mtr), then a
// row per hop with loss and times as %.2f and counts as integers. Unlike mtr the header has no
// trailing comma, so header and rows have the same number of fields (mtr issue #451). With
// o.Wide each further address of a hop gets a row of its own repeating the hop's statistics, as
// mtr does. header=false leaves the header out, for the second and later targets of one run.
// Start_Time is when probing began (mtr takes the time of printing). With o.Reverse the reverse
// trace's rows follow in the same columns, Host being the address it traced to, so a script
// tells the directions apart as it tells several targets apart; CSV has no place for a reason,
// so a missing reverse trace adds no rows (the caller says why on stderr).
func CSV(w io.Writer, s stats.Snapshot, names Names, m Meta, o Options, header bool) error {
	fields, err := o.fields()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if header {
		cells := []string{"Mtr_Version", "Start_Time", "Status", "Host", "Hop", "Ip"}
		if o.IPInfo.asnColumn() {
			cells = append(cells, "Asn") // mtr 0.95 adds it with -z only
		}
		for _, f := range fields {
			cells = append(cells, f.Title)
		}
		writeCSV(bw, cells)
	}
	start := strconv.FormatInt(m.Start.Unix(), 10)
	csvRows(bw, s, names, o, fields, start, m.Target)
	if r := o.Reverse; r != nil && r.hasTable() {
		csvRows(bw, r.Snapshot, r.Names, reverseOptions(o), fields, start, r.Target.String())
	}
	return bw.Flush()
}

// csvRows writes the rows of one direction, target in the Host column.
func csvRows(bw *bufio.Writer, s stats.Snapshot, names Names, o Options, fields []vocab.Field, start, target string) {
	for i := range s.Hops {
		h := &s.Hops[i]
		vals := make([]string, len(fields))
		for j, f := range fields {
			v := number(f, h)
			if f.Kind == vocab.Count || f.Kind == vocab.Blank {
				vals[j] = strconv.FormatInt(int64(v), 10)
			} else {
				vals[j] = fixed(v)
			}
		}
		hosts := []string{hostText(h, names, o.ShowIPs)}
		ips := []netip.Addr{h.Addr()}
		if o.Wide {
			for _, a := range h.Addrs[min(1, len(h.Addrs)):] {
				hosts = append(hosts, addrText(a.IP, names, o.ShowIPs))
				ips = append(ips, a.IP)
			}
		}
		for k, host := range hosts {
			cells := []string{csvVersion, start, "OK", target, strconv.Itoa(h.TTL), host}
			if o.IPInfo.asnColumn() {
				cells = append(cells, o.IPInfo.asn(ips[k]))
			}
			writeCSV(bw, append(cells, vals...))
		}
	}
}

// writeCSV writes one record. Unlike encoding/csv it leaves a field that starts with a space
// unquoted, so the spacer title is the bare " " scripts split on; quotes are only added where a
// field would otherwise break the record (RFC 4180).
func writeCSV(w *bufio.Writer, cells []string) {
	for i, c := range cells {
		if i > 0 {
			w.WriteByte(',')
		}
		if strings.ContainsAny(c, ",\"\r\n") {
			c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
		}
		w.WriteString(c)
	}
	w.WriteByte('\n')
}
