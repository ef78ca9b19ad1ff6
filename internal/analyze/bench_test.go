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

// BenchmarkDirections: both directions of the lossy asymmetric lab, 6 hops each, read together,
// as a live view showing both tables would redo it: two analyses and the matching.
func BenchmarkDirections(b *testing.B) {
	fwd, rev := asymForward(100), asymReverse(100)
	for b.Loop() {
		Directions(fwd, rev)
	}
}

// BenchmarkDirections30: the asymmetric lab with 29 routers, the return through rx from router
// 2: two 30-hop tables, the longest mtr probes by default, every reverse hop matched against
// every forward address.
func BenchmarkDirections30(b *testing.B) {
	fwd, rev, _ := model(29, 0, 2, 100, 0.3, false)
	for b.Loop() {
		Directions(fwd, rev)
	}
}
