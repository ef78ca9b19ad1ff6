package report

import (
	"strconv"
	"strings"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// ticketTable is the report table as cells, shared by the Markdown and HTML writers: a hop
// column, the host, then the -o fields without the spacer, values as the text report prints
// them but without its padding. A hop's further addresses follow it as rows with only a host.
type ticketTable struct {
	titles []string
	rows   []ticketRow
}

type ticketRow struct {
	hop    string // "" on the rows of further addresses
	host   string
	values []string
	err    string // the hop's ICMP error, e.g. "no route to host", or why it cannot be sent
}

func newTicketTable(s stats.Snapshot, names Names, o Options) (ticketTable, error) {
	fields, err := o.fields()
	if err != nil {
		return ticketTable{}, err
	}
	fields = columns(fields)
	t := ticketTable{titles: []string{"Hop", "Host"}}
	for _, f := range fields {
		t.titles = append(t.titles, f.Title)
	}
	for i := range s.Hops {
		h := &s.Hops[i]
		r := ticketRow{hop: strconv.Itoa(h.TTL), host: hostText(h, names, o.ShowIPs), err: h.Note()}
		for _, f := range fields {
			r.values = append(r.values, strings.TrimSpace(f.Text(h)))
		}
		t.rows = append(t.rows, r)
		for _, a := range o.extraAddrs(h) {
			t.rows = append(t.rows, ticketRow{host: addrText(a.IP, names, o.ShowIPs), values: make([]string, len(fields))})
		}
	}
	return t, nil
}

// ticketTime is how the ticket formats print times: mtr's Start: layout, readable and sortable.
func ticketTime(m Meta) string { return m.Start.Format(vocab.TimeLayout) }
