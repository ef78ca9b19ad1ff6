package main

// Lab test of --analyze FILE: mtr 0.95's own reports of each netlab fault, read back by mtr-go,
// get the verdict that mtr-go's live analysis of the same path gets.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// verdict is the findings and conclusion of an analysis, wherever it was printed.
func verdict(t *testing.T, out string) ([]labFinding, string) {
	t.Helper()
	_, rest, ok := strings.Cut(out, "\nAnalysis:\n")
	if !ok {
		t.Fatalf("no analysis in:\n%s", out)
	}
	var fs []labFinding
	conclusion := ""
	for _, l := range strings.Split(rest, "\n") {
		if m := findingRE.FindStringSubmatch(l); m != nil {
			fs = append(fs, labFinding{kind: m[1], hops: m[2], settled: m[3] == "", summary: m[4]})
		} else if c, ok := strings.CutPrefix(l, "Conclusion: "); ok {
			conclusion = c
		}
	}
	if conclusion == "" {
		t.Fatalf("no conclusion in:\n%s", out)
	}
	return fs, conclusion
}

func TestLabAnalyzeSavedReports(t *testing.T) {
	tests := []struct {
		name string
		spec netlab.Spec
		args []string
	}{
		{name: "clean path", spec: netlab.Spec{Routers: 5}},
		{name: "throttled hop", spec: netlab.Spec{Routers: 5, Throttle: map[int]int{2: 50}}},
		{name: "real loss from hop 3", spec: netlab.Spec{Routers: 5, LossFrom: 3, LossPercent: 30}},
		{name: "silent destination", spec: netlab.Spec{Routers: 5, SilentDest: true}},
		{name: "dead node", spec: netlab.Spec{Routers: 5, Dead: 3}},
		{name: "routing loop", spec: netlab.Spec{Routers: 5, Loop: 4}, args: []string{"-m", "10"}},
		{name: "unreachable", spec: netlab.Spec{Routers: 5, Reject: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Seven labs at once: most of the time is mtr's wait after its rounds.
			t.Parallel()
			lab := netlab.New(t, tt.spec)
			target := lab.Target4.String()
			probing := append([]string{"-n", "-c", "30", "-i", "0.1"}, tt.args...)
			live := run(t, lab, binary(t), append(append([]string{"-r", "--analyze"}, probing...), target)...)
			liveFs, liveConcl := verdict(t, live)
			for _, format := range []string{"-r", "--json", "--xml", "--csv"} {
				// -G 1: mtr's 5 s gracetime adds nothing on a lab path whose answers take µs.
				saved := run(t, lab, "mtr", append(append([]string{format, "-G", "1"}, probing...), target)...)
				file := filepath.Join(t.TempDir(), "mtr-report")
				if err := os.WriteFile(file, []byte(saved), 0o644); err != nil {
					t.Fatal(err)
				}
				out := run(t, lab, binary(t), "--analyze", file)
				fs, concl := verdict(t, out)
				// Two runs of a lossy path differ; at 30 probes either may not have settled.
				open := strings.HasPrefix(concl, "Not settled yet: ") || strings.HasPrefix(liveConcl, "Not settled yet: ")
				switch {
				case len(liveFs) == 0:
					if len(fs) != 0 || concl != liveConcl {
						t.Errorf("mtr %s: the live run found nothing, the saved report: %q\n%s\nlive:\n%s", format, concl, out, live)
					}
				case len(fs) == 0:
					t.Errorf("mtr %s: nothing found in the saved report; live: %q\n%s\n%s", format, liveConcl, saved, out)
				case fs[0].kind != liveFs[0].kind || fs[0].hops != liveFs[0].hops:
					if !open {
						t.Errorf("mtr %s: saved report's verdict %s at %s, live %s at %s\n%s\n%s\nlive:\n%s", format, fs[0].kind, fs[0].hops, liveFs[0].kind, liveFs[0].hops, saved, out, live)
					}
				}
				t.Logf("mtr %s:\n%s%s", format, saved, out)
			}
		})
	}
}
