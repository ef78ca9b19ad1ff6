package main

// The live UI, driven the way a user drives it: the real binary in a tmux pane inside the lab's
// client namespace, keys sent with send-keys, the screen read with capture-pane.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// pane is one tmux server with one session running a command.
type pane struct {
	t      *testing.T
	socket string
}

func newPane(t *testing.T, command string) *pane {
	t.Helper()
	netlab.Require(t, netlab.Tool("tmux", "tmux"))
	p := &pane{t: t, socket: fmt.Sprintf("mtrgo-tui-%d-%d", os.Getpid(), time.Now().UnixNano())}
	p.tmux("new-session", "-d", "-x", "100", "-y", "30", command)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", p.socket, "kill-server").Run() })
	return p
}

func (p *pane) tmux(args ...string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "tmux", append([]string{"-L", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (p *pane) keys(keys ...string) {
	p.t.Helper()
	p.tmux(append([]string{"send-keys"}, keys...)...)
}

func (p *pane) screen() string {
	p.t.Helper()
	return p.tmux("capture-pane", "-p")
}

// waitScreen polls the pane until ok accepts it.
func (p *pane) waitScreen(what string, ok func(string) bool) string {
	p.t.Helper()
	var s string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s = p.screen(); ok(s) {
			return s
		}
	}
	p.t.Fatalf("screen never showed %s:\n%s", what, s)
	return ""
}

// hopRE reads a table row of the default fields: hop, host, Loss%, Snt.
var hopRE = regexp.MustCompile(`(?m)^ *(\d+)\. (\S+)(?: \(\S+\))? +([\d.]+)% +(\d+) `)

type liveHop struct {
	host string
	snt  int
}

func liveHops(screen string) map[int]liveHop {
	hops := map[int]liveHop{}
	for _, m := range hopRE.FindAllStringSubmatch(screen, -1) {
		n, _ := strconv.Atoi(m[1])
		snt, _ := strconv.Atoi(m[4])
		hops[n] = liveHop{host: m[2], snt: snt}
	}
	return hops
}

// sntRises waits until hop 1's Snt is above what it was on screen before: probing goes on.
func (p *pane) sntRises(what string, before string) string {
	p.t.Helper()
	was := liveHops(before)[1].snt
	return p.waitScreen(fmt.Sprintf("Snt of hop 1 rising above %d %s", was, what), func(s string) bool {
		return liveHops(s)[1].snt > was
	})
}

func TestLabLiveUI(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 6, Throttle: map[int]int{2: 40}, DNS: true})
	target := lab.Target4.String()
	p := newPane(t, fmt.Sprintf("ip netns exec %s %s -n -i 0.2 %s; echo mtr-go-exit=$?; sleep 600", lab.Client, binary(t), target))

	// Every hop, by address (-n), with counts.
	s := p.waitScreen("all 7 hops", func(s string) bool {
		h := liveHops(s)
		return len(h) == 7 && h[7].host == target && h[1].snt >= 2
	})
	for i, a := range lab.Hops4 {
		if h := liveHops(s)[i+1]; h.host != a.String() {
			t.Errorf("hop %d shows %q, want %s\n%s", i+1, h.host, a, s)
		}
	}
	for _, want := range []string{"My traceroute  [mtr-go", "-> " + target + " (" + target + ")", "Keys:  Help", "Packets", "Loss%   Snt   Last"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}

	// n: reverse names come in from the lab's DNS.
	p.keys("n")
	s = p.waitScreen("names", func(s string) bool { return liveHops(s)[1].host == lab.Names[lab.Hops4[0]] })
	p.sntRises("after n", s)
	p.keys("n")
	p.waitScreen("addresses again", func(s string) bool { return liveHops(s)[1].host == lab.Hops4[0].String() })

	// d: stripchart, latency chart, braille graph, back to the table.
	p.keys("d")
	p.waitScreen("the stripchart", func(s string) bool { return strings.Contains(s, "pings") && strings.Contains(s, "Scale:  .:up to") })
	p.keys("d")
	p.waitScreen("the latency chart", func(s string) bool { return regexp.MustCompile(`Scale: +\.:[\d.]+ ms +1:`).MatchString(s) })
	p.keys("d")
	p.waitScreen("the braille graph", func(s string) bool { return strings.Contains(s, "2 per cell") })
	p.keys("d")
	s = p.waitScreen("the table", func(s string) bool { return len(liveHops(s)) == 7 })
	p.sntRises("after d", s)

	// p: no probes while paused (Snt still), space resumes.
	p.keys("p")
	p.waitScreen("the pause line", func(s string) bool { return strings.Contains(s, "Paused") })
	time.Sleep(300 * time.Millisecond) // answers to probes already out may still come in
	s = p.screen()
	time.Sleep(time.Second)
	if a, b := liveHops(s)[1].snt, liveHops(p.screen())[1].snt; a != b {
		t.Errorf("paused, Snt of hop 1 went from %d to %d", a, b)
	}
	p.keys("Space")
	p.sntRises("after space", s)

	// r: statistics start over.
	p.waitScreen("Snt above 10", func(s string) bool { return liveHops(s)[1].snt > 10 })
	p.keys("r")
	p.waitScreen("Snt reset", func(s string) bool { h := liveHops(s); return h[1].snt > 0 && h[1].snt <= 5 })

	// A prompt stays open while probing goes on.
	p.keys("i")
	s = p.waitScreen("the interval prompt", func(s string) bool { return strings.Contains(s, "Interval in seconds: 0.2") })
	p.sntRises("while a prompt is open", s)
	p.keys("Escape")
	// tcell tells a lone Esc from an Alt sequence by a pause: the next key goes only once the
	// prompt is gone, however long a loaded machine takes to show that.
	p.waitScreen("the prompt closed", func(s string) bool { return strings.Contains(s, "Interval in seconds: unchanged.") })

	// o: choose the fields.
	p.keys("o", "C-u", "LSR", "Enter")
	p.waitScreen("the new fields", func(s string) bool {
		return regexp.MustCompile(`(?m)^ Host +Loss%   Snt   Rcv$`).MatchString(s)
	})

	// q: a clean shell, the final table printed like a report.
	p.keys("q")
	s = p.waitScreen("the final table", func(s string) bool { return strings.Contains(s, "mtr-go-exit=") })
	if !strings.Contains(s, "mtr-go-exit=0") || !strings.Contains(s, "Start: ") ||
		!regexp.MustCompile(`(?m)^HOST: \S+ +Loss%   Snt   Rcv$`).MatchString(s) {
		t.Errorf("after q:\n%s", s)
	}
	rows := regexp.MustCompile(`(?m)^ +\d+\.\|-- `).FindAllString(s, -1)
	if len(rows) != 7 {
		t.Errorf("final table has %d hops, want 7:\n%s", len(rows), s)
	}
}

func TestLabLiveUIStopsAfterCount(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	target := lab.Target4.String()
	p := newPane(t, fmt.Sprintf("ip netns exec %s %s -n -c 3 -i 0.2 %s; echo mtr-go-exit=$?; sleep 600", lab.Client, binary(t), target))
	s := p.waitScreen("the end of the run", func(s string) bool { return strings.Contains(s, "mtr-go-exit=") })
	if !strings.Contains(s, "mtr-go-exit=0") {
		t.Errorf("exit:\n%s", s)
	}
	rows := regexp.MustCompile(`(?m)^ +\d+\.\|-- \S+ +[\d.]+% +3 `).FindAllString(s, -1)
	if len(rows) != 3 {
		t.Errorf("want 3 hops with Snt 3:\n%s", s)
	}
}

func TestLabNoTerminalGivesAReport(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	// stdout is a pipe here: no live UI, and no error either, but a report.
	got := mtrgo(t, lab, "-n", "-c", "2", "-i", "0.1", lab.Target4.String())
	if strings.Join(got.hosts(), " ") != strings.Join(addrs(lab.Hops4), " ") {
		t.Errorf("hops %v\n%s", got.hosts(), got.raw)
	}
}
