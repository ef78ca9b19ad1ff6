package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/stats"
)

// returnPath is the far end's trace back to the client, 198.18.0.1: three routers the forward
// path does not use, the second losing 30 of 100 probes and passing that loss on.
func returnPath() stats.Snapshot {
	p := stats.NewPath(netip.MustParseAddr("198.18.0.1"), 1, 30)
	hops := []struct {
		addr string
		lost int
		ms   float64
	}{{"198.18.3.1", 0, 0.4}, {"198.18.7.1", 30, 0.9}, {"198.18.6.1", 30, 1.3}, {"198.18.0.1", 30, 1.8}}
	seq := uint16(0)
	for i, hp := range hops {
		for k := range 100 {
			seq++
			p.Sent(i+1, seq)
			if hp.lost*(k+1)/100 > hp.lost*k/100 {
				continue
			}
			rtt := time.Duration((hp.ms + 0.1*float64(k%3)) * float64(time.Millisecond))
			p.Reply(i+1, seq, netip.MustParseAddr(hp.addr), rtt, "")
		}
	}
	p.Finish()
	return p.Snapshot()
}

func returnNames() Names {
	return mapNames(map[string]string{"198.18.7.1": "return-only.lab.test"})
}

// reverseOK is a finished reverse trace.
func reverseOK() *Reverse {
	return &Reverse{Responder: "dest.lab.test", Target: netip.MustParseAddr("198.18.0.1"), Snapshot: returnPath(), Names: returnNames()}
}

// reverseCases are the reverse parts every format must carry: complete, cut short, never there,
// and one whose text from the network would break a format written without escaping.
func reverseCases(t *testing.T) []formatCase {
	lab := fakeLab(t, nil)
	short := reverseOK()
	short.Err = "the responder stopped after 40 of 100 rounds: connection reset"
	hostile := reverseOK()
	hostile.Responder = "r<&>\"|*_\x1b[2J"
	hostile.Err = "bad </REVERSE> \"news\"\n& more"
	withOpts := func(r *Reverse) Options { return Options{LocalHost: "vm", Reverse: r} }
	return []formatCase{
		{"reverse", lab, nil, testMeta, withOpts(reverseOK())},
		{"reverse cut short", lab, nil, testMeta, withOpts(short)},
		{"reverse unreachable", lab, nil, testMeta,
			withOpts(&Reverse{Err: `cannot reach the responder at https://198.18.3.2:9100: connection refused`})},
		{"reverse hostile", lab, nil, testMeta, withOpts(hostile)},
	}
}

func TestReverseText(t *testing.T) {
	for _, c := range reverseCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Text(&buf, c.snap, c.names, c.opts); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			// The forward part is the report without --reverse, byte for byte.
			fwd := c.opts
			fwd.Reverse = nil
			var plain bytes.Buffer
			if err := Text(&plain, c.snap, c.names, fwd); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, plain.String()+"\n") {
				t.Errorf("the reverse part does not follow the unchanged forward table:\n%s", out)
			}
			if strings.ContainsRune(out, 0x1b) {
				t.Errorf("a control character from the network reached the terminal:\n%q", out)
			}
			r := c.opts.Reverse
			if r.hasTable() {
				rest := strings.TrimPrefix(out, plain.String()+"\n")
				want := "Reverse: from " + strings.ReplaceAll(r.Responder, "\x1b", "") + " to 198.18.0.1 (your address as the responder sees it)\nHOST: "
				if !strings.HasPrefix(rest, want) {
					t.Errorf("reverse part starts %q, want %q", rest, want)
				}
				checkAligned(t, reverseTable(rest))
			}
			if r.Err != "" && !strings.Contains(out, "\nReverse: ") {
				t.Errorf("no line says why the reverse part is missing:\n%s", out)
			}
			golden(t, strings.ReplaceAll(c.name, " ", "-")+".golden", buf.Bytes())
		})
	}
}

// reverseTable is the HOST: line and hop rows that follow the reverse heading.
func reverseTable(rest string) string {
	lines := strings.Split(rest, "\n")[1:]
	n := 0
	for n < len(lines) && (strings.HasPrefix(lines[n], "HOST: ") || strings.HasPrefix(lines[n], " ")) {
		n++
	}
	return strings.Join(lines[:n], "\n") + "\n"
}

func TestReverseFormats(t *testing.T) {
	for _, f := range formats {
		for _, c := range reverseCases(t) {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := f.write(&buf, c); err != nil {
					t.Fatal(err)
				}
				out := buf.Bytes()
				// The forward part is unchanged: the document without --reverse is where this
				// one's reverse part is cut out.
				fwd := c
				fwd.opts.Reverse = nil
				var plain bytes.Buffer
				if err := f.write(&plain, fwd); err != nil {
					t.Fatal(err)
				}
				checkReverse[f.name](t, out, plain.Bytes(), c.opts.Reverse)
				golden(t, f.name+"-"+strings.ReplaceAll(c.name, " ", "-")+"."+f.ext, out)
			})
		}
	}
}

var checkReverse = map[string]func(t *testing.T, out, plain []byte, r *Reverse){
	"json": func(t *testing.T, out, plain []byte, r *Reverse) {
		var doc struct {
			Report struct {
				Hubs    []json.RawMessage `json:"hubs"`
				Reverse *struct {
					Responder string            `json:"responder"`
					Target    *string           `json:"target"`
					Hubs      []json.RawMessage `json:"hubs"`
					Error     *string           `json:"error"`
				} `json:"reverse"`
			} `json:"report"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		rev := doc.Report.Reverse
		if rev == nil {
			t.Fatalf("no reverse object:\n%s", out)
		}
		if rev.Responder != r.responder() || len(rev.Hubs) != len(r.Snapshot.Hops) {
			t.Errorf("responder %q with %d hubs, want %q with %d", rev.Responder, len(rev.Hubs), r.Responder, len(r.Snapshot.Hops))
		}
		if r.hasTable() != (rev.Target != nil) || rev.Target != nil && *rev.Target != r.Target.String() {
			t.Errorf("target %v, want %v", rev.Target, r.Target)
		}
		if (r.Err == "") != (rev.Error == nil) || rev.Error != nil && *rev.Error != r.reason() {
			t.Errorf("error %v, want %q", rev.Error, r.Err)
		}
		checkPrefix(t, out, plain, len("\n    }\n}\n"))
	},
	"xml": func(t *testing.T, out, plain []byte, r *Reverse) {
		var doc struct {
			Hubs    []xmlHub `xml:"HUB"`
			Reverse struct {
				Src   string   `xml:"SRC,attr"`
				Dst   string   `xml:"DST,attr"`
				Error string   `xml:"ERROR,attr"`
				Hubs  []xmlHub `xml:"HUB"`
			} `xml:"REVERSE"`
		}
		if err := xml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("not XML: %v\n%s", err, out)
		}
		rev := doc.Reverse
		if rev.Src != r.responder() || rev.Error != r.reason() || len(rev.Hubs) != len(r.Snapshot.Hops) {
			t.Errorf("REVERSE SRC %q ERROR %q with %d hubs, want %q, %q, %d", rev.Src, rev.Error, len(rev.Hubs), r.Responder, r.Err, len(r.Snapshot.Hops))
		}
		checkPrefix(t, out, plain, len("</MTR>\n"))
	},
	"csv": func(t *testing.T, out, plain []byte, r *Reverse) {
		recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("CSV with uneven records: %v\n%s", err, out)
		}
		fwd, _ := csv.NewReader(bytes.NewReader(plain)).ReadAll()
		var rows [][]string
		for _, rec := range recs[len(fwd):] {
			if rec[3] != r.Target.String() {
				t.Errorf("reverse row %v has Host %q, want %s", rec, rec[3], r.Target)
			}
			rows = append(rows, rec)
		}
		if want := len(r.Snapshot.Hops); !r.hasTable() && len(rows) != 0 || r.hasTable() && len(rows) != want {
			t.Errorf("%d reverse rows, want %d", len(rows), want)
		}
		checkPrefix(t, out, plain, 0)
	},
	"markdown": func(t *testing.T, out, plain []byte, r *Reverse) {
		if r.hasTable() && !bytes.Contains(out, []byte("\n#### "+mdEscape(r.heading())+"\n\n| Hop | Host |")) {
			t.Errorf("no reverse heading and table:\n%s", out)
		}
		if r.Err != "" && !bytes.Contains(out, []byte("\n**Reverse:** "+mdEscape(r.reason())+"\n")) {
			t.Errorf("no line says why:\n%s", out)
		}
		if bytes.ContainsRune(out, 0x1b) {
			t.Errorf("control character from the network:\n%q", out)
		}
		checkPrefix(t, out, plain, 0)
	},
	"html": func(t *testing.T, out, plain []byte, r *Reverse) {
		cells, err := htmlTableByID(out, "reverse-report")
		if err != nil {
			t.Fatal(err)
		}
		if r.hasTable() && len(cells) != 1+len(r.Snapshot.Hops) {
			t.Errorf("reverse table has %d rows, want %d", len(cells), 1+len(r.Snapshot.Hops))
		}
		if !r.hasTable() && cells != nil {
			t.Errorf("a reverse table without a reverse trace")
		}
		if bytes.Contains(out, []byte("</REVERSE>")) || bytes.Contains(out, []byte("<&>")) {
			t.Errorf("text from the network not escaped:\n%s", out)
		}
		checkPrefix(t, out, plain, len("</body>\n</html>\n"))
	},
}

// checkPrefix asserts that out is plain with something inserted tail bytes before plain's end:
// the forward part of the document did not change.
func checkPrefix(t *testing.T, out, plain []byte, tail int) {
	t.Helper()
	head, end := plain[:len(plain)-tail], plain[len(plain)-tail:]
	if !bytes.HasPrefix(out, head) || !bytes.HasSuffix(out, end) || len(out) <= len(plain) && tail > 0 {
		t.Errorf("the forward part changed:\n%s\nwithout --reverse:\n%s", out, plain)
	}
}

type xmlHub struct {
	Count int    `xml:"COUNT,attr"`
	Host  string `xml:"HOST,attr"`
}

// htmlTableByID is the rows of the page's table with id, nil when there is none.
func htmlTableByID(page []byte, id string) ([][]string, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, err
	}
	var found *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "table" {
			for _, a := range n.Attr {
				if a.Key == "id" && a.Val == id {
					found = n
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		return nil, nil
	}
	var b bytes.Buffer
	if err := html.Render(&b, found); err != nil {
		return nil, err
	}
	return htmlTable(b.Bytes())
}

// With --analyze each direction's findings are labelled, and the joint conclusion's lines follow
// as they are given.
func TestReverseAnalysisText(t *testing.T) {
	c := analysisCase()
	r := reverseOK()
	ra := analyze.Analyze(analyze.Input{Snapshot: r.Snapshot})
	r.Analysis = &ra
	c.opts.Reverse = r
	c.opts.Joint = []string{"Both directions: loss starts at return-only.lab.test, on the return path.", "Why: \x1b[2Jits answers cross it"}
	var buf bytes.Buffer
	if err := Text(&buf, c.snap, nil, c.opts); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	fwdAt := strings.Index(out, "\nAnalysis, forward:\n")
	retAt := strings.Index(out, "\nAnalysis, return:\n")
	bothAt := strings.Index(out, "\n\nBoth directions: loss starts at return-only.lab.test, on the return path.\nWhy: [2Jits answers cross it\n")
	if fwdAt < 0 || retAt < fwdAt || bothAt < retAt || strings.Contains(out, "\nAnalysis:\n") {
		t.Errorf("directions not labelled in order forward, return, both:\n%s", out)
	}
	if fwdAt < strings.Index(out, "\nReverse: from ") {
		t.Errorf("the analyses come before the reverse table:\n%s", out)
	}
	golden(t, "reverse-analysis.golden", buf.Bytes())

	for _, f := range formats {
		if f.name == "csv" {
			continue
		}
		var buf bytes.Buffer
		if err := f.write(&buf, c); err != nil {
			t.Fatal(err)
		}
		golden(t, f.name+"-reverse-analysis."+f.ext, buf.Bytes())
	}
}

func TestReverseHostName(t *testing.T) {
	for in, want := range map[string]string{
		"far.example.net (192.0.2.7)":   "far.example.net",
		"far.example.net (2001:db8::7)": "far.example.net",
		"far.example.net":               "far.example.net",
		"lab (not an address)":          "lab (not an address)",
		"(192.0.2.7)":                   "(192.0.2.7)",
		"x\x1b[2J (192.0.2.7)":          "x[2J",
	} {
		if got := (&Reverse{Responder: in}).hostName(); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// TestReverseHeadingNamesTheNAT: when the responder saw another address than the one this host
// connected from, a NAT stands between, and the heading says so with both addresses; the same
// address, or none known, keeps the plain heading.
func TestReverseHeadingNamesTheNAT(t *testing.T) {
	nat := netip.MustParseAddr("198.18.1.1")
	tests := []struct {
		local netip.Addr
		want  string
	}{
		{netip.MustParseAddr("198.18.0.1"), "Reverse: from dest.lab.test to 198.18.1.1 (your address as the responder sees it: a NAT's, in front of this host's 198.18.0.1)"},
		{nat, "Reverse: from dest.lab.test to 198.18.1.1 (your address as the responder sees it)"},
		{netip.Addr{}, "Reverse: from dest.lab.test to 198.18.1.1 (your address as the responder sees it)"},
	}
	for _, tc := range tests {
		r := &Reverse{Responder: "dest.lab.test", Target: nat, Local: tc.local}
		if got := r.heading(); got != tc.want {
			t.Errorf("local %v: %q, want %q", tc.local, got, tc.want)
		}
	}
}
