package analyze

import "testing"

// BenchmarkAnalyzeGuideSample: the cost of one analysis of a 15-hop path, which a live view
// redoing it every redraw would pay.
func BenchmarkAnalyzeGuideSample(b *testing.B) {
	in := Input{Snapshot: guideSample()}
	for b.Loop() {
		Analyze(in)
	}
}
