package main

// Network-lab tests of the machine formats: mtr 0.95 (Debian mtr-tiny, /usr/bin/mtr) and mtr-go
// trace the same lab path, and each format is read from both by one parser written for mtr's
// output and compared field by field. ECMP is not covered: netlab has no multipath hop yet.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// labPath is one lab path traced by both programs, with the hosts mtr shows for it.
type labPath struct {
	name   string
	lab    *netlab.Lab
	target netip.Addr
	hosts  []string // what both must show, hop by hop (-n)
}

func formatPaths(t *testing.T) []labPath {
	clean := netlab.New(t, netlab.Spec{Routers: 4})
	dead := netlab.New(t, netlab.Spec{Routers: 5, Dead: 3})
	return []labPath{
		{"clean IPv4", clean, clean.Target4, addrs(clean.Hops4)},
		{"clean IPv6", clean, clean.Target6, addrs(clean.Hops6)},
		{"dead node", dead, dead.Target4, append(addrs(dead.Hops4[:3]), "???")},
	}
}

// hub is a hop as a parser of mtr's JSON reads it.
type hub struct {
	Count int
	Host  string
	Keys  []string          // field keys in document order
	Types map[string]string // key -> "int" | "real" | "string"
	Loss  float64
	Snt   int
}

func parseJSON(t *testing.T, out string) (mtr map[string]any, hubs []hub) {
	t.Helper()
	var doc struct {
		Report struct {
			Mtr  map[string]any    `json:"mtr"`
			Hubs []json.RawMessage `json:"hubs"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	for _, raw := range doc.Report.Hubs {
		h := hub{Types: map[string]string{}}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		dec.Token()
		for dec.More() {
			k, _ := dec.Token()
			key := k.(string)
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			h.Keys = append(h.Keys, key)
			switch v := v.(type) {
			case json.Number:
				h.Types[key] = "int"
				if strings.ContainsAny(v.String(), ".e") {
					h.Types[key] = "real"
				}
				f, _ := v.Float64()
				switch key {
				case "count":
					h.Count = int(f)
				case "Loss%":
					h.Loss = f
				case "Snt":
					h.Snt = int(f)
				}
			case string:
				h.Types[key] = "string"
				if key == "host" {
					h.Host = v
				}
			default:
				h.Types[key] = fmt.Sprintf("%T", v)
			}
		}
		hubs = append(hubs, h)
	}
	return doc.Report.Mtr, hubs
}

func TestLabJSONMatchesMtr(t *testing.T) {
	t.Parallel() // labs of its own; run beside the other format comparisons (CI time)
	for _, p := range formatPaths(t) {
		t.Run(p.name, func(t *testing.T) {
			args := []string{"--json", "-n", "-c", "3", "-i", "0.2", "-o", "LDRSNBAWVGJMXI", p.target.String()}
			mtrHead, mtrHubs := parseJSON(t, run(t, p.lab, "mtr", args...))
			goHead, goHubs := parseJSON(t, run(t, p.lab, binary(t), args...))
			for k, v := range mtrHead {
				if goHead[k] != v {
					t.Errorf("mtr.%s: mtr %v, mtr-go %v", k, v, goHead[k])
				}
			}
			if goHead["dst_ip"] != p.target.String() {
				t.Errorf("dst_ip %v", goHead["dst_ip"])
			}
			checkHubs(t, "mtr", mtrHubs, p)
			checkHubs(t, "mtr-go", goHubs, p)
			for i := range min(len(mtrHubs), len(goHubs)) {
				m, g := mtrHubs[i], goHubs[i]
				if !slices.Equal(g.Keys[:min(len(m.Keys), len(g.Keys))], m.Keys) {
					t.Errorf("hub %d keys: mtr %v, mtr-go %v", i, m.Keys, g.Keys)
				}
				for k, typ := range m.Types {
					if g.Types[k] != typ {
						t.Errorf("hub %d %q: mtr has a %s, mtr-go a %s", i, k, typ, g.Types[k])
					}
				}
			}
		})
	}
}

func checkHubs(t *testing.T, who string, hubs []hub, p labPath) {
	t.Helper()
	var hosts []string
	for i, h := range hubs {
		hosts = append(hosts, h.Host)
		if h.Count != i+1 || h.Snt != 3 {
			t.Errorf("%s hub %d: count %d Snt %d, want %d 3", who, i, h.Count, h.Snt, i+1)
		}
		if want := map[bool]float64{true: 100, false: 0}[h.Host == "???"]; h.Loss != want {
			t.Errorf("%s hub %d: loss %v, want %v", who, i, h.Loss, want)
		}
	}
	if !slices.Equal(hosts, p.hosts) {
		t.Errorf("%s hosts %v, want %v", who, hosts, p.hosts)
	}
}

// xmlMTR is mtr's XML as a parser reads it.
type xmlMTR struct {
	Attrs []xml.Attr `xml:",any,attr"`
	Hubs  []struct {
		Count  int    `xml:"COUNT,attr"`
		Host   string `xml:"HOST,attr"`
		Fields []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"HUB"`
}

func TestLabXMLMatchesMtr(t *testing.T) {
	t.Parallel() // labs of its own; run beside the other format comparisons (CI time)
	for _, p := range formatPaths(t) {
		t.Run(p.name, func(t *testing.T) {
			args := []string{"--xml", "-n", "-c", "3", "-i", "0.2", p.target.String()}
			var docs [2]xmlMTR
			for i, prog := range []string{"mtr", binary(t)} {
				out := run(t, p.lab, prog, args...)
				if err := xml.Unmarshal([]byte(out), &docs[i]); err != nil {
					t.Fatalf("%s: XML: %v\n%s", prog, err, out)
				}
			}
			m, g := docs[0], docs[1]
			if fmt.Sprint(m.Attrs) != fmt.Sprint(g.Attrs) {
				t.Errorf("MTR attributes: mtr %v, mtr-go %v", m.Attrs, g.Attrs)
			}
			if len(m.Hubs) != len(g.Hubs) || len(g.Hubs) != len(p.hosts) {
				t.Fatalf("HUBs: mtr %d, mtr-go %d, want %d", len(m.Hubs), len(g.Hubs), len(p.hosts))
			}
			for i := range g.Hubs {
				mh, gh := m.Hubs[i], g.Hubs[i]
				if mh.Count != gh.Count || mh.Host != gh.Host || gh.Host != p.hosts[i] {
					t.Errorf("HUB %d: mtr %d %s, mtr-go %d %s", i, mh.Count, mh.Host, gh.Count, gh.Host)
				}
				for j := range min(len(mh.Fields), len(gh.Fields)) {
					mf, gf := mh.Fields[j], gh.Fields[j]
					// Same element and the same printf width (times may differ by a tenth).
					if mf.XMLName != gf.XMLName || len(mf.Text) != len(gf.Text) {
						t.Errorf("HUB %d field %d: mtr <%s>%q, mtr-go <%s>%q", i, j, mf.XMLName.Local, mf.Text, gf.XMLName.Local, gf.Text)
					}
				}
				if len(mh.Fields) != len(gh.Fields) {
					t.Errorf("HUB %d: %d fields vs %d", i, len(mh.Fields), len(gh.Fields))
				}
			}
		})
	}
}

var (
	intRE   = regexp.MustCompile(`^\d+$`)
	fixedRE = regexp.MustCompile(`^\d+\.\d\d$`)
)

func TestLabCSVMatchesMtr(t *testing.T) {
	t.Parallel() // labs of its own; run beside the other format comparisons (CI time)
	for _, p := range formatPaths(t) {
		t.Run(p.name, func(t *testing.T) {
			args := []string{"--csv", "-n", "-c", "3", "-i", "0.2", "-o", "LS NABWVD", p.target.String()}
			var recs [2][][]string
			for i, prog := range []string{"mtr", binary(t)} {
				out := run(t, p.lab, prog, args...)
				r := csv.NewReader(strings.NewReader(out))
				r.FieldsPerRecord = -1 // mtr's header has one field more than its rows
				var err error
				if recs[i], err = r.ReadAll(); err != nil {
					t.Fatalf("%s: CSV: %v\n%s", prog, err, out)
				}
			}
			m, g := recs[0], recs[1]
			if want := m[0][:len(m[0])-1]; !slices.Equal(g[0], want) || m[0][len(m[0])-1] != "" {
				t.Errorf("header: mtr %q, mtr-go %q", m[0], g[0])
			}
			if len(m) != len(g) || len(g)-1 != len(p.hosts) {
				t.Fatalf("rows: mtr %d, mtr-go %d, want %d", len(m)-1, len(g)-1, len(p.hosts))
			}
			for i := 1; i < len(g); i++ {
				if len(g[i]) != len(g[0]) {
					t.Errorf("mtr-go row %d has %d fields, header %d", i, len(g[i]), len(g[0]))
				}
				for j := range min(len(m[i]), len(g[i])) {
					mc, gc := m[i][j], g[i][j]
					switch {
					case j == 1: // Start_Time: unix seconds
						if !intRE.MatchString(gc) {
							t.Errorf("row %d Start_Time %q", i, gc)
						}
					case j < 6 || j == 7: // version, status, target, hop, host, Snt
						if mc != gc {
							t.Errorf("row %d col %s: mtr %q, mtr-go %q", i, g[0][j], mc, gc)
						}
					case fixedRE.MatchString(mc) != fixedRE.MatchString(gc) || intRE.MatchString(mc) != intRE.MatchString(gc):
						t.Errorf("row %d col %s: number format mtr %q, mtr-go %q", i, g[0][j], mc, gc)
					}
				}
			}
		})
	}
}

// splitLast reads split output: the last line per hop, and checks every line's tokens.
func splitLast(t *testing.T, who, out string, tokens int) map[int][]string {
	t.Helper()
	last := map[int][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 1 && strings.HasPrefix(f[0], "-") {
			n, _ := strconv.Atoi(f[0][1:])
			delete(last, n)
			continue
		}
		if len(f) != tokens {
			t.Errorf("%s: split line %q has %d tokens, want %d", who, l, len(f), tokens)
			continue
		}
		for _, n := range f[tokens-6:] {
			if !intRE.MatchString(n) {
				t.Errorf("%s: %q: %q is not an integer", who, l, n)
			}
		}
		hop, err := strconv.Atoi(f[0])
		if err != nil {
			t.Errorf("%s: split line %q", who, l)
		}
		last[hop] = f
	}
	return last
}

// runOpenStdin runs a program with a stdin that stays open until it exits: mtr 0.95's split
// mode spins forever at end of input (its issue #231).
func runOpenStdin(t *testing.T, lab *netlab.Lab, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := lab.Command(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &stdout, &stderr
	err = cmd.Run()
	r.Close()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return stdout.String()
}

func TestLabSplitMatchesMtr(t *testing.T) {
	t.Parallel() // labs of its own; run beside the other format comparisons (CI time)
	for _, p := range formatPaths(t) {
		for _, showIPs := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s -b=%v", p.name, showIPs), func(t *testing.T) {
				args := []string{"-p", "-n", "-c", "3", "-i", "0.2", p.target.String()}
				tokens := 8
				if showIPs {
					args, tokens = append([]string{"-b"}, args...), 9
				}
				m := splitLast(t, "mtr", runOpenStdin(t, p.lab, "mtr", args...), tokens)
				g := splitLast(t, "mtr-go", runOpenStdin(t, p.lab, binary(t), args...), tokens)
				for i, host := range p.hosts {
					if host == "???" { // never written by either
						if m[i+1] != nil || g[i+1] != nil {
							t.Errorf("hop %d: mtr %v, mtr-go %v, want no line", i+1, m[i+1], g[i+1])
						}
						continue
					}
					want := []string{strconv.Itoa(i + 1), host}
					if showIPs {
						want = append(want, host)
					}
					want = append(want, "0", "3", "3")
					for who, lines := range map[string]map[int][]string{"mtr": m, "mtr-go": g} {
						if f := lines[i+1]; len(f) < len(want) || !slices.Equal(f[:len(want)], want) {
							t.Errorf("%s hop %d: last line %v, want it to start %v", who, i+1, f, want)
						}
					}
				}
				if len(g) != len(m) {
					t.Errorf("hops written: mtr %d, mtr-go %d", len(m), len(g))
				}
			})
		}
	}
}

// TestLabSplitEndsWithClosedStdin is the cron/nohup case: stdin at end of file, -c given.
func TestLabSplitEndsWithClosedStdin(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 4})
	start := time.Now()
	out := run(t, lab, binary(t), "-p", "-n", "-c", "5", "-i", "0.1", lab.Target4.String()) // stdin: /dev/null
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
	last := splitLast(t, "mtr-go", out, 8)
	for i, host := range addrs(lab.Hops4) {
		if f := last[i+1]; f == nil || f[1] != host || f[3] != "5" || f[4] != "5" {
			t.Errorf("hop %d: %v, want %s with 5 of 5 answered\n%s", i+1, f, host, out)
		}
	}
}

// rawEvents reads raw output: per hop the addresses of its h lines, the seqs of x and p lines.
type rawEvents struct {
	addrs    map[int][]string
	sent     map[string]int // seq -> hop
	answered int
	firstSeq string
}

func parseRaw(t *testing.T, who, out string) rawEvents {
	t.Helper()
	r := rawEvents{addrs: map[int][]string{}, sent: map[string]int{}}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		want := map[string]int{"x": 3, "h": 3, "p": 4, "d": 3}[f[0]]
		if want == 0 || len(f) != want {
			t.Errorf("%s: raw line %q", who, l)
			continue
		}
		hop, err := strconv.Atoi(f[1])
		if err != nil || hop < 0 {
			t.Errorf("%s: raw line %q: bad hop", who, l)
		}
		switch f[0] {
		case "x":
			if r.firstSeq == "" {
				r.firstSeq = f[2]
			}
			r.sent[f[2]] = hop
		case "h":
			if !slices.Contains(r.addrs[hop], f[2]) {
				r.addrs[hop] = append(r.addrs[hop], f[2])
			}
		case "p":
			if h, ok := r.sent[f[3]]; !ok || h != hop || !intRE.MatchString(f[2]) {
				t.Errorf("%s: %q answers no probe of hop %d (or its RTT is not µs)", who, l, hop)
			}
			r.answered++
		}
	}
	return r
}

func TestLabRawMatchesMtr(t *testing.T) {
	t.Parallel() // labs of its own; run beside the other format comparisons (CI time)
	for _, p := range formatPaths(t) {
		t.Run(p.name, func(t *testing.T) {
			args := []string{"-l", "-n", "-c", "3", "-i", "0.2", p.target.String()}
			m := parseRaw(t, "mtr", run(t, p.lab, "mtr", args...))
			g := parseRaw(t, "mtr-go", run(t, p.lab, binary(t), args...))
			if m.firstSeq != "33000" || g.firstSeq != "33000" {
				t.Errorf("first seq: mtr %s, mtr-go %s, want 33000", m.firstSeq, g.firstSeq)
			}
			// Hops are 0-based in both; mtr also shows the hops its first round probes past
			// the destination, so only the path itself is compared.
			for i, host := range p.hosts {
				want := []string{host}
				if host == "???" {
					want = nil
				}
				if !slices.Equal(m.addrs[i], want) || !slices.Equal(g.addrs[i], want) {
					t.Errorf("hop %d addresses: mtr %v, mtr-go %v, want %v", i, m.addrs[i], g.addrs[i], want)
				}
			}
			for hop := range g.addrs {
				if hop >= len(p.hosts) {
					t.Errorf("mtr-go shows hop %d beyond the path: %v", hop, g.addrs[hop])
				}
			}
			if g.answered == 0 {
				t.Error("mtr-go: no p lines")
			}
		})
	}
}

// reportHosts is the host column of mtr's text report.
func reportHosts(t *testing.T, lab *netlab.Lab, target netip.Addr) []string {
	return mtrgo(t, lab, "-r", "-n", "-c", "2", "-i", "0.1", target.String()).hosts()
}

func TestLabMarkdownTable(t *testing.T) {
	for _, p := range formatPaths(t) {
		t.Run(p.name, func(t *testing.T) {
			out := run(t, p.lab, binary(t), "--markdown", "-n", "-c", "2", "-i", "0.1", p.target.String())
			if !strings.Contains(out, p.target.String()) || !strings.Contains(out, "**Start:**") {
				t.Errorf("no target or start time:\n%s", out)
			}
			var hosts []string
			for _, l := range strings.Split(out, "\n") {
				cells := strings.Split(strings.Trim(l, "| "), " | ")
				if !strings.HasPrefix(l, "| ") || len(cells) != 2+7 {
					continue
				}
				if _, err := strconv.Atoi(cells[0]); err == nil {
					hosts = append(hosts, cells[1])
				}
			}
			if !slices.Equal(hosts, p.hosts) || !slices.Equal(hosts, reportHosts(t, p.lab, p.target)) {
				t.Errorf("table hosts %v, want %v\n%s", hosts, p.hosts, out)
			}
		})
	}
}

// TestLabHTMLInChromium opens the page in headless Chromium and reads the table back from the
// DOM Chromium built, so what is checked is what a browser shows.
func TestLabHTMLInChromium(t *testing.T) {
	netlab.Require(t, netlab.Tool("chromium", "chromium"))
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range formatPaths(t) {
		t.Run(p.name, func(t *testing.T) {
			out := run(t, p.lab, binary(t), "--html", "-n", "-c", "2", "-i", "0.1", p.target.String())
			dir := t.TempDir()
			page := filepath.Join(dir, "report.html")
			if err := os.WriteFile(page, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// Chromium runs in the host namespace but only opens a local file; the flags keep it
			// from reaching for the network on its own (updates, sync, background fetches).
			cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
				"--disable-background-networking", "--no-first-run", "--disable-component-update",
				"--disable-sync", "--disable-dev-shm-usage", "--user-data-dir="+filepath.Join(dir, "profile"),
				"--dump-dom", "file://"+page)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			dom, err := cmd.Output()
			if err != nil {
				t.Fatalf("chromium: %v\n%s", err, stderr.String())
			}
			rows := domTable(t, dom)
			if len(rows) == 0 || !slices.Equal(rows[0][:2], []string{"Hop", "Host"}) {
				t.Fatalf("no report table in the DOM:\n%s", dom)
			}
			var hosts []string
			for _, r := range rows[1:] {
				hosts = append(hosts, r[1])
				if len(r) != len(rows[0]) {
					t.Errorf("row %v has %d cells, header %d", r, len(r), len(rows[0]))
				}
			}
			if !slices.Equal(hosts, p.hosts) {
				t.Errorf("hosts in the browser %v, want %v", hosts, p.hosts)
			}
			if !bytes.Contains(dom, []byte(`<title>mtr-go report: `+p.target.String())) {
				t.Errorf("title missing")
			}
		})
	}
}

func domTable(t *testing.T, dom []byte) [][]string {
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
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
	return rows
}

// TestLabECMPHopInEveryFormat: a path with a hop balanced over two routers parses in every format
// and the hop shows the balanced routers' addresses only. ICMP echo probes of one run share one
// flow, so the kernel sends them all one way: seeing both addresses needs per-probe flows (UDP or
// TCP probes), which is not asserted here.
func TestLabECMPHopInEveryFormat(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5, ECMP: 2})
	both := []string{lab.Hops4[2].String(), lab.Parallel4.String()}
	slices.Sort(both)
	target := lab.Target4.String()

	_, hubs := parseJSON(t, run(t, lab, binary(t), "--json", "-n", "-c", "20", "-i", "0.05", target))
	if len(hubs) != len(lab.Hops4) {
		t.Fatalf("%d hubs, want %d", len(hubs), len(lab.Hops4))
	}
	var doc struct {
		Report struct {
			Hubs []struct {
				Addrs []struct{ IP string } `json:"addrs"`
			} `json:"hubs"`
		} `json:"report"`
	}
	out := run(t, lab, binary(t), "--json", "-n", "-c", "20", "-i", "0.05", target)
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range doc.Report.Hubs[2].Addrs {
		got = append(got, a.IP)
	}
	if len(got) == 0 || !isSubset(got, both) {
		t.Errorf("hop 3 addrs %v, want some of %v\n%s", got, both, out)
	}

	csvOut := run(t, lab, binary(t), "-w", "--csv", "-n", "-c", "20", "-i", "0.05", target)
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll() // also checks equal field counts
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, csvOut)
	}
	var hop3 []string
	for _, r := range recs[1:] {
		if r[4] == "3" {
			hop3 = append(hop3, r[5])
		}
	}
	if len(hop3) == 0 || !isSubset(hop3, both) {
		t.Errorf("-w CSV rows of hop 3: %v, want some of %v\n%s", hop3, both, csvOut)
	}

	var x xmlMTR
	if err := xml.Unmarshal([]byte(run(t, lab, binary(t), "--xml", "-n", "-c", "5", "-i", "0.05", target)), &x); err != nil || len(x.Hubs) != len(lab.Hops4) {
		t.Errorf("XML: %v, %d hubs", err, len(x.Hubs))
	}
	last := splitLast(t, "mtr-go", runOpenStdin(t, lab, binary(t), "-p", "-n", "-c", "5", "-i", "0.05", target), 8)
	if f := last[3]; f == nil || !slices.Contains(both, f[1]) {
		t.Errorf("split hop 3: %v, want one of %v", f, both)
	}
}

func isSubset(a, of []string) bool {
	for _, x := range a {
		if !slices.Contains(of, x) {
			return false
		}
	}
	return true
}
