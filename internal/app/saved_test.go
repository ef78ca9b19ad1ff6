package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAnalyzeSavedReport(t *testing.T) {
	dropPrivs = func() error { return nil }
	sample, err := os.ReadFile("../savedreport/testdata/mtr095/lab-dead-r.txt")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ticket.txt")
	if err := os.WriteFile(file, sample, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{"file", []string{"--analyze", file}, ""},
		{"stdin", []string{"--analyze", "-"}, string(sample)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(Env{Args: tc.args, Stdin: strings.NewReader(tc.stdin), Stdout: &out, Stderr: &errOut})
			if code != exitOK || errOut.Len() != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut.String())
			}
			for _, want := range []string{"Read: mtr text report, 4 hops\n", "Note: This mtr text report holds per-hop summaries only", "\nAnalysis:\n 1. [interrupted, hop 3]", "\nConclusion: Problem: No answer after hop 3 (198.18.2.2)"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("no %q in:\n%s", want, out.String())
				}
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		var out, errOut bytes.Buffer
		cut := string(sample[:bytes.LastIndex(sample, []byte("100.0"))+8])
		code := Main(Env{Args: []string{"--analyze", "-"}, Stdin: strings.NewReader(cut), Stdout: &out, Stderr: &errOut})
		want := "mtr-go: -: mtr text report, line 6: 2 values for 7 columns (truncated?)\n"
		if code != exitFail || errOut.String() != want || out.Len() != 0 {
			t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and %q", code, errOut.String(), out.String(), want)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := Main(Env{Args: []string{"--analyze", filepath.Join(t.TempDir(), "none.txt")}, Stdout: &out, Stderr: &errOut})
		if code != exitFail || !strings.Contains(errOut.String(), "no such file") || strings.Count(errOut.String(), "\n") != 1 {
			t.Errorf("exit %d, stderr %q", code, errOut.String())
		}
	})
}
