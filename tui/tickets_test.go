package tui

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// fakeExport writes what it was given in a form the tests can read: the format, the view's
// toggles and each hop's host as the view names it.
func fakeExport(w io.Writer, html bool, snap stats.Snapshot, view Result) error {
	fmt.Fprintf(w, "html=%v fields=%s privacy=%d\n", html, view.Fields, view.Privacy)
	for i := range snap.Hops {
		h := &snap.Hops[i]
		host := "???"
		if h.Known() {
			host = vocab.AddrText(h.Addr())
		}
		fmt.Fprintf(w, "%d %s %d\n", h.TTL, host, h.Sent)
	}
	return nil
}

func TestCopyKeySendsOSC52Payload(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DNS: true, Export: fakeExport})
	s, _ := render(t, u, path(4), 100, 30)
	press(u, "x")
	if u.prompt == nil || string(u.prompt.input) != "text" {
		t.Fatalf("x: prompt %+v", u.prompt)
	}
	press(u, "<Enter>")
	u.draw(s, path(4)) // the copy reaches the terminal with the next frame
	s.Show()
	got := string(s.GetClipboardData())
	if !strings.HasPrefix(got, "html=false fields="+vocab.DefaultFields) || !strings.Contains(got, "\n1 198.18.0.2 5\n") {
		t.Errorf("clipboard = %q", got)
	}
	if !strings.Contains(lines(s)[29], "Copied 6 lines as text to the terminal (OSC 52).") {
		t.Errorf("status: %q", lines(s)[29])
	}

	press(u, "x", "<C-u>", "html", "<Enter>")
	u.draw(s, path(4))
	if got := string(s.GetClipboardData()); !strings.HasPrefix(got, "html=true") {
		t.Errorf("html copy: %q", got)
	}
	press(u, "x", "<C-u>", "pdf", "<Enter>")
	if u.prompt == nil || !strings.Contains(u.prompt.err, `"pdf" is neither text nor html`) {
		t.Errorf("pdf: prompt %+v", u.prompt)
	}
}

func TestCopyKeyThroughCommand(t *testing.T) {
	var got []byte
	u := testUI(&fakeControl{}, Options{Export: fakeExport, Clipboard: func(b []byte) error { got = b; return nil }})
	s, _ := render(t, u, path(4), 100, 30)
	press(u, "x", "<Enter>")
	u.draw(s, path(4))
	if !strings.HasPrefix(string(got), "html=false") || len(s.GetClipboardData()) != 0 {
		t.Errorf("command got %q, terminal got %q", got, s.GetClipboardData())
	}
	if !strings.Contains(u.status, "to the clipboard") {
		t.Errorf("status %q", u.status)
	}
}

func TestExportKeyWritesFile(t *testing.T) {
	dir := t.TempDir()
	u := testUI(&fakeControl{}, Options{Export: fakeExport})
	render(t, u, path(4), 100, 30)
	press(u, "w")
	if u.prompt == nil || string(u.prompt.input) != "mtr-go-dest.lab.test.txt" {
		t.Fatalf("w: prompt %+v", u.prompt)
	}
	txt, html := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.HTML")
	press(u, "<C-u>", txt, "<Enter>", "w", "<C-u>", html, "<Enter>")
	for name, want := range map[string]string{txt: "html=false", html: "html=true"} {
		b, err := os.ReadFile(name)
		if err != nil || !strings.HasPrefix(string(b), want) {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	press(u, "w", "<C-u>", filepath.Join(dir, "no", "such", "dir.txt"), "<Enter>")
	if u.prompt == nil || !strings.Contains(u.prompt.err, "cannot write") {
		t.Errorf("unwritable name: prompt %+v", u.prompt)
	}
	press(u, "<Esc>")

	u = testUI(&fakeControl{}, Options{})
	press(u, "w")
	if u.prompt != nil || u.status != "Exporting is not available in this view." {
		t.Errorf("without an exporter: %q", u.status)
	}
}

// TestPrivacyKeyHidesHops: # 2 hides this host and hops 1-2 on the screen and in copies; # 0
// shows them again.
func TestPrivacyKeyHidesHops(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DNS: true, ShowIPs: true, Export: fakeExport})
	s, _ := render(t, u, path(4), 100, 30)
	press(u, "#", "<C-u>", "2", "<Enter>")
	u.draw(s, path(4))
	s.Show()
	screen := strings.Join(lines(s), "\n")
	for _, secret := range []string{"client", "198.18.0.1", "198.18.0.2", "r1.lab.test", "198.18.1.2", "198.18.1.3"} {
		if strings.Contains(screen, secret) {
			t.Errorf("%q still on screen:\n%s", secret, screen)
		}
	}
	if !strings.Contains(lines(s)[1], "(hidden) -> dest.lab.test (198.18.4.2)") || !strings.Contains(lines(s)[5], " 1. (hidden)") ||
		!strings.Contains(screen, " 4. 198.18.3.2") {
		t.Errorf("screen:\n%s", screen)
	}
	press(u, "x", "<Enter>")
	u.draw(s, path(4))
	if got := string(s.GetClipboardData()); !strings.Contains(got, "privacy=2\n1 (hidden) 5\n2 (hidden) 5\n") {
		t.Errorf("copy with # 2: %q", got)
	}
	press(u, "#", "<C-u>", "0", "<Enter>")
	u.draw(s, path(4))
	s.Show()
	if !strings.Contains(lines(s)[5], "r1.lab.test (198.18.0.2)") || u.result().Privacy != 0 {
		t.Errorf("# 0: %q", lines(s)[5])
	}
	if u := testUI(&fakeControl{}, Options{Privacy: 1}); u.result().Privacy != 1 {
		t.Error("Options.Privacy not taken")
	}
	u = testUI(&fakeControl{}, Options{Reverse: &fakeReverse{}})
	press(u, "#")
	if u.prompt != nil || !strings.HasPrefix(u.status, "Hiding hops does not work with --reverse") {
		t.Errorf("# with --reverse: %q", u.status)
	}
}

func TestTargetKeyOffersHistory(t *testing.T) {
	u := testUI(&fakeControl{}, Options{Retarget: true, History: []string{"new.example", "198.18.9.9", "old.example"}})
	s, _ := render(t, u, path(4), 100, 30)
	press(u, "g")
	u.draw(s, path(4))
	s.Show()
	got := lines(s)
	want := map[int]string{
		26: "   1. new.example",
		27: "   2. 198.18.9.9",
		28: "   3. old.example",
		29: "Trace host:   Up/Down: 3 recent hosts; Enter traces it, Esc cancels",
	}
	for y, w := range want {
		if got[y] != w {
			t.Errorf("row %d = %q, want %q", y, got[y], w)
		}
	}
	press(u, "<Up>", "<Up>")
	u.draw(s, path(4))
	s.Show()
	if string(u.prompt.input) != "198.18.9.9" || !strings.HasPrefix(lines(s)[29], "Trace host: 198.18.9.9") {
		t.Errorf("after Up Up: %q", lines(s)[29])
	}
	if _, _, attrs := styleAt(s, 5, 27).Decompose(); attrs&tcell.AttrReverse == 0 {
		t.Error("the host picked is not highlighted")
	}
	press(u, "<Up>", "<Up>", "<Down>")
	if string(u.prompt.input) != "198.18.9.9" {
		t.Errorf("Up past the oldest, then Down: %q", string(u.prompt.input))
	}
	press(u, "<Enter>")
	if !u.quit || u.result().Retarget != "198.18.9.9" {
		t.Errorf("Enter: quit %v, retarget %q", u.quit, u.result().Retarget)
	}

	// Typed, not picked; a space is refused as the key is typed.
	u = testUI(&fakeControl{}, Options{Retarget: true})
	press(u, "g", "a ")
	if u.quit || string(u.prompt.input) != "a" || !strings.Contains(u.prompt.err, "' ' is not allowed here") {
		t.Errorf("typed: quit %v, input %q, %q", u.quit, string(u.prompt.input), u.prompt.err)
	}
	press(u, "<C-u>", "<Enter>")
	if u.quit || u.prompt.err != "give a host name or address" {
		t.Errorf("empty host: %q", u.prompt.err)
	}

	u = testUI(&fakeControl{}, Options{Status: "Cannot trace x: unknown host: x"})
	if u.status != "Cannot trace x: unknown host: x" {
		t.Errorf("initial status %q", u.status)
	}
	press(u, "g")
	if u.prompt != nil || u.status != "Changing the target works in the view of one target." {
		t.Errorf("without Retarget: %q", u.status)
	}
}

// TestPrivacyKeyHidesLocalInAnalysis: the analysis pane's reverse-path command names this
// host's address, which # hides like the title's (set by the key, not --privacy, the app's
// Options.Local still holds it).
func TestPrivacyKeyHidesLocalInAnalysis(t *testing.T) {
	command := func(u *ui) string {
		_, shown := render(t, u, faultyPath(100), 120, 50)
		for _, l := range shown {
			if strings.Contains(l, "mtr -r -c") {
				return l
			}
		}
		t.Fatalf("no reverse-path command in the pane:\n%s", strings.Join(shown, "\n"))
		return ""
	}
	u := testUI(&fakeControl{}, Options{Analyze: true})
	if c := command(u); !strings.Contains(c, "198.18.0.1") {
		t.Fatalf("without # the command should name this host: %q", c)
	}
	// The very next frame, well within the wait between two analyses.
	press(u, "#", "<C-u>", "2", "<Enter>")
	if c := command(u); strings.Contains(c, "198.18.0.1") {
		t.Errorf("# 2 still names this host's address: %q", c)
	}
}
