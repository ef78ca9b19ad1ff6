package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// TestLabReportProgress: a report with stderr on a terminal (a tmux pane) shows the rounds done
// and the time left while it runs, and no trace of that line is left once the report is out; with
// stderr in a file nothing of it is written.
func TestLabReportProgress(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	target := lab.Target4.String()
	errFile := filepath.Join(t.TempDir(), "stderr")
	p := newPane(t, fmt.Sprintf("ip netns exec %s %s -r -n -c 8 -i 0.5 %s; echo mtr-go-exit=$?; ip netns exec %s %s -r -n -c 2 -i 0.5 %s 2>%s; echo second-exit=$?; sleep 600",
		lab.Client, binary(t), target, lab.Client, binary(t), target, errFile))

	s := p.waitScreen("the progress line", func(s string) bool { return strings.Contains(s, "mtr-go: round ") })
	if !strings.Contains(s, " of 8, ") || !strings.Contains(s, " left") {
		t.Errorf("progress line lacks the rounds or the time left:\n%s", s)
	}
	s = p.waitScreen("both reports", func(s string) bool { return strings.Contains(s, "second-exit=") })
	if !strings.Contains(s, "mtr-go-exit=0") || !strings.Contains(s, "second-exit=0") {
		t.Fatalf("exit codes:\n%s", s)
	}
	if strings.Contains(s, "round ") {
		t.Errorf("the progress line is still on screen after the report:\n%s", s)
	}
	if strings.Count(s, "HOST: ") != 2 || !strings.Contains(s, target) {
		t.Errorf("reports:\n%s", s)
	}
	// The line is erased where it was, so the report's table follows the Start line directly.
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Start: ") && (i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "HOST: ")) {
			t.Errorf("line after %q is %q, not the table's header", l, lines[i+1])
		}
	}
	if b, err := os.ReadFile(errFile); err != nil || len(b) != 0 {
		t.Errorf("stderr to a file: %q, %v; want nothing", b, err)
	}
}
