package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// svgNodes parses an HTML page and returns its <svg> element, and whether the page holds
// anything active or external: a script, an event handler, a link or a foreign object.
func svgNodes(t *testing.T, page []byte) (svg *html.Node, active []string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "svg":
				if svg == nil {
					svg = n
				}
			case "script", "foreignObject", "foreignobject", "iframe", "img", "link", "image", "use":
				active = append(active, "<"+n.Data+">")
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") || a.Key == "href" || a.Key == "src" || strings.HasSuffix(a.Key, ":href") {
					active = append(active, n.Data+" "+a.Key)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return svg, active
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// hopGroup returns the chart's group for ttl and the elements in it.
func hopGroup(svg *html.Node, id string) []*html.Node {
	var found []*html.Node
	var walk func(n *html.Node, in bool)
	walk = func(n *html.Node, in bool) {
		if n.Type == html.ElementNode && attr(n, "id") == id {
			in = true
		}
		if in && n.Type == html.ElementNode {
			found = append(found, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, in)
		}
	}
	walk(svg, false)
	return found
}

func byClass(nodes []*html.Node, class string) []*html.Node {
	var out []*html.Node
	for _, n := range nodes {
		if attr(n, "class") == class {
			out = append(out, n)
		}
	}
	return out
}

// TestHTMLChart checks the chart of the analysis case against numbers worked out by hand: the
// scale's top is 4 ms (the largest Wrst, 3.2 ms, rounded up to 4), so 1 ms is 77.5 units of the
// 310-unit plot that starts at x=280; a loss bar is 90 units at 100 %.
func TestHTMLChart(t *testing.T) {
	c := analysisCase()
	var b bytes.Buffer
	if err := HTML(&b, c.snap, c.names, c.meta, c.opts); err != nil {
		t.Fatal(err)
	}
	svg, active := svgNodes(t, b.Bytes())
	if svg == nil {
		t.Fatal("no <svg> in the page")
	}
	if len(active) > 0 {
		t.Errorf("the page holds active or external parts: %v", active)
	}
	tests := []struct {
		ttl             int
		rangeX, rangeW  string // "" when the hop never answered
		lossW           string // "" when no loss
		marks           []string
		label, lossText string
		noAnswer        bool
	}{
		{1, "318.8", "15.5", "", nil, "1. 198.18.0.2", "0.0%", false},                      // 0.5-0.7 ms
		{2, "357.5", "15.5", "18", []string{"mark-note"}, "2. 198.18.1.2", "20.0%", false}, // 1.0-1.2 ms, 20 %
		{4, "", "", "90", []string{"mark-note"}, "4. ???", "100.0%", true},
		{5, "473.8", "15.5", "9", []string{"mark-problem"}, "5. 198.18.4.2", "10.0%", false}, // 2.5-2.7 ms
		{6, "512.5", "15.5", "9", []string{"mark-problem"}, "6. 198.18.5.2", "10.0%", false},
	}
	for _, tc := range tests {
		g := hopGroup(svg, "chart-hop-"+strconv.Itoa(tc.ttl))
		if len(g) == 0 {
			t.Errorf("hop %d: no group", tc.ttl)
			continue
		}
		ranges := byClass(g, "range")
		switch {
		case tc.rangeX == "" && len(ranges) != 0:
			t.Errorf("hop %d: a range drawn for a hop that never answered", tc.ttl)
		case tc.rangeX != "" && (len(ranges) != 1 || attr(ranges[0], "x") != tc.rangeX || attr(ranges[0], "width") != tc.rangeW):
			t.Errorf("hop %d: range %v, want x=%s width=%s", tc.ttl, attrs(ranges), tc.rangeX, tc.rangeW)
		}
		loss := byClass(g, "loss")
		if (tc.lossW == "") != (len(loss) == 0) || len(loss) == 1 && attr(loss[0], "width") != tc.lossW {
			t.Errorf("hop %d: loss bar %v, want width %q", tc.ttl, attrs(loss), tc.lossW)
		}
		var marks []string
		for _, n := range g {
			if strings.HasPrefix(attr(n, "class"), "mark-") {
				marks = append(marks, attr(n, "class"))
			}
		}
		if strings.Join(marks, ",") != strings.Join(tc.marks, ",") {
			t.Errorf("hop %d: marks %v, want %v", tc.ttl, marks, tc.marks)
		}
		var texts []string
		for _, n := range g {
			if n.Data == "text" && n.FirstChild != nil {
				texts = append(texts, n.FirstChild.Data)
			}
		}
		want := []string{tc.label, tc.lossText}
		if tc.noAnswer {
			want = []string{tc.label, "no answer", tc.lossText}
		}
		if strings.Join(texts, "|") != strings.Join(want, "|") {
			t.Errorf("hop %d: texts %q, want %q", tc.ttl, texts, want)
		}
	}
	// The key names every finding, and the reverse table gets a chart of its own (golden files).
	for _, f := range c.opts.Analysis.Findings {
		if !bytes.Contains(b.Bytes(), []byte(">"+html.EscapeString(findingHead(f))+"</text>")) {
			t.Errorf("no key for %q", findingHead(f))
		}
	}
}

func attrs(ns []*html.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, "x="+attr(n, "x")+" width="+attr(n, "width"))
	}
	return out
}

// TestHTMLChartInChromium renders the analysis case's page in headless Chromium and reads the
// screenshot: it finds the chart by its legend swatch and checks, at the places the geometry
// puts them, the range bars, the loss bars against their grey track, and a problem mark.
func TestHTMLChartInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium")
	}
	c := analysisCase()
	var b bytes.Buffer
	if err := HTML(&b, c.snap, c.names, c.meta, c.opts); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page, shot := filepath.Join(dir, "report.html"), filepath.Join(dir, "shot.png")
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--force-device-scale-factor=1", "--window-size=900,800", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--screenshot="+shot, "file://"+page)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	blue := color.RGBA{0x9c, 0xc3, 0xe6, 0xff}
	red := color.RGBA{0xc0, 0x39, 0x2b, 0xff}
	grey := color.RGBA{0xee, 0xee, 0xee, 0xff}
	// The legend's swatch is the topmost, leftmost blue: SVG (280, 6).
	ox, oy, ok := findColor(img, blue)
	if !ok {
		t.Fatal("no range colour anywhere in the screenshot")
	}
	ox, oy = ox-280, oy-6
	mid := func(row int) int { return oy + chartTop + chartRow*row + chartRow/2 }
	checks := []struct {
		what string
		x, y int
		want color.RGBA
	}{
		{"hop 1's range (0.5-0.7 ms)", ox + 321, mid(0) - 2, blue},
		{"hop 1's Avg (0.6 ms)", ox + 326, mid(0) - 2, color.RGBA{0x1f, 0x4e, 0x79, 0xff}},
		{"left of hop 1's range", ox + 314, mid(0) - 2, color.RGBA{0xff, 0xff, 0xff, 0xff}},
		{"hop 2's loss bar (20 %)", ox + 610 + 9, mid(1), red},
		{"hop 2's loss track past 20 %", ox + 610 + 30, mid(1), grey},
		{"hop 4's loss bar (100 %)", ox + 610 + 85, mid(3), red},
		{"hop 1's loss track (0 %)", ox + 612, mid(0), grey},
		{"hop 5's range (2.5-2.7 ms)", ox + 476, mid(4) - 2, blue},
		{"hop 5's problem mark", ox + 7, mid(4) + 2, red},
	}
	for _, ck := range checks {
		if got := img.At(ck.x, ck.y); !near(got, ck.want) {
			t.Errorf("%s at (%d, %d): %v, want %v", ck.what, ck.x, ck.y, got, ck.want)
		}
	}
}

// findColor returns the first pixel of c, row by row from the top.
func findColor(img image.Image, c color.RGBA) (x, y int, ok bool) {
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if near(img.At(x, y), c) {
				return x, y, true
			}
		}
	}
	return 0, 0, false
}

// near allows the few units a renderer's colour management may move a colour.
func near(a color.Color, b color.RGBA) bool {
	r, g, bl, _ := a.RGBA()
	d := func(x uint32, y uint8) int { return max(int(x>>8)-int(y), int(y)-int(x>>8)) }
	return d(r, b.R) <= 6 && d(g, b.G) <= 6 && d(bl, b.B) <= 6
}
