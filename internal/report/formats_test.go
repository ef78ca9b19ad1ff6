package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/mtr-go/mtr-go/stats"
)

var testMeta = Meta{
	Target:   "dest.lab.test",
	TargetIP: netip.MustParseAddr("198.18.3.2"),
	Start:    time.Date(2026, 11, 27, 2, 32, 23, 0, time.UTC),
	End:      time.Date(2026, 11, 27, 2, 32, 28, 0, time.UTC),
	Tests:    4,
	Size:     64,
	Options:  "ICMP, 4 rounds, interval 1s, 64-byte packets, TTL 1-30",
}

// hostileNames gives names that break formats written without escaping.
func hostileNames() Names {
	return mapNames(map[string]string{
		"198.18.0.2": `a&b<c>"d"|e,f*g_h`,
		"198.18.1.2": "it's <script>alert(1)</script>",
	})
}

type formatCase struct {
	name  string
	snap  stats.Snapshot
	names Names
	meta  Meta
	opts  Options
}

func formatCases(t *testing.T) []formatCase {
	lab := fakeLab(t, nil)
	v6 := testMeta
	v6.Target, v6.TargetIP, v6.Tests = "2001:db8:2::2", netip.MustParseAddr("2001:db8:2::2"), 2
	random := testMeta
	random.Pattern, random.TOS = 300, 0xb8
	return []formatCase{
		{"lab", lab, nil, testMeta, Options{LocalHost: "vm"}},
		{"lab names show ips", lab, labNames(), testMeta, Options{LocalHost: "vm", ShowIPs: true}},
		{"every field", lab, nil, testMeta, Options{LocalHost: "vm", Fields: "LDRSNBAWVGJMXI"}},
		{"field order", lab, nil, testMeta, Options{LocalHost: "vm", Fields: "SR_ L"}},
		{"dead node", fakeDeadNode(t), nil, testMeta, Options{LocalHost: "vm"}},
		{"ecmp", fakeECMP(t), nil, testMeta, Options{LocalHost: "vm"}},
		{"ecmp wide", fakeECMP(t), labNames(), testMeta, Options{LocalHost: "vm", Wide: true}},
		{"icmp error", noRoute().snapshot(), nil, testMeta, Options{LocalHost: "vm"}},
		{"ipv6", fakeIPv6(t), nil, v6, Options{LocalHost: "vm"}},
		{"random pattern and tos", lab, nil, random, Options{LocalHost: "vm"}},
		{"hostile names", lab, hostileNames(), testMeta, Options{LocalHost: `host"&<x>`}},
		{"no hop answered", stats.Snapshot{}, nil, testMeta, Options{LocalHost: "vm"}},
	}
}

type writer func(w io.Writer, c formatCase) error

var formats = []struct {
	name, ext string
	write     writer
	check     func(t *testing.T, out []byte, c formatCase)
}{
	{"json", "json", func(w io.Writer, c formatCase) error { return JSON(w, c.snap, c.names, c.meta, c.opts) }, checkJSON},
	{"xml", "xml", func(w io.Writer, c formatCase) error { return XML(w, c.snap, c.names, c.meta, c.opts) }, checkXML},
	{"csv", "csv", func(w io.Writer, c formatCase) error { return CSV(w, c.snap, c.names, c.meta, c.opts, true) }, checkCSV},
	{"markdown", "md", func(w io.Writer, c formatCase) error { return Markdown(w, c.snap, c.names, c.meta, c.opts) }, checkMarkdown},
	{"html", "html", func(w io.Writer, c formatCase) error { return HTML(w, c.snap, c.names, c.meta, c.opts) }, checkHTML},
}

func TestFormatsGolden(t *testing.T) {
	cases := formatCases(t)
	for _, f := range formats {
		for _, c := range cases {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := f.write(&buf, c); err != nil {
					t.Fatal(err)
				}
				f.check(t, buf.Bytes(), c)
				golden(t, f.name+"-"+strings.ReplaceAll(c.name, " ", "-")+"."+f.ext, buf.Bytes())
			})
		}
	}
}

func TestFormatsRejectBadFields(t *testing.T) {
	for _, f := range formats {
		var buf bytes.Buffer
		err := f.write(&buf, formatCase{opts: Options{Fields: "LZ"}})
		if err == nil || !strings.Contains(err.Error(), "'Z'") {
			t.Errorf("%s: error %v, want one naming 'Z'", f.name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %q before failing", f.name, buf.String())
		}
	}
}

// wantHosts is the host text each format must show per hop.
func wantHosts(c formatCase) []string {
	var out []string
	for i := range c.snap.Hops {
		out = append(out, hostText(&c.snap.Hops[i], c.names, c.opts.ShowIPs))
	}
	return out
}

func titles(t *testing.T, o Options) []string {
	t.Helper()
	fields, err := o.fields()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range columns(fields) {
		out = append(out, f.Title)
	}
	return out
}

func checkJSON(t *testing.T, out []byte, c formatCase) {
	var doc struct {
		Report struct {
			Mtr  map[string]any   `json:"mtr"`
			Hubs []map[string]any `json:"hubs"`
		} `json:"report"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Report.Hubs == nil {
		t.Fatalf("no hubs array:\n%s", out)
	}
	if doc.Report.Mtr["dst"] != c.meta.Target || doc.Report.Mtr["src"] != c.opts.LocalHost {
		t.Errorf("mtr object %v", doc.Report.Mtr)
	}
	hosts := wantHosts(c)
	if len(doc.Report.Hubs) != len(hosts) {
		t.Fatalf("%d hubs, want %d", len(doc.Report.Hubs), len(hosts))
	}
	for i, hub := range doc.Report.Hubs {
		if hub["host"] != hosts[i] || hub["count"] != float64(c.snap.Hops[i].TTL) {
			t.Errorf("hub %d: count %v host %v, want %d %q", i, hub["count"], hub["host"], c.snap.Hops[i].TTL, hosts[i])
		}
		for _, title := range titles(t, c.opts) {
			if _, ok := hub[title].(float64); !ok {
				t.Errorf("hub %d: %q is %v, want a number", i, title, hub[title])
			}
		}
		addrs, _ := hub["addrs"].([]any)
		if len(addrs) != len(c.snap.Hops[i].Addrs) {
			t.Errorf("hub %d: %d addrs, want %d", i, len(addrs), len(c.snap.Hops[i].Addrs))
		}
	}
}

type xmlDoc struct {
	XMLName xml.Name `xml:"MTR"`
	Src     string   `xml:"SRC,attr"`
	Dst     string   `xml:"DST,attr"`
	Hubs    []struct {
		Count  int    `xml:"COUNT,attr"`
		Host   string `xml:"HOST,attr"`
		Values []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"HUB"`
}

func checkXML(t *testing.T, out []byte, c formatCase) {
	var doc xmlDoc
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	if doc.Src != c.opts.LocalHost || doc.Dst != c.meta.Target {
		t.Errorf("SRC %q DST %q", doc.Src, doc.Dst)
	}
	hosts := wantHosts(c)
	if len(doc.Hubs) != len(hosts) {
		t.Fatalf("%d hubs, want %d", len(doc.Hubs), len(hosts))
	}
	want := titles(t, c.opts)
	for i, h := range doc.Hubs {
		if h.Host != hosts[i] || h.Count != c.snap.Hops[i].TTL {
			t.Errorf("hub %d: %d %q, want %d %q", i, h.Count, h.Host, c.snap.Hops[i].TTL, hosts[i])
		}
		var got []string
		for _, v := range h.Values {
			got = append(got, v.XMLName.Local)
		}
		for j := range want {
			want[j] = strings.TrimSuffix(want[j], "%")
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("hub %d elements %v, want %v", i, got, want)
		}
	}
}

func checkCSV(t *testing.T, out []byte, c formatCase) {
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = 0 // every record as long as the header
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV with uneven records: %v\n%s", err, out)
	}
	hosts := wantHosts(c)
	rows := recs[1:]
	if !c.opts.Wide && len(rows) != len(hosts) {
		t.Fatalf("%d rows, want %d", len(rows), len(hosts))
	}
	number := regexp.MustCompile(`^\d+(\.\d\d)?$`)
	for _, row := range rows {
		for _, v := range row[6:] {
			if !number.MatchString(v) {
				t.Errorf("value %q in row %v is not mtr's %%d or %%.2f", v, row)
			}
		}
	}
}

func checkMarkdown(t *testing.T, out []byte, c formatCase) {
	var n int
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "|") {
			continue
		}
		cells := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(l, -1)) - 1
		if n == 0 {
			n = cells
		}
		if cells != n {
			t.Errorf("line %q has %d cells, the header %d", l, cells, n)
		}
	}
	if n != len(titles(t, c.opts))+2 {
		t.Errorf("table has %d columns", n)
	}
}

func checkHTML(t *testing.T, out []byte, c formatCase) {
	cells, err := htmlTable(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]string{"Hop", "Host"}, titles(t, c.opts)...); strings.Join(cells[0], "|") != strings.Join(want, "|") {
		t.Errorf("header %v, want %v", cells[0], want)
	}
	var hosts []string
	for _, r := range cells[1:] {
		if r[0] != "" { // rows of further addresses have no hop number
			hosts = append(hosts, strings.TrimSuffix(r[1], " (no route to host)"))
		}
	}
	if strings.Join(hosts, "\n") != strings.Join(wantHosts(c), "\n") {
		t.Errorf("hosts %q, want %q", hosts, wantHosts(c))
	}
}

// htmlTable parses a page and returns the text of the cells of its table, row by row.
func htmlTable(page []byte) ([][]string, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, err
	}
	var rows [][]string
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			var row []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
					row = append(row, text(c))
				}
			}
			rows = append(rows, row)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return rows, nil
}

func TestJSONCarriesMPLSLabelsWithE(t *testing.T) {
	target := netip.MustParseAddr("198.18.2.2")
	hop := netip.MustParseAddr("198.18.0.2")
	p := stats.NewPath(target, 1, 30)
	p.Sent(1, 1)
	p.Reply(1, 1, hop, time.Millisecond, "")
	p.MPLS(1, hop, []stats.Label{{Label: 24001, TC: 0, TTL: 1}, {Label: 16, TC: 5, S: true, TTL: 1}})
	for _, on := range []bool{false, true} {
		var buf bytes.Buffer
		if err := JSON(&buf, p.Snapshot(), nil, Meta{Target: "t"}, Options{MPLS: on}); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Report struct {
				Hubs []struct {
					Addrs []struct {
						MPLS []struct{ Label, TC, S, TTL int } `json:"mpls"`
					} `json:"addrs"`
				} `json:"hubs"`
			} `json:"report"`
		}
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("%v\n%s", err, buf.String())
		}
		got := doc.Report.Hubs[0].Addrs[0].MPLS
		if !on {
			if got != nil {
				t.Errorf("without -e: mpls %v", got)
			}
			continue
		}
		if len(got) != 2 || got[0].Label != 24001 || got[1].Label != 16 || got[1].TC != 5 || got[1].S != 1 || got[0].S != 0 {
			t.Errorf("with -e: mpls %+v\n%s", got, buf.String())
		}
	}
}
