package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFormatsMatchRealMtr compares our machine formats with output captured from mtr 0.95
// (Debian mtr-tiny) on a host named "vm", to 127.0.0.1 (named localhost) and ::1:
//
//	mtr --json -n -c 2 127.0.0.1 > mtr-real.json
//	mtr --json -b -o LDRSNBAWVGJMXI -c 2 127.0.0.1 > mtr-real-all.json
//	mtr --xml -n -c 2 127.0.0.1 > mtr-real.xml
//	mtr --xml -n -o LDRSNBAWVGJMXI -c 2 127.0.0.1 > mtr-real-all.xml
//	mtr --csv -n -c 2 127.0.0.1 > mtr-real.csv
//	mtr --csv -n -o LDRSNBAWVGJMXI -c 2 ::1 > mtr-real-all.csv
//
// Values differ run to run, so what is compared is the shape a parser depends on: keys and their
// order, JSON types, element and attribute names, value widths, CSV columns and number formats.
func TestFormatsMatchRealMtr(t *testing.T) {
	tests := []struct {
		file, target string
		names        map[string]string
		opts         Options
		write        func(io.Writer, formatCase) error
		shape        func(t *testing.T, b []byte) []string
	}{
		{"mtr-real.json", "127.0.0.1", nil, Options{}, formats[0].write, jsonShape},
		{"mtr-real-all.json", "127.0.0.1", map[string]string{"127.0.0.1": "localhost"}, Options{ShowIPs: true, Fields: "LDRSNBAWVGJMXI"}, formats[0].write, jsonShape},
		{"mtr-real.xml", "127.0.0.1", nil, Options{}, formats[1].write, xmlShape},
		{"mtr-real-all.xml", "127.0.0.1", nil, Options{Fields: "LDRSNBAWVGJMXI"}, formats[1].write, xmlShape},
		{"mtr-real.csv", "127.0.0.1", nil, Options{}, formats[2].write, csvShape},
		{"mtr-real-all.csv", "::1", nil, Options{Fields: "LDRSNBAWVGJMXI"}, formats[2].write, csvShape},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			real, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			tc.opts.LocalHost = "vm"
			snap := newTrace(tc.target, 1, 30).hop(1, tc.target, 0.1, 0.2).snapshot()
			m := testMeta
			m.Target, m.Tests = tc.target, 2
			var buf bytes.Buffer
			if err := tc.write(&buf, formatCase{snap: snap, names: mapNames(tc.names), meta: m, opts: tc.opts}); err != nil {
				t.Fatal(err)
			}
			want, got := tc.shape(t, real), tc.shape(t, buf.Bytes())
			// mtr-go only adds: every line of mtr's shape must be in ours, in the same order.
			i := 0
			for _, g := range got {
				if i < len(want) && g == want[i] {
					i++
				}
			}
			if i != len(want) {
				t.Errorf("mtr's %q is missing or out of order\nmtr:    %q\nmtr-go: %q", want[i], want, got)
			}
		})
	}
}

// jsonShape lists each key path with the JSON type of its value (reals told from integers by
// their text, as a typed parser sees them) and, for strings of the "mtr" object, the value.
func jsonShape(t *testing.T, b []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []string
	var walk func(path string) // reads one value
	walk = func(path string) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("bad JSON: %v\n%s", err, b)
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				out = append(out, path+" {")
				for dec.More() {
					k, _ := dec.Token()
					walk(path + "." + k.(string))
				}
			} else {
				out = append(out, path+" [")
				for n := 0; dec.More(); n++ {
					walk(path + "[]")
				}
			}
			dec.Token()
		case json.Number:
			kind := "int"
			if strings.ContainsAny(v.String(), ".e") {
				kind = "real"
			}
			out = append(out, path+" "+kind)
		case string:
			if strings.HasPrefix(path, ".report.mtr.") && !strings.HasSuffix(path, ".dst") {
				out = append(out, fmt.Sprintf("%s %q", path, v))
			} else {
				out = append(out, path+" string")
			}
		default:
			out = append(out, fmt.Sprintf("%s %T", path, v))
		}
	}
	walk("")
	return out
}

// xmlShape lists elements with their attribute names and the width of their text.
func xmlShape(t *testing.T, b []byte) []string {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("bad XML: %v\n%s", err, b)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			var attrs []string
			for _, a := range v.Attr {
				attrs = append(attrs, a.Name.Local)
			}
			out = append(out, "<"+v.Name.Local+" "+strings.Join(attrs, " "))
		case xml.CharData:
			if s := string(v); strings.TrimSpace(s) != "" {
				out = append(out, fmt.Sprintf("text of width %d", len(s)))
			}
		}
	}
}

var (
	intRE   = regexp.MustCompile(`^\d+$`)
	fixedRE = regexp.MustCompile(`^\d+\.\d\d$`)
)

// csvShape is the header (without mtr's trailing comma) and each row's column formats.
func csvShape(t *testing.T, b []byte) []string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	out := []string{strings.TrimSuffix(lines[0], ",")}
	for _, l := range lines[1:] {
		var kinds []string
		for i, c := range strings.Split(l, ",") {
			switch {
			case i == 0 || i == 2 || i == 3:
				kinds = append(kinds, c) // version, status, target
			case i == 5:
				kinds = append(kinds, "host")
			case fixedRE.MatchString(c):
				kinds = append(kinds, "%.2f")
			case intRE.MatchString(c):
				kinds = append(kinds, "%d")
			default:
				kinds = append(kinds, "?"+c)
			}
		}
		out = append(out, strings.Join(kinds, ","))
	}
	return out
}
