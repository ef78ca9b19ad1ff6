package report

import (
	"bufio"
	"fmt"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"html"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/mtr-go/mtr-go/internal/analyze"
)

// The analysis (--analyze) as each format carries it. Its text holds addresses and, once AS
// lookups fill analyze.Input.AS, AS names from DNS: untrusted, so every writer escapes it as it
// escapes host names, and the text report drops control characters.

// findingHead is "rate-limited, hop 2" or "loss-starts, hops 3-5, not settled (confidence 80%)".
func findingHead(f analyze.Finding) string {
	head := f.Kind.String()
	if len(f.Hops) == 1 {
		head += ", hop " + strconv.Itoa(f.Hops[0])
	} else if len(f.Hops) > 1 {
		head += ", hops " + analyze.HopList(f.Hops)
	}
	if !f.Settled {
		head += fmt.Sprintf(", not settled (confidence %.0f%%)", math.Floor(100*f.Confidence))
	}
	return head
}

// reverseText is the sentence around the reverse-path command.
const reverseText = "Reverse path: on the far end, run"

// writeTextAnalysis appends the analysis to the text report, one finding a paragraph.
func writeTextAnalysis(bw *bufio.Writer, title string, a *analyze.Analysis) {
	bw.WriteString("\n" + title + ":\n")
	for i, f := range a.Findings {
		fmt.Fprintf(bw, "%2d. [%s] %s\n", i+1, vocab.StripControl(findingHead(f)), vocab.StripControl(f.Summary))
		fmt.Fprintf(bw, "    Do: %s\n", vocab.StripControl(f.Action))
		if f.Contact != "" {
			fmt.Fprintf(bw, "    Contact: %s\n", vocab.StripControl(f.Contact))
		}
	}
	fmt.Fprintf(bw, "Conclusion: %s\n", vocab.StripControl(a.Conclusion))
	if a.Reverse != "" {
		fmt.Fprintf(bw, "%s: %s\n", reverseText, vocab.StripControl(a.Reverse))
	}
}

func writeMarkdownAnalysis(bw *bufio.Writer, title string, a *analyze.Analysis) {
	bw.WriteString("\n#### " + title + "\n\n")
	for _, f := range a.Findings {
		fmt.Fprintf(bw, "- **%s:** %s  \n  *Do:* %s", mdEscape(findingHead(f)), mdEscape(f.Summary), mdEscape(f.Action))
		if f.Contact != "" {
			fmt.Fprintf(bw, "  \n  *Contact:* %s", mdEscape(f.Contact))
		}
		bw.WriteString("\n")
	}
	if len(a.Findings) > 0 {
		bw.WriteString("\n")
	}
	fmt.Fprintf(bw, "**Conclusion:** %s\n", mdEscape(a.Conclusion))
	if a.Reverse != "" {
		fmt.Fprintf(bw, "\n%s: %s\n", reverseText, mdEscape(a.Reverse))
	}
}

// writeHTMLAnalysis writes one direction's analysis; ids of the return direction's elements
// end in "-return", so a page with both stays valid.
func writeHTMLAnalysis(bw *bufio.Writer, title, suffix string, a *analyze.Analysis) {
	esc := html.EscapeString
	fmt.Fprintf(bw, "<h2>%s</h2>\n", esc(title))
	if len(a.Findings) > 0 {
		fmt.Fprintf(bw, "<ol id=\"findings%s\">\n", suffix)
		for _, f := range a.Findings {
			class := "info"
			switch {
			case !f.Settled:
				class = "open"
			case f.Kind.Problem():
				class = "problem"
			}
			fmt.Fprintf(bw, "<li class=\"%s\" data-kind=\"%s\"><b>%s:</b> %s<br><i>Do:</i> %s",
				class, esc(f.Kind.String()), esc(findingHead(f)), esc(f.Summary), esc(f.Action))
			if f.Contact != "" {
				fmt.Fprintf(bw, "<br><i>Contact:</i> %s", esc(f.Contact))
			}
			bw.WriteString("</li>\n")
		}
		bw.WriteString("</ol>\n")
	}
	fmt.Fprintf(bw, "<p id=\"conclusion%s\"><b>Conclusion:</b> %s</p>\n", suffix, esc(a.Conclusion))
	if a.Reverse != "" {
		fmt.Fprintf(bw, "<p id=\"reverse%s\">%s: <code>%s</code></p>\n", suffix, reverseText, esc(a.Reverse))
	}
}

// writeXMLAnalysis writes the <ANALYSIS> element, indented as a <HUB> is by indent; direction,
// when set, labels it ("return" inside <REVERSE>).
func writeXMLAnalysis(bw *bufio.Writer, indent, direction string, a *analyze.Analysis) {
	fmt.Fprintf(bw, "%s<ANALYSIS", indent)
	if direction != "" {
		fmt.Fprintf(bw, " DIRECTION=\"%s\"", direction)
	}
	fmt.Fprintf(bw, " CONCLUSION=\"%s\"", escape(a.Conclusion))
	if a.Reverse != "" {
		fmt.Fprintf(bw, " REVERSE=\"%s\"", escape(a.Reverse))
	}
	bw.WriteString(">\n")
	for _, f := range a.Findings {
		fmt.Fprintf(bw, "%s    <FINDING KIND=\"%s\" HOPS=\"%s\" SETTLED=\"%t\" CONFIDENCE=\"%s\" MORE_PROBES=\"%d\">\n",
			indent, f.Kind, hopsAttr(f.Hops), f.Settled, frac(f.Confidence), f.MoreProbes)
		fmt.Fprintf(bw, "%s        <SUMMARY>%s</SUMMARY>\n", indent, escape(f.Summary))
		fmt.Fprintf(bw, "%s        <ACTION>%s</ACTION>\n", indent, escape(f.Action))
		if f.Contact != "" {
			fmt.Fprintf(bw, "%s        <CONTACT>%s</CONTACT>\n", indent, escape(f.Contact))
		}
		for _, e := range f.Evidence {
			fmt.Fprintf(bw, "%s        <EVIDENCE HOP=\"%d\" IP=\"%s\" REGION=\"%s\" SENT=\"%d\" LOST=\"%d\" LOSS=\"%s\" LOSS_LOW=\"%s\" LOSS_HIGH=\"%s\" AVG=\"%s\" BEST=\"%s\" WRST=\"%s\" STDEV=\"%s\"/>\n",
				indent, e.TTL, addrAttr(e), e.Region, e.Sent, e.Lost, frac(e.Loss), frac(e.LossLo), frac(e.LossHi),
				frac(e.Avg), frac(e.Best), frac(e.Wrst), frac(e.StDev))
		}
		bw.WriteString(indent + "    </FINDING>\n")
	}
	bw.WriteString(indent + "</ANALYSIS>\n")
}

func hopsAttr(hops []int) string {
	s := make([]string, len(hops))
	for i, h := range hops {
		s[i] = strconv.Itoa(h)
	}
	return strings.Join(s, " ")
}

func addrAttr(e analyze.HopStats) string {
	if !e.Addr.IsValid() {
		return ""
	}
	return vocab.AddrText(e.Addr)
}

// frac is a number with at most three decimals, as the machine formats carry measurements.
func frac(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// jsonAnalysis is the "analysis" object of the JSON document.
func jsonAnalysis(a *analyze.Analysis) object {
	findings := make([]object, 0, len(a.Findings))
	for _, f := range a.Findings {
		ev := make([]object, 0, len(f.Evidence))
		for _, e := range f.Evidence {
			ev = append(ev, object{
				{"hop", e.TTL}, {"ip", addrOrNull(e.Addr)}, {"region", e.Region.String()},
				{"sent", e.Sent}, {"lost", e.Lost}, {"loss", rounded(e.Loss)},
				{"loss_low", rounded(e.LossLo)}, {"loss_high", rounded(e.LossHi)},
				{"avg", rounded(e.Avg)}, {"best", rounded(e.Best)}, {"wrst", rounded(e.Wrst)}, {"stdev", rounded(e.StDev)},
			})
		}
		fo := object{
			{"kind", f.Kind.String()}, {"hops", f.Hops}, {"settled", f.Settled},
			{"confidence", rounded(f.Confidence)}, {"more_probes", f.MoreProbes},
			{"summary", f.Summary}, {"action", f.Action},
		}
		if f.Contact != "" {
			fo = append(fo, member{"contact", f.Contact})
		}
		findings = append(findings, append(fo, member{"evidence", ev}))
	}
	regions := make([]object, 0, len(a.Regions))
	for _, r := range a.Regions {
		regions = append(regions, object{{"hop", r.TTL}, {"ip", addrOrNull(r.Addr)}, {"region", r.Region.String()}})
	}
	var reverse any
	if a.Reverse != "" {
		reverse = a.Reverse
	}
	return object{
		{"conclusion", a.Conclusion}, {"reverse", reverse}, {"findings", findings}, {"regions", regions},
	}
}

func rounded(v float64) real { return real(math.Round(v*1000) / 1000) }

// AnalysisText writes the analysis alone, as the text report ends with it (for a saved report
// read back with --analyze FILE).
func AnalysisText(w io.Writer, a *analyze.Analysis) error {
	bw := bufio.NewWriter(w)
	writeTextAnalysis(bw, "Analysis", a)
	return bw.Flush()
}
