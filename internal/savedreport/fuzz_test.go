package savedreport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse holds every reader to its contract on any input: no panic, a one-line error or rows
// in hop order with possible counts, and an analysis with a conclusion.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		prev := 0
		for _, row := range r.Rows {
			if row.TTL <= prev && r.Format != MtrCSV || row.TTL < prev || row.Recv < 0 || row.Recv > row.Sent {
				t.Fatalf("row %+v after hop %d", row, prev)
			}
			prev = row.TTL
			for _, h := range row.Hosts {
				if strings.ContainsAny(h, "\x00\x1b\n\r") {
					t.Fatalf("host %q holds control characters", h)
				}
			}
		}
		a := r.Analyze()
		if a.Conclusion == "" {
			t.Fatal("no conclusion")
		}
	})
}
