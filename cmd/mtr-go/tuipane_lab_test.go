package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// markRE reads a hop row's number and the mark at the end of its host column.
var markRE = regexp.MustCompile(`(?m)^ *(\d+)\. \S+ +\[([^\]]+)\] +[\d.]+%`)

func liveMarks(screen string) map[string]string {
	m := map[string]string{}
	for _, r := range markRE.FindAllStringSubmatch(screen, -1) {
		m[r[1]] = r[2]
	}
	return m
}

// TestLabLiveAnalysisPane runs the live view on a path whose hop 2 limits its ICMP answers and
// whose router 4 drops 30 % of what it forwards: a opens the pane, which must come to name hop 2
// as rate limiting and hop 4 as where real loss starts, on the pane and on the hop rows.
func TestLabLiveAnalysisPane(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 6, Throttle: map[int]int{2: 50}, LossFrom: 4, LossPercent: 30})
	target := lab.Target4.String()
	p := newPane(t, fmt.Sprintf("ip netns exec %s %s -n -i 0.05 %s; echo mtr-go-exit=$?; sleep 600", lab.Client, binary(t), target))
	p.waitScreen("all 7 hops", func(s string) bool { return len(liveHops(s)) == 7 })
	if s := p.screen(); strings.Contains(s, "Analysis") || len(liveMarks(s)) > 0 {
		t.Fatalf("analysis shown before a:\n%s", s)
	}

	p.keys("a")
	p.waitScreen("the pane", func(s string) bool { return strings.Contains(s, "-- Analysis") && strings.Contains(s, "Conclusion: ") })
	// Both calls settle once enough probes are in (about 100 rounds at these rates); until then
	// the pane may say "not settled", which is not a wrong answer, so wait for the settled one.
	var s string
	deadline := time.Now().Add(90 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		s = p.screen()
		m := liveMarks(s)
		if strings.Contains(s, "[loss-starts, hops 4-7]") && strings.Contains(s, "[rate-limited, hop 2]") &&
			strings.Contains(m["2"], "rate-limited") && strings.Contains(m["4"], "loss starts") {
			break
		}
	}
	m := liveMarks(s)
	if !strings.Contains(s, "Conclusion: Problem: Real loss starts at hop 4 (198.18.3.2)") ||
		!strings.Contains(s, "[loss-starts, hops 4-7]") || !strings.Contains(s, "[rate-limited, hop 2]") ||
		!strings.Contains(m["2"], "rate-limited") || !strings.Contains(m["4"], "loss starts") {
		t.Fatalf("the pane does not name hop 2 rate limiting and real loss from hop 4 (marks %v):\n%s", m, s)
	}
	// Other marks (a latency spike on a busy machine) are fair; loss marks elsewhere are not.
	for hop, mark := range m {
		if hop != "2" && hop != "4" && (strings.Contains(mark, "loss") || strings.Contains(mark, "rate")) {
			t.Errorf("hop %s marked %q:\n%s", hop, mark, s)
		}
	}

	// a again closes it: the screen is mtr's again.
	p.keys("a")
	s = p.waitScreen("the pane closed", func(s string) bool { return !strings.Contains(s, "-- Analysis") })
	if len(liveMarks(s)) > 0 || len(liveHops(s)) != 7 {
		t.Errorf("after closing the pane:\n%s", s)
	}

	// Quitting with the pane open puts the analysis under the final table.
	p.keys("a")
	p.waitScreen("the pane again", func(s string) bool { return strings.Contains(s, "-- Analysis") })
	p.keys("q")
	s = p.waitScreen("the final table", func(s string) bool { return strings.Contains(s, "mtr-go-exit=") })
	if !strings.Contains(s, "mtr-go-exit=0") || !strings.Contains(s, "Analysis:") || !strings.Contains(s, "Conclusion: ") {
		t.Errorf("after q with the pane open:\n%s", s)
	}
}

// TestLabLiveAnalyzeOption: --analyze opens the pane from the start, and the run's final table
// carries the analysis.
func TestLabLiveAnalyzeOption(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	target := lab.Target4.String()
	p := newPane(t, fmt.Sprintf("ip netns exec %s %s -n -c 20 -i 0.2 --analyze %s; echo mtr-go-exit=$?; sleep 600", lab.Client, binary(t), target))
	p.waitScreen("the pane", func(s string) bool {
		return strings.Contains(s, "-- Analysis") && strings.Contains(s, "Conclusion: No problem found on this path.")
	})
	s := p.waitScreen("the end of the run", func(s string) bool { return strings.Contains(s, "mtr-go-exit=") })
	if !strings.Contains(s, "mtr-go-exit=0") || !strings.Contains(s, "Conclusion: No problem found on this path.") {
		t.Errorf("final output:\n%s", s)
	}
}
