package savedreport

import (
	"os"
	"testing"
)

// BenchmarkReadAndAnalyze is one --analyze FILE of mtr 0.95's JSON of a 6-hop lossy lab path,
// past the file read: detection, parsing and the analysis.
func BenchmarkReadAndAnalyze(b *testing.B) {
	for _, name := range []string{"mtr095/lab-throttle2-loss4-mtr.json", "mtr095/lab-throttle2-loss4-mtr-r.txt", "winmtr/loss-from-5.html", "stream/lab-demo-mtr-l.txt", "stream/lab-demo-mtr-p.txt"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				r, err := Parse(data)
				if err != nil {
					b.Fatal(err)
				}
				r.Analyze()
			}
		})
	}
}
