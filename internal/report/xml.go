package report

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/mtr-go/mtr-go/stats"
)

// XML writes mtr 0.95's --xml document: <MTR> with SRC, DST, TOS (hex), PSIZE, BITPATTERN and
// TESTS attributes, a <HUB COUNT= HOST=> per hop holding one element per -o field (the spacer
// skipped, Loss% named Loss) whose text is the report's printf output, leading spaces included,
// and the same indentation. Unlike mtr, attribute values and text are XML-escaped, so a name
// with & or a quote still gives a well-formed document.
func XML(w io.Writer, s stats.Snapshot, names Names, m Meta, o Options) error {
	fields, err := o.fields()
	if err != nil {
		return err
	}
	fields = columns(fields)
	bw := bufio.NewWriter(w)
	bw.WriteString("<?xml version=\"1.0\"?>\n")
	fmt.Fprintf(bw, "<MTR SRC=\"%s\" DST=\"%s\" TOS=\"0x%X\" PSIZE=\"%d\" BITPATTERN=\"%s\" TESTS=\"%d\">\n",
		escape(o.LocalHost), escape(m.Target), m.TOS, m.Size, escape(m.bitPattern()), m.Tests)
	for i := range s.Hops {
		h := &s.Hops[i]
		fmt.Fprintf(bw, "    <HUB COUNT=\"%d\" HOST=\"%s\">\n", h.TTL, escape(hostText(h, names, o.ShowIPs)))
		for _, f := range fields {
			tag := strings.TrimSuffix(f.Title, "%")
			fmt.Fprintf(bw, "        <%s>%s</%s>\n", tag, escape(f.Text(h)), tag)
		}
		bw.WriteString("    </HUB>\n")
	}
	if o.Analysis != nil {
		writeXMLAnalysis(bw, o.Analysis)
	}
	bw.WriteString("</MTR>\n")
	return bw.Flush()
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
