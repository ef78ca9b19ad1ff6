package main

// Issue 14's ticket features on the real binary in a lab: --privacy in every format, and the
// live view's copy (the OSC 52 sequence as tmux receives it), export, privacy key and history.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// TestLabPrivacyEveryFormat: with --privacy 2 no output names or numbers hops 1-2 or this host,
// and hop 3 and the destination are still there.
func TestLabPrivacyEveryFormat(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 4, DNS: true})
	host, _ := os.Hostname()
	secrets := []string{lab.Client4.String(), lab.Hops4[0].String(), lab.Hops4[1].String(), lab.Names[lab.Hops4[0]], lab.Names[lab.Hops4[1]]}
	for _, h := range lab.Hops4[:2] { // their AS, with -z (and its name, with --analyze)
		secrets = append(secrets, fmt.Sprintf("AS%d", lab.AS[h]), lab.ASNames[lab.AS[h]])
	}
	hostRE := regexp.MustCompile(`\b` + regexp.QuoteMeta(host) + `\b`)
	for _, format := range [][]string{{"-r"}, {"-r", "-w", "--analyze"}, {"-j", "--analyze"}, {"-r", "-w", "-z", "--analyze"}, {"-j", "-z"}, {"-C", "-z"}, {"-x"}, {"-C"}, {"--markdown"}, {"--html", "--analyze"}, {"-p"}, {"-l"}} {
		t.Run(strings.Join(format, " "), func(t *testing.T) {
			args := append(append([]string{}, format...), "--privacy", "2", "-b", "-c", "2", "-i", "0.2", "-G", "0.5", lab.Target4.String())
			out := run(t, lab, binary(t), args...)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%q is in the output:\n%s", s, out)
				}
			}
			if hostRE.MatchString(out) {
				t.Errorf("the host name %q is in the output:\n%s", host, out)
			}
			if !strings.Contains(out, "(hidden)") || !strings.Contains(out, lab.Hops4[2].String()) || !strings.Contains(out, lab.Target4.String()) {
				t.Errorf("no (hidden), hop 3 or the destination:\n%s", out)
			}
		})
	}
}

// TestLabLiveTickets drives the live view in tmux: x copies (tmux keeps what OSC 52 carried as
// a paste buffer), w exports as text and HTML, # changes the hops hidden, and the history lists
// the host afterwards; Snt keeps rising throughout.
func TestLabLiveTickets(t *testing.T) {
	netlab.Require(t, netlab.Tool("tmux", "tmux"))
	lab := netlab.New(t, netlab.Spec{Routers: 4})
	dir := t.TempDir()
	target := lab.Target4.String()
	conf := filepath.Join(dir, "tmux.conf")
	// tmux-256color: a terminal that tcell knows takes OSC 52; set-clipboard on: tmux turns it
	// into a paste buffer instead of passing it on.
	if err := os.WriteFile(conf, []byte("set -g default-terminal tmux-256color\nset -s set-clipboard on\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &pane{t: t, socket: fmt.Sprintf("mtrgo-tickets-%d-%d", os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", p.socket, "kill-server").Run() })
	p.tmux("-f", conf, "new-session", "-d", "-x", "100", "-y", "30",
		fmt.Sprintf("cd %s && ip netns exec %s env XDG_STATE_HOME=%s %s -n -i 0.2 --privacy 1 %s; echo mtr-go-exit=$?; sleep 600",
			dir, lab.Client, dir, binary(t), target))

	s := p.waitScreen("hop 1 hidden", func(s string) bool {
		h := liveHops(s)
		return len(h) == 5 && h[1].host == "(hidden)" && h[2].host == lab.Hops4[1].String() && h[1].snt >= 2
	})
	if strings.Contains(s, lab.Hops4[0].String()) || strings.Contains(s, lab.Client4.String()) {
		t.Errorf("hop 1 or the client's address on screen with --privacy 1:\n%s", s)
	}

	// x, Enter: the text table reaches the terminal as OSC 52.
	p.keys("x")
	p.waitScreen("the copy prompt", func(s string) bool { return strings.Contains(s, "Copy as") })
	p.keys("Enter")
	s = p.waitScreen("the copy's status", func(s string) bool { return strings.Contains(s, "Copied") })
	buf := p.tmux("show-buffer")
	if !strings.Contains(buf, "HOST: (hidden)") || !strings.Contains(buf, "1.|-- (hidden)") ||
		!strings.Contains(buf, "2.|-- "+lab.Hops4[1].String()) || strings.Contains(buf, lab.Hops4[0].String()) {
		t.Errorf("clipboard (tmux buffer):\n%s", buf)
	}
	p.sntRises("after copying", s)

	// x, html: the HTML report.
	p.keys("x", "C-u", "html", "Enter")
	p.waitScreen("the HTML copy's status", func(s string) bool { return strings.Contains(s, "as HTML") })
	if buf := p.tmux("show-buffer"); !strings.HasPrefix(buf, "<!DOCTYPE html>") || !strings.Contains(buf, lab.Hops4[2].String()) {
		t.Errorf("HTML clipboard:\n%.300s", buf)
	}

	// w: text to the offered name in the working directory, then HTML by its name.
	p.keys("w")
	p.waitScreen("the export prompt", func(s string) bool { return strings.Contains(s, "mtr-go-"+target+".txt") })
	p.keys("Enter")
	p.waitScreen("the export's status", func(s string) bool { return strings.Contains(s, "Exported as text") })
	if b, err := os.ReadFile(filepath.Join(dir, "mtr-go-"+target+".txt")); err != nil || !strings.Contains(string(b), "HOST: (hidden)") {
		t.Errorf("text export: %v\n%s", err, b)
	}
	p.keys("w", "C-u", filepath.Join(dir, "path.html"), "Enter")
	s = p.waitScreen("the HTML export's status", func(s string) bool { return strings.Contains(s, "Exported as HTML") })
	if b, err := os.ReadFile(filepath.Join(dir, "path.html")); err != nil || !strings.Contains(string(b), "<table") {
		t.Errorf("HTML export: %v\n%.300s", err, b)
	}
	p.sntRises("after exporting", s)

	// #: 0 shows hop 1 again, 3 hides hops 1-3.
	p.keys("#", "C-u", "0", "Enter")
	p.waitScreen("hop 1 shown", func(s string) bool { return liveHops(s)[1].host == lab.Hops4[0].String() })
	p.keys("#", "C-u", "3", "Enter")
	s = p.waitScreen("hops 1-3 hidden", func(s string) bool {
		h := liveHops(s)
		return h[1].host == "(hidden)" && h[3].host == "(hidden)" && h[4].host == lab.Hops4[3].String()
	})
	p.sntRises("after #", s)

	// q: the final table keeps the hops hidden, and the host is in the history.
	p.keys("q")
	s = p.waitScreen("the exit", func(s string) bool { return strings.Contains(s, "mtr-go-exit=0") })
	if strings.Contains(s, lab.Hops4[2].String()) || !strings.Contains(s, "HOST: (hidden)") {
		t.Errorf("final table:\n%s", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "--history")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != target+"\n" {
		t.Errorf("--history: %v, %q", err, out)
	}
}

// TestLabLiveTargetChange: g offers the history newest first; picking a host there traces it in
// the same view (Snt rising, the new target in the title), after the first target's final table
// went to the scrollback; a host that cannot be traced leaves the view on its target. Both
// hosts are in the history afterwards, the newest first.
func TestLabLiveTargetChange(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 4})
	dir := t.TempDir()
	first, second := lab.Target4.String(), lab.Hops4[2].String() // router 3 answers echo requests
	if err := os.MkdirAll(filepath.Join(dir, "mtr-go"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mtr-go", "history"), []byte(second+"\nold.lab.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// TERM=screen (older tmux's default), which tcell sends no OSC 52 to: mtr-go writes it.
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g default-terminal screen\nset -s set-clipboard on\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	netlab.Require(t, netlab.Tool("tmux", "tmux"))
	p := &pane{t: t, socket: fmt.Sprintf("mtrgo-retarget-%d-%d", os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", p.socket, "kill-server").Run() })
	p.tmux("-f", conf, "new-session", "-d", "-x", "100", "-y", "30",
		fmt.Sprintf("ip netns exec %s env XDG_STATE_HOME=%s %s -n -i 0.2 %s; echo mtr-go-exit=$?; sleep 600", lab.Client, dir, binary(t), first))
	p.waitScreen("the first target", func(s string) bool { return len(liveHops(s)) == 5 && liveHops(s)[1].snt >= 2 })

	p.keys("x", "Enter")
	p.waitScreen("the copy's status", func(s string) bool { return strings.Contains(s, "Copied") })
	if buf := p.tmux("show-buffer"); !strings.Contains(buf, "5.|-- "+first) {
		t.Errorf("clipboard (tmux buffer) under TERM=screen:\n%s", buf)
	}

	p.keys("g")
	p.waitScreen("the history", func(s string) bool {
		return strings.Contains(s, "   1. "+second) && strings.Contains(s, "   2. old.lab.test") && strings.Contains(s, "Up/Down: 2 recent hosts")
	})
	// A name nobody can resolve: the view stays, saying why.
	p.keys("C-u", "no-such-host.invalid", "Enter")
	s := p.waitScreen("the lookup's failure", func(s string) bool {
		return strings.Contains(s, "Cannot trace no-such-host.invalid: unknown host") && strings.Contains(s, "-> "+first)
	})
	p.sntRises("after a failed g", s)

	p.keys("g", "Up", "Enter")
	s = p.waitScreen("the second target", func(s string) bool {
		h := liveHops(s)
		return strings.Contains(s, "-> "+second+" ("+second+")") && len(h) == 3 && h[3].host == second
	})
	p.sntRises("on the second target", s)

	p.keys("q")
	p.waitScreen("the exit", func(s string) bool { return strings.Contains(s, "mtr-go-exit=0") })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "--history")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+dir)
	out, err := cmd.CombinedOutput()
	if want := second + "\n" + first + "\nold.lab.test\n"; err != nil || string(out) != want {
		t.Errorf("--history: %v, %q, want %q", err, out, want)
	}
	// Both final tables went to the scrollback, the first target's first.
	all := p.tmux("capture-pane", "-p", "-S", "-200")
	i, j := strings.Index(all, "5.|-- "+first), strings.LastIndex(all, "3.|-- "+second)
	if i < 0 || j < i {
		t.Errorf("final tables (at %d and %d):\n%s", i, j, all)
	}
}
