package report

import (
	"bytes"
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

// lossyPath: hop 2 rate-limits (20 of 100 lost, hop 3 loses none), hop 4 never answers, real
// loss of 10 % starts at hop 5 and reaches the destination. 100 probes per hop, lost ones spread
// evenly.
func lossyPath() stats.Snapshot {
	p := stats.NewPath(netip.MustParseAddr("198.18.5.2"), 1, 30)
	hops := []struct {
		addr string
		lost int
		ms   float64
	}{{"198.18.0.2", 0, 0.5}, {"198.18.1.2", 20, 1.0}, {"198.18.2.2", 0, 1.5}, {"", 100, 0}, {"198.18.4.2", 10, 2.5}, {"198.18.5.2", 10, 3.0}}
	seq := uint16(0)
	for i, hp := range hops {
		for k := range 100 {
			seq++
			p.Sent(i+1, seq)
			if hp.lost*(k+1)/100 > hp.lost*k/100 || hp.addr == "" {
				continue
			}
			rtt := time.Duration((hp.ms + 0.1*float64(k%3)) * float64(time.Millisecond))
			p.Reply(i+1, seq, netip.MustParseAddr(hp.addr), rtt, "")
		}
	}
	p.Finish()
	return p.Snapshot()
}

// analysisCase is the lossy path with an AS name that would break each format unescaped.
func analysisCase() formatCase {
	s := lossyPath()
	a := analyze.Analyze(analyze.Input{
		Snapshot: s,
		AS:       map[netip.Addr]analyze.ASInfo{netip.MustParseAddr("198.18.4.2"): {ASN: 64501, Name: "</SUMMARY><script>x</script>&\"*|_\x1b[2J"}},
		Local:    netip.MustParseAddr("198.18.0.1"),
	})
	m := testMeta
	m.Target, m.TargetIP = "198.18.5.2", s.Target
	return formatCase{name: "analysis", snap: s, meta: m, opts: Options{LocalHost: "vm", Analysis: &a}}
}

func TestAnalysisPath(t *testing.T) {
	// The path says what the formats below are expected to carry.
	c := analysisCase()
	var kinds []string
	for _, f := range c.opts.Analysis.Findings {
		kinds = append(kinds, f.Kind.String())
	}
	if strings.Join(kinds, " ") != "loss-starts rate-limited rate-limited" {
		t.Fatalf("findings %v", kinds)
	}
}

func TestAnalysisText(t *testing.T) {
	c := analysisCase()
	var buf bytes.Buffer
	if err := Text(&buf, c.snap, nil, c.opts); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	var plainOpts = c.opts
	plainOpts.Analysis = nil
	var table bytes.Buffer
	if err := Text(&table, c.snap, nil, plainOpts); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, table.String()+"\nAnalysis:\n") {
		t.Errorf("the analysis does not follow the unchanged table:\n%s", out)
	}
	if strings.ContainsRune(out, 0x1b) {
		t.Errorf("control character from the network reached the terminal")
	}
	if !strings.Contains(out, "\nConclusion: Problem: Real loss starts at hop 5 (198.18.4.2)") ||
		!strings.Contains(out, "\nReverse path: on the far end, run: mtr -r -c 100 198.18.0.1\n") {
		t.Errorf("no conclusion or reverse command:\n%s", out)
	}
	golden(t, "analysis.golden", buf.Bytes())
}

func TestAnalysisFormats(t *testing.T) {
	c := analysisCase()
	a := c.opts.Analysis
	for _, f := range formats {
		if f.name == "csv" {
			continue // CSV has no place for it; the CLI refuses --analyze with -C
		}
		t.Run(f.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := f.write(&buf, c); err != nil {
				t.Fatal(err)
			}
			f.check(t, buf.Bytes(), c)
			out := buf.Bytes()
			switch f.name {
			case "json":
				checkJSONAnalysis(t, out, a)
			case "xml":
				checkXMLAnalysis(t, out, a)
			case "html":
				checkHTMLAnalysis(t, out, a)
			case "markdown":
				if !bytes.Contains(out, []byte("&lt;script&gt;")) || bytes.Contains(out, []byte("<script>")) {
					t.Errorf("AS name not escaped:\n%s", out)
				}
				if !bytes.Contains(out, []byte("**Conclusion:** "+mdEscape(a.Conclusion)+"\n")) {
					t.Errorf("no conclusion:\n%s", out)
				}
			}
			golden(t, f.name+"-analysis."+f.ext, out)
		})
	}
}

func checkJSONAnalysis(t *testing.T, out []byte, a *analyze.Analysis) {
	var doc struct {
		Report struct {
			Analysis struct {
				Conclusion string  `json:"conclusion"`
				Reverse    *string `json:"reverse"`
				Findings   []struct {
					Kind       string  `json:"kind"`
					Hops       []int   `json:"hops"`
					Settled    bool    `json:"settled"`
					Confidence float64 `json:"confidence"`
					Contact    string  `json:"contact"`
					Evidence   []struct {
						Hop  int     `json:"hop"`
						Loss float64 `json:"loss"`
						Low  float64 `json:"loss_low"`
						High float64 `json:"loss_high"`
					} `json:"evidence"`
				} `json:"findings"`
				Regions []struct {
					Hop    int    `json:"hop"`
					Region string `json:"region"`
				} `json:"regions"`
			} `json:"analysis"`
		} `json:"report"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	got := doc.Report.Analysis
	if got.Conclusion != a.Conclusion || got.Reverse == nil || *got.Reverse != a.Reverse {
		t.Errorf("conclusion %q reverse %v", got.Conclusion, got.Reverse)
	}
	if len(got.Findings) != len(a.Findings) || len(got.Regions) != 6 {
		t.Fatalf("%d findings, %d regions", len(got.Findings), len(got.Regions))
	}
	f := got.Findings[0]
	// Hop 5 lost 10 of 100: 10 %, Wilson 95 % interval: centre 0.119207/1.038415, half-width
	// 0.061857/1.038415, so 5.523-17.437 %.
	if f.Kind != "loss-starts" || len(f.Hops) != 2 || f.Hops[0] != 5 || f.Hops[1] != 6 || !f.Settled ||
		f.Evidence[0].Hop != 5 || f.Evidence[0].Loss != 10 || f.Evidence[0].Low != 5.523 || f.Evidence[0].High != 17.437 {
		t.Errorf("first finding %+v", f)
	}
	if !strings.Contains(f.Contact, "<script>x</script>") {
		t.Errorf("contact %q lost the AS name", f.Contact)
	}
	if got.Regions[0].Region != "local" || got.Regions[2].Region != "backbone" ||
		got.Regions[3].Region != "unknown" || got.Regions[5].Region != "destination" {
		t.Errorf("regions %+v", got.Regions)
	}
}

func checkXMLAnalysis(t *testing.T, out []byte, a *analyze.Analysis) {
	var doc struct {
		Analysis struct {
			Conclusion string `xml:"CONCLUSION,attr"`
			Reverse    string `xml:"REVERSE,attr"`
			Findings   []struct {
				Kind     string `xml:"KIND,attr"`
				Hops     string `xml:"HOPS,attr"`
				Summary  string `xml:"SUMMARY"`
				Contact  string `xml:"CONTACT"`
				Evidence []struct {
					Hop  int    `xml:"HOP,attr"`
					Loss string `xml:"LOSS,attr"`
				} `xml:"EVIDENCE"`
			} `xml:"FINDING"`
		} `xml:"ANALYSIS"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	got := doc.Analysis
	if got.Conclusion != a.Conclusion || got.Reverse != a.Reverse || len(got.Findings) != len(a.Findings) {
		t.Fatalf("analysis element %+v", got)
	}
	f := got.Findings[0]
	if f.Kind != "loss-starts" || f.Hops != "5 6" || f.Summary != a.Findings[0].Summary || f.Contact != a.Findings[0].Contact ||
		len(f.Evidence) != 2 || f.Evidence[0].Loss != "10" {
		t.Errorf("first finding %+v", f)
	}
}

func checkHTMLAnalysis(t *testing.T, out []byte, a *analyze.Analysis) {
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var items, scripts int
	var conclusion string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "li":
				items++
			case "script":
				scripts++
			case "p":
				for _, at := range n.Attr {
					if at.Key == "id" && at.Val == "conclusion" {
						conclusion = n.LastChild.Data
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if items != len(a.Findings) || scripts != 0 {
		t.Errorf("%d findings listed, %d script elements", items, scripts)
	}
	if conclusion != " "+a.Conclusion {
		t.Errorf("conclusion %q", conclusion)
	}
}
