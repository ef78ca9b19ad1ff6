package report

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// XML writes mtr 0.95's --xml document: <MTR> with SRC, DST, TOS (hex), PSIZE, BITPATTERN and
// TESTS attributes, a <HUB COUNT= HOST=> per hop holding one element per -o field (the spacer
// skipped, Loss% named Loss) whose text is the report's printf output, leading spaces included,
// and the same indentation. Unlike mtr, attribute values and text are XML-escaped, so a name
// with & or a quote still gives a well-formed document. With o.Reverse a <REVERSE SRC= DST=>
// element follows, holding the reverse trace's hubs, its ERROR attribute saying why it is
// missing or short, and with --analyze its <ANALYSIS DIRECTION="return">.
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
	xmlHubs(bw, "    ", s, names, o, fields)
	if o.Analysis != nil {
		writeXMLAnalysis(bw, "    ", "", o.Analysis)
	}
	if r := o.Reverse; r != nil {
		fmt.Fprintf(bw, "    <REVERSE SRC=\"%s\" DST=\"%s\"", escape(r.responder()), addrAttrOf(r.Target))
		if r.Err != "" {
			fmt.Fprintf(bw, " ERROR=\"%s\"", escape(r.reason()))
		}
		bw.WriteString(">\n")
		xmlHubs(bw, "        ", r.Snapshot, r.Names, reverseOptions(o), fields)
		if r.Analysis != nil {
			writeXMLAnalysis(bw, "        ", "return", r.Analysis)
		}
		bw.WriteString("    </REVERSE>\n")
	}
	for _, l := range o.Joint {
		fmt.Fprintf(bw, "    <BOTH>%s</BOTH>\n", escape(l))
	}
	bw.WriteString("</MTR>\n")
	return bw.Flush()
}

// xmlHubs writes a <HUB> per hop of s, indented by indent.
func xmlHubs(bw *bufio.Writer, indent string, s stats.Snapshot, names Names, o Options, fields []vocab.Field) {
	for i := range s.Hops {
		h := &s.Hops[i]
		fmt.Fprintf(bw, "%s<HUB COUNT=\"%d\" HOST=\"%s\">\n", indent, h.TTL, escape(hostText(h, names, o.ShowIPs)))
		for _, f := range fields {
			tag := strings.TrimSuffix(f.Title, "%")
			fmt.Fprintf(bw, "%s    <%s>%s</%s>\n", indent, tag, escape(f.Text(h)), tag)
		}
		bw.WriteString(indent + "</HUB>\n")
	}
}

func addrAttrOf(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return vocab.AddrText(a)
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
