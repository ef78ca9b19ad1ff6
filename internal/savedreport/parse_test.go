package savedreport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/analyze"
)

func parseFile(t *testing.T, name string) *Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func head(a Analysis) string {
	if len(a.Findings) == 0 {
		return ""
	}
	return a.Findings[0].Kind.String() + " " + analyze.HopList(a.Findings[0].Hops)
}

// TestLabSamples reads mtr 0.95's own reports of the lab faults (made with ip netns exec ... mtr
// on netlab paths: see testdata/mtr095) and WinMTR samples written by WinMTR's layout, and checks
// the verdict each gets.
func TestLabSamples(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		hops   int
		first  string // first finding's kind and hops, "" for none
		concl  string // conclusion prefix
	}{
		{"mtr095/lab-clean-r.txt", MtrText, 6, "", "No problem found"},
		{"mtr095/lab-clean-wb.txt", MtrText, 6, "", "No problem found"},
		{"mtr095/lab-clean.json", MtrJSON, 6, "", "No problem found"},
		{"mtr095/lab-dead-r.txt", MtrText, 4, "interrupted 3", "Problem: No answer after hop 3 (198.18.2.2)"},
		{"mtr095/lab-dead-wb.txt", MtrText, 4, "interrupted 3", "Problem: No answer after hop 3 (198.18.2.2)"},
		{"mtr095/lab-dead.json", MtrJSON, 4, "interrupted 3", "Problem: No answer after hop 3 (198.18.2.2)"},
		{"mtr095/lab-silent-r.txt", MtrText, 6, "interrupted 5", "Problem: No answer after hop 5 (198.18.4.2)"},
		{"mtr095/lab-silent.json", MtrJSON, 6, "interrupted 5", "Problem: No answer after hop 5 (198.18.4.2)"},
		{"mtr095/lab-loop-r.txt", MtrText, 12, "routing-loop 3-4", "Problem: Routing loop from hop 3: 198.18.2.2, 198.18.3.2 repeat every 2 hops and the probes never reach <destination>."},
		{"mtr095/lab-loop.json", MtrJSON, 12, "routing-loop 3-4", "Problem: Routing loop from hop 3: 198.18.2.2, 198.18.3.2 repeat every 2 hops and the probes never reach 198.18.5.2."},
		{"mtr095/lab-reject-r.txt", MtrText, 4, "unreachable 4", "Problem: Hop 4 (198.18.2.2) answers \"unreachable (the report has no code)\""},
		{"mtr095/lab-reject.json", MtrJSON, 4, "unreachable 4", "Problem: Hop 4 (198.18.2.2) answers"},
		{"mtr095/lab-throttle2-loss4-mtr-o.txt", MtrText, 6, "loss-starts 4-6", "Not settled yet: Real loss starts at hop 4 (198.18.3.2)"},
		{"mtr095/lab-throttle2-loss4-mtr-rwb.txt", MtrText, 6, "loss-starts 4-6", "Problem: Real loss starts at hop 4 (198.18.3.2)"},
		{"mtr095/lab-throttle2-loss4-mtr-r.txt", MtrText, 6, "loss-starts 4-6", "Not settled yet: Real loss starts at hop 4 (r4.lab.test)"},
		// At 20 probes these two did not settle where the loss starts; the analysis says so.
		{"mtr095/lab-throttle2-loss4-mtr.json", MtrJSON, 6, "loss-starts 4-6", "Not settled yet: Real loss starts at hop 4 (r4.lab.test)"},
		{"mtr095/lab-throttle2-loss4-mtr-rz.txt", MtrText, 6, "loss-starts 4-6", "Not settled yet: Real loss starts at hop 4 (r4.lab.test)"},
		{"mtr095/lab-throttle2-loss4-mtr.csv", MtrCSV, 6, "loss-starts 4-6", "Not settled yet: Real loss starts at hop 4 (r4.lab.test)"},
		{"mtr095/lab-throttle2-loss4-mtr.xml", MtrXML, 6, "loss-starts 4-6", "Not settled yet: Real loss starts at hop 4 (r4.lab.test)"},
		{"mtr095/lab-throttle2-loss4-mtr-r6.txt", MtrText, 6, "loss-starts 4-6", "Not settled yet: Real loss starts at hop 4 (2001:db8:3::2)"},
		{"winmtr/loss-from-5.txt", WinMTRText, 7, "loss-starts 5, 7", "Problem: Real loss starts at hop 5 (203.0.113.9)"},
		{"winmtr/loss-from-5.html", WinMTRHTML, 7, "loss-starts 5, 7", "Problem: Real loss starts at hop 5 (203.0.113.9)"},
		{"winmtr/deprioritised.txt", WinMTRText, 5, "icmp-deprioritised 3", "No real problem on this path: the latency up at hop 3 is deprioritised ICMP."},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := parseFile(t, tt.file)
			if r.Format != tt.format || len(r.Rows) != tt.hops {
				t.Errorf("read as %s with %d hops, want %s with %d", r.Format, len(r.Rows), tt.format, tt.hops)
			}
			a := r.Analyze()
			if got := head(a); got != tt.first {
				t.Errorf("first finding %q, want %q", got, tt.first)
			}
			if !strings.HasPrefix(a.Conclusion, tt.concl) {
				t.Errorf("conclusion %q, want it to start %q", a.Conclusion, tt.concl)
			}
		})
	}
}

// TestRows checks the numbers each format's reader takes from a line, against the lines' text.
func TestRows(t *testing.T) {
	tests := []struct {
		file string
		ttl  int
		want Row
	}{
		// "  2.|-- 198.18.1.2                50.0%   10    10    20    0.1   0.0   0.1   0.1   0.0 ..."
		{"mtr095/lab-throttle2-loss4-mtr-o.txt", 2, Row{TTL: 2, Hosts: []string{"198.18.1.2"}, Sent: 20, Recv: 10, RecvExact: true, Last: 0.1, Avg: 0.1, Best: 0, Wrst: 0.1}},
		// "  4.|-- r4.lab.test (198.18.3.2)   25.0%    20    0.0   0.1   0.0   0.1   0.0"
		{"mtr095/lab-throttle2-loss4-mtr-rwb.txt", 4, Row{TTL: 4, Hosts: []string{"198.18.3.2"}, Sent: 20, Recv: 15, RecvExact: true, Avg: 0.1, Wrst: 0.1}},
		// "  5. AS???    r5.lab.test         10.0%    20    0.1   0.1   0.0   0.2   0.0"
		{"mtr095/lab-throttle2-loss4-mtr-rz.txt", 5, Row{TTL: 5, Hosts: []string{"r5.lab.test"}, Sent: 20, Recv: 18, RecvExact: true, Last: 0.1, Avg: 0.1, Wrst: 0.2}},
		{"mtr095/lab-throttle2-loss4-mtr.json", 4, Row{TTL: 4, Hosts: []string{"r4.lab.test"}, Sent: 20, Recv: 13, RecvExact: true, Last: 0.04, Avg: 0.07, Best: 0.04, Wrst: 0.124, StDev: 0.026}},
		{"mtr095/lab-throttle2-loss4-mtr.csv", 2, Row{TTL: 2, Hosts: []string{"r2.lab.test"}, Sent: 20, Recv: 8, RecvExact: true, Last: 0.08, Avg: 0.08, Best: 0.04, Wrst: 0.13, StDev: 0.03}},
		{"mtr095/lab-throttle2-loss4-mtr.xml", 6, Row{TTL: 6, Hosts: []string{"dest.lab.test"}, Sent: 20, Recv: 19, RecvExact: true, Last: 0.1, Avg: 0.1, Wrst: 0.2}},
		{"mtr095/lab-dead-r.txt", 4, Row{TTL: 4, Sent: 10, Recv: 0, RecvExact: true}},
		{"winmtr/loss-from-5.txt", 3, Row{TTL: 3, Hosts: []string{"ae1.cr1.example.net"}, Sent: 100, Recv: 63, RecvExact: true, Best: 10, Avg: 11, Wrst: 30, Last: 11}},
		{"winmtr/loss-from-5.html", 6, Row{TTL: 6, Sent: 100, Recv: 0, RecvExact: true}},
		// mtr-go's own reports: several addresses at one hop.
		{"mtrgo/ecmp-extra-addresses.txt", 2, Row{TTL: 2, Hosts: []string{"198.18.1.3", "198.18.100.2", "198.18.1.2"}, Sent: 3, Recv: 3, RecvExact: true, Last: 0.5, Avg: 0.5, Best: 0.4, Wrst: 0.5}},
		{"mtrgo/json-ecmp-wide.json", 2, Row{TTL: 2, Hosts: []string{"198.18.101.2", "198.18.1.2"}, Sent: 4, Recv: 4, RecvExact: true, Last: 0.5, Avg: 0.5, Best: 0.5, Wrst: 0.5}},
		{"mtrgo/json-ecmp-wide.json", 3, Row{TTL: 3, Hosts: []string{"198.18.3.2"}, Sent: 4, Recv: 4, RecvExact: true, Last: 0.909, Avg: 1.591, Best: 0.909, Wrst: 2.727, StDev: 0.87}},
		{"mtrgo/csv-ecmp-wide.csv", 2, Row{TTL: 2, Hosts: []string{"198.18.101.2", "ae-12.core1.fra.example-transit-provider.net"}, Sent: 4, Recv: 4, RecvExact: true, Last: 0.5, Avg: 0.5, Best: 0.5, Wrst: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := parseFile(t, tt.file)
			for _, row := range r.Rows {
				if row.TTL == tt.ttl {
					if !equalRow(row, tt.want) {
						t.Errorf("hop %d:\n got %+v\nwant %+v", tt.ttl, row, tt.want)
					}
					return
				}
			}
			t.Errorf("no hop %d in %+v", tt.ttl, r.Rows)
		})
	}
}

func equalRow(a, b Row) bool {
	return strings.Join(a.Hosts, " ") == strings.Join(b.Hosts, " ") && a.TTL == b.TTL && a.Sent == b.Sent &&
		a.Recv == b.Recv && a.RecvExact == b.RecvExact && a.Last == b.Last && a.Avg == b.Avg &&
		a.Best == b.Best && a.Wrst == b.Wrst && a.StDev == b.StDev
}

// TestErrors: malformed and truncated reports get one line naming where, never a guess.
func TestErrors(t *testing.T) {
	good := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	text := good("mtr095/lab-throttle2-loss4-mtr-r.txt")
	js := good("mtr095/lab-throttle2-loss4-mtr.json")
	xmlDoc := good("mtr095/lab-throttle2-loss4-mtr.xml")
	csvDoc := good("mtr095/lab-throttle2-loss4-mtr.csv")
	win := good("winmtr/loss-from-5.txt")
	winHTML := good("winmtr/loss-from-5.html")
	tests := []struct{ name, in, want string }{
		{"empty", " \n", "the report is empty"},
		{"text cut mid-line", text[:strings.Index(text, "  3.|--")+30], "mtr text report, line 5: 1 values for 7 columns (truncated?)"},
		{"text bad number", strings.Replace(text, "30.0%", "3x.0%", 1), "mtr text report, line 4: Loss% value \"3x.0%\" is not a number"},
		{"text no header", "  1.|-- 198.18.0.2  0.0%  10  0.1  0.1  0.1  0.1  0.0\n", "not a report mtr-go knows: no mtr \"HOST:\" header line"},
		{"text loss over 100", strings.Replace(text, "30.0%", "130.0%", 1), "line 4: loss 130% is outside 0-100"},
		{"text hops out of order", strings.Replace(text, "  3.|--", "  1.|--", 1), "line 5: hop 1 after hop 2"},
		{"text stray line", strings.Replace(text, "  3.|--", "hello world\n  3.|--", 1), "line 5: expected a hop line"},
		{"json cut", js[:len(js)/2], "mtr JSON, line "},
		{"json no snt", strings.Replace(js, `"Snt": 20,`, ``, 1), "mtr JSON, hub 1: no probe count"},
		{"xml cut", xmlDoc[:len(xmlDoc)/2], "mtr XML, line "},
		{"xml bad loss", strings.Replace(xmlDoc, "50.0%", "fifty", 1), "mtr XML, line 13: Loss value \"fifty\" is not a number"},
		{"csv cut", csvDoc[:strings.LastIndex(csvDoc, ",0.")], "mtr CSV, line 7: 13 fields for 15 columns (truncated?)"},
		{"csv bad hop", strings.Replace(csvDoc, "OK,198.18.5.2,3,", "OK,198.18.5.2,three,", 1), "mtr CSV, line 4: Hop value \"three\" is not a number"},
		{"winmtr cut", win[:strings.Index(win, "203.0.113.9")+20], "WinMTR text, line 9: 1 cells, want 7 (truncated?)"},
		{"winmtr recv above sent", strings.Replace(win, "|  100 |   63 |", "|  100 |  163 |", 1), "WinMTR text, line 7: counts sent 100, received 163 are impossible"},
		{"winmtr html cut", winHTML[:strings.Index(winHTML, "203.0.113.9")], "WinMTR HTML, line 9: the table ends early (truncated?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error; read %+v", r)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line holding %q", err, tt.want)
			}
		})
	}
}

// TestLimits: what a format lacks is said, and findings that would need it are not made.
func TestLimits(t *testing.T) {
	// 7 of 1200 lost prints as 0.6%, as do 8 of 1200: the count is not exact.
	r, err := Parse([]byte("HOST: a   Loss%   Snt   Last   Avg  Best  Wrst StDev\n  1.|-- 192.0.2.1   0.6%  1200   1.0   1.0   1.0   1.0   0.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Rows[0].RecvExact {
		t.Error("0.6% of 1200 read as an exact count")
	}
	if a := r.Analyze(); !strings.Contains(strings.Join(a.Limits, " "), "1 hops give only Loss% and Snt, rounded") {
		t.Errorf("limits %q do not say the count is rounded", a.Limits)
	}
	// A lone 300 ms answer among 1 ms ones is a spike with a StDev, and cannot be told without.
	withSD := "HOST: a   Loss%   Snt   Last   Avg  Best  Wrst StDev\n  1.|-- 192.0.2.1   0.0%   100   1.0   4.0   1.0 300.0  29.9\n"
	if a := mustParse(t, withSD).Analyze(); head(a) != "latency-spike 1" {
		t.Fatalf("with StDev: first finding %q, want a spike", head(a))
	}
	noSD := "HOST: a   Loss%   Snt   Last   Avg  Best  Wrst\n  1.|-- 192.0.2.1   0.0%   100   1.0   4.0   1.0 300.0\n"
	a := mustParse(t, noSD).Analyze()
	if head(a) != "" || !strings.Contains(strings.Join(a.Limits, " "), "No StDev column") {
		t.Errorf("without StDev: finding %q, limits %q", head(a), a.Limits)
	}
}

func mustParse(t *testing.T, s string) *Report {
	t.Helper()
	r, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNames: names from the file reach the sentences without control characters.
func TestNames(t *testing.T) {
	in := "HOST: a   Loss%   Snt   Last   Avg  Best  Wrst StDev\n" +
		"  1.|-- gw\x1b[2J.example   0.0%   10   1.0   1.0   1.0   1.0   0.0\n" +
		"  2.|-- ???   100.0   10   0.0   0.0   0.0   0.0   0.0\n"
	a := mustParse(t, in).Analyze()
	if !strings.Contains(a.Conclusion, "hop 1 (gw[2J.example)") || strings.ContainsRune(a.Conclusion, 0x1b) {
		t.Errorf("conclusion %q", a.Conclusion)
	}
}

// TestMtrGoFormats: mtr-go's own reports read back, the analysis in them made afresh.
func TestMtrGoFormats(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		first  string
		host1  string // hop 1's host, as written before escaping
	}{
		{"mtrgo/markdown-analysis.md", MtrGoMarkdown, "loss-starts 5-6", "198.18.0.2"},
		{"mtrgo/html-analysis.html", MtrGoHTML, "loss-starts 5-6", "198.18.0.2"},
		{"mtrgo/html-ecmp.html", MtrGoHTML, "load-balanced 2", "198.18.0.2"},
		{"mtrgo/markdown-hostile-names.md", MtrGoMarkdown, "rate-limited 2", `a&b<c>"d"|e,f*g_h`},
		{"mtrgo/csv-hostile-names.csv", MtrCSV, "rate-limited 2", `a&b<c>"d"|e,f*g_h`},
		{"mtrgo/jitter-set.txt", MtrText, "rate-limited 2", "198.18.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := parseFile(t, tt.file)
			if r.Format != tt.format || r.Rows[0].Hosts[0] != tt.host1 {
				t.Errorf("read as %s, hop 1 %q; want %s, %q", r.Format, r.Rows[0].Hosts, tt.format, tt.host1)
			}
			if got := head(r.Analyze()); got != tt.first {
				t.Errorf("first finding %q, want %q", got, tt.first)
			}
		})
	}
	// -o "DR...": no Snt, the counts make it.
	if r := parseFile(t, "mtrgo/jitter-set.txt"); r.Rows[1].Sent != 5 || r.Rows[1].Recv != 3 {
		t.Errorf("Drop 2, Rcv 3 read as sent %d, received %d", r.Rows[1].Sent, r.Rows[1].Recv)
	}
}

// TestNoSpread: an Avg rise with neither StDev nor Best and Wrst cannot be judged, and is not.
func TestNoSpread(t *testing.T) {
	withRange := "HOST: a   Loss%   Snt   Avg  Best  Wrst\n" +
		"  1.|-- 192.0.2.1   0.0%   100   1.0   0.9   1.1\n" +
		"  2.|-- 192.0.2.2   0.0%   100  90.0  89.0  91.0\n" +
		"  3.|-- 192.0.2.3   0.0%   100  91.0  90.0  92.0\n"
	if a := mustParse(t, withRange).Analyze(); head(a) != "latency-starts 2" {
		t.Fatalf("with Best and Wrst: first finding %q, want latency-starts 2", head(a))
	}
	avgOnly := "HOST: a   Loss%   Snt   Avg\n" +
		"  1.|-- 192.0.2.1   0.0%   100   1.0\n" +
		"  2.|-- 192.0.2.2   0.0%   100  90.0\n" +
		"  3.|-- 192.0.2.3   0.0%   100  91.0\n"
	a := mustParse(t, avgOnly).Analyze()
	if head(a) != "" || !strings.Contains(strings.Join(a.Limits, " "), "latency is not judged") {
		t.Errorf("Avg alone: finding %q, limits %q", head(a), a.Limits)
	}
}

// TestPasted: a report pasted into a ticket, with words before it and indented, reads as the file.
func TestPasted(t *testing.T) {
	b, err := os.ReadFile("testdata/mtr095/lab-dead-r.txt")
	if err != nil {
		t.Fatal(err)
	}
	pasted := "Hi, the site is down, here is my mtr:\n\n" + strings.ReplaceAll(string(b), "\n", "\r\n    ") + "Thanks.\n-- \nJo\n"
	if got := head(mustParse(t, pasted).Analyze()); got != "interrupted 3" {
		t.Errorf("first finding %q, want interrupted 3", got)
	}
}

// TestASFromReport: mtr -z's AS column places hops in the destination's network and names the
// AS to contact.
func TestASFromReport(t *testing.T) {
	in := "HOST: a                           Loss%   Snt   Last   Avg  Best  Wrst StDev\n" +
		"  1. AS64500  198.51.100.1         0.0%   100   1.0   1.0   0.9   1.2   0.1\n" +
		"  2. AS64502  198.51.100.9        20.0%   100   2.0   2.0   1.9   2.2   0.1\n" +
		"  3. AS64501  192.0.2.77          20.0%   100   3.0   3.0   2.9   3.2   0.1\n" +
		"  4. AS64501  203.0.113.5         20.0%   100   4.0   4.0   3.9   4.2   0.1\n"
	r := mustParse(t, in)
	if r.Rows[2].ASN != 64501 || r.Rows[1].ASN != 64502 {
		t.Fatalf("ASNs %d, %d", r.Rows[1].ASN, r.Rows[2].ASN)
	}
	a := r.Analyze()
	if head(a) != "loss-starts 2-4" || a.Findings[0].Contact != "the carrier that runs 198.51.100.9, AS64502" {
		t.Errorf("first finding %q, contact %q", head(a), a.Findings[0].Contact)
	}
	if a.Regions[2].Region != analyze.RegionDest {
		t.Errorf("hop 3 in region %v, want the destination's", a.Regions[2].Region)
	}
	// "AS???" is no AS.
	if r := mustParse(t, strings.ReplaceAll(in, "AS64501", "AS???")); r.Rows[2].ASN != 0 {
		t.Errorf("AS??? read as %d", r.Rows[2].ASN)
	}
}

// TestHostNamedLikeAnAS: with -b, a router whose name starts with "AS" keeps its name and address;
// only "AS<number>" or "AS???" is -z's column.
func TestHostNamedLikeAnAS(t *testing.T) {
	in := "Start: 2026-11-29T21:00:00+0000\n" +
		"HOST: vm                                  Loss%   Snt   Last   Avg  Best  Wrst StDev\n" +
		"  1.|-- ASR9K-1.isp.example (198.18.0.2)   0.0%    10    0.1   0.1   0.1   0.1   0.0\n" +
		"  2.|-- AS64500  r2.lab.test (198.18.1.2)   0.0%    10    0.1   0.1   0.1   0.1   0.0\n"
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Rows[0].Hosts; len(got) == 0 || got[0] != "198.18.0.2" && got[0] != "ASR9K-1.isp.example" {
		t.Errorf("hop 1 hosts %q, want the router's name or address, not an AS column", got)
	}
	if r.Rows[0].ASN != 0 {
		t.Errorf("hop 1 ASN %d, want none", r.Rows[0].ASN)
	}
	if r.Rows[1].ASN != 64500 {
		t.Errorf("hop 2 ASN %d, want 64500", r.Rows[1].ASN)
	}
}

// TestConclusionFollowsWhatTheFormatSupports: a report without StDev, Best or Wrst cannot judge
// latency, so the conclusion must not rest on a latency finding either (it did once: "Latency
// rises at hop 3" under a note that latency is not judged).
func TestConclusionFollowsWhatTheFormatSupports(t *testing.T) {
	in := "Start: 2026-11-29T21:00:00+0000\n" +
		"HOST: vm                          Loss%   Snt   Avg\n" +
		"  1.|-- 198.18.0.2                 0.0%    50   1.0\n" +
		"  2.|-- 198.18.1.2                 0.0%    50   1.1\n" +
		"  3.|-- 198.18.2.2                 0.0%    50  40.0\n" +
		"  4.|-- 198.18.3.2                 0.0%    50  41.0\n" +
		"  5.|-- 198.18.4.2                 0.0%    50  42.0\n"
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	a := r.Analyze()
	if len(a.Findings) != 0 || a.Conclusion != "No problem found on this path." || a.Reverse != "" {
		t.Errorf("findings %d, conclusion %q, reverse %q; want none, no problem, no reverse command", len(a.Findings), a.Conclusion, a.Reverse)
	}
}

// TestNoNameNoteForAnUnansweredEnd: an -n report whose path ends in ??? names no hop without its
// address; the destination stand-in must not say it does.
func TestNoNameNoteForAnUnansweredEnd(t *testing.T) {
	in := "Start: 2026-11-29T21:00:00+0000\n" +
		"HOST: vm                          Loss%   Snt   Last   Avg  Best  Wrst StDev\n" +
		"  1.|-- 198.18.0.2                 0.0%    10    0.1   0.1   0.1   0.1   0.0\n" +
		"  2.|-- 198.18.1.2                 0.0%    10    0.1   0.1   0.1   0.1   0.0\n" +
		"  3.|-- ???                       100.0    10    0.0   0.0   0.0   0.0   0.0\n"
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range r.Analyze().Limits {
		if strings.Contains(l, "named without their addresses") {
			t.Errorf("false note: %s", l)
		}
	}
}

// TestPastedWithANumberedListAfter: a ticket whose words after the report are a numbered list is
// still read; a damaged hop line after a stray line is still an error.
func TestPastedWithANumberedListAfter(t *testing.T) {
	table := "HOST: vm                          Loss%   Snt   Last   Avg  Best  Wrst StDev\n" +
		"  1.|-- 198.18.0.2                 0.0%    10    0.1   0.1   0.1   0.1   0.0\n" +
		"  2.|-- 198.18.1.2                 0.0%    10    0.1   0.1   0.1   0.1   0.0\n"
	r, err := Parse([]byte("Here is my mtr:\n" + table + "\nWhat I tried:\n1. Rebooted the modem\n2. Called the ISP\n"))
	if err != nil || len(r.Rows) != 2 {
		t.Fatalf("rows %v, err %v; want the 2 hops and the list ignored", r, err)
	}
	if _, err := Parse([]byte(table + "oops\n  3.|-- 198.18.2.2   0.0%    10    0.1   0.1   0.1   0.1   0.0\n")); err == nil {
		t.Error("a hop line after a stray line was accepted")
	}
}
