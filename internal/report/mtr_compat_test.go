package report

import (
	"bytes"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestColumnsMatchRealMtr compares our layout with reports captured from mtr 0.95 (Debian
// mtr-tiny) on this machine, whose hostname is "vm":
//
//	mtr -r -n -c 2 127.0.0.1 > mtr-real-n.txt
//	mtr -r -w -n -c 2 127.0.0.1 > mtr-real-w.txt
//	mtr -r -b -c 2 127.0.0.1 > mtr-real-b.txt            (127.0.0.1 is "localhost" in /etc/hosts)
//	mtr -r -n -c 2 -o LDRSNBAWVGJMXI 127.0.0.1 > mtr-real-all.txt
//	mtr -r -n -c 2 -o 'DR AGJMXI' 127.0.0.1 > mtr-real-jitter.txt
//	mtr -r -n -c 2 ::1 > mtr-real-v6.txt
//	mtr -r -w -b -c 2 ::1 > mtr-real-wb6.txt             (::1 has no name there)
//
// The values differ run to run, so the test compares where each token ends: mtr right-aligns
// every title and value, so equal right edges mean equal columns.
func TestColumnsMatchRealMtr(t *testing.T) {
	tests := []struct {
		file   string
		target string
		names  map[string]string
		opts   Options
	}{
		{"mtr-real-n.txt", "127.0.0.1", nil, Options{}},
		{"mtr-real-w.txt", "127.0.0.1", nil, Options{Wide: true}},
		{"mtr-real-b.txt", "127.0.0.1", map[string]string{"127.0.0.1": "localhost"}, Options{ShowIPs: true}},
		{"mtr-real-all.txt", "127.0.0.1", nil, Options{Fields: "LDRSNBAWVGJMXI"}},
		{"mtr-real-jitter.txt", "127.0.0.1", nil, Options{Fields: "DR AGJMXI"}},
		{"mtr-real-v6.txt", "::1", nil, Options{}},
		{"mtr-real-wb6.txt", "::1", nil, Options{Wide: true, ShowIPs: true}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			real := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
			if len(real) < 3 || !strings.HasPrefix(real[1], "HOST: ") {
				t.Fatalf("%s is not an mtr report", tc.file)
			}
			start, ok := strings.CutPrefix(real[0], "Start: ")
			if _, err := time.Parse(vocab.TimeLayout, start); !ok || err != nil {
				t.Errorf("Start line %q does not parse with our layout: %v", real[0], err)
			}
			tc.opts.LocalHost = strings.Fields(real[1])[1]

			snap := newTrace(tc.target, 1, 30).hop(1, tc.target, 0.1, 0.2).snapshot()
			var buf bytes.Buffer
			if err := Text(&buf, snap, mapNames(tc.names), tc.opts); err != nil {
				t.Fatal(err)
			}
			ours := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(ours) != len(real)-1 {
				t.Fatalf("got %d lines, mtr printed %d:\n%s", len(ours), len(real)-1, buf.String())
			}
			for i, line := range ours {
				want := rightEdges(real[i+1])
				if got := rightEdges(line); !slices.Equal(got, want) {
					t.Errorf("line %d: token right edges %v, mtr's %v\nours: %q\nmtr:  %q",
						i+1, got, want, line, real[i+1])
				}
			}
		})
	}
}

// rightEdges returns the column of the last character of every space-separated token.
func rightEdges(line string) []int {
	var edges []int
	for i := 0; i < len(line); i++ {
		if line[i] != ' ' && (i+1 == len(line) || line[i+1] == ' ') {
			edges = append(edges, i)
		}
	}
	return edges
}
