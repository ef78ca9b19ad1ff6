package report

import (
	"bytes"
	"strings"
	"testing"
)

// -E keeps the latest responders of a load-balanced hop: with ecmp's hop 2 answered by .1.2,
// .100.2 and .1.3 in that order, -E 2 lists .1.3 (on the row) and .100.2, not .1.2 (named ae-12.core1…); the text
// report, Markdown and HTML agree, and JSON and CSV still list all three.
func TestMaxDisplayPath(t *testing.T) {
	snap := ecmp().snapshot()
	o := Options{Fields: "LS", MaxPath: 2}
	var m Meta
	for name, write := range map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return Text(b, snap, labNames(), o) },
		"markdown": func(b *bytes.Buffer) error { return Markdown(b, snap, labNames(), m, o) },
		"html":     func(b *bytes.Buffer) error { return HTML(b, snap, labNames(), m, o) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := b.String()
		if !strings.Contains(out, "198.18.1.3") || !strings.Contains(out, "198.18.100.2") {
			t.Errorf("%s: the two latest responders are missing:\n%s", name, out)
		}
		if strings.Contains(out, "198.18.1.2") || strings.Contains(out, "ae-12.core1") {
			t.Errorf("%s: a third address shown with -E 2:\n%s", name, out)
		}
	}
	o.MaxPath = 1
	var b bytes.Buffer
	if err := Text(&b, snap, labNames(), o); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "198.18.100.2") {
		t.Errorf("-E 1 lists a second address:\n%s", b.String())
	}
	o.MaxPath = 0
	b.Reset()
	if err := Text(&b, snap, labNames(), o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "ae-12.core1") {
		t.Errorf("without -E an address is missing:\n%s", b.String())
	}
}
