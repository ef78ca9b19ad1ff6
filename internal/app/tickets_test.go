package app

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/stats"
	"github.com/mtr-go/mtr-go/tui"
)

func TestHistoryOption(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	var out, errb bytes.Buffer
	env := Env{Args: []string{"--history"}, Stdout: &out, Stderr: &errb}
	if code := Main(env); code != exitOK || out.Len() != 0 {
		t.Fatalf("empty history: exit %d, %q %q", code, out.String(), errb.String())
	}
	for _, h := range []string{"a.example", "198.18.0.1", "a.example"} {
		if err := recordHistory(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "mtr-go", "history")); err != nil {
		t.Fatal(err)
	}
	if code := Main(env); code != exitOK || out.String() != "a.example\n198.18.0.1\n" {
		t.Errorf("--history: exit %d, %q %q", code, out.String(), errb.String())
	}

	// A history that cannot be read is one line and exit 1.
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "mtr-go", "history", "file-as-dir"))
	out.Reset()
	if code := Main(env); code != exitFail || !strings.HasPrefix(errb.String(), "mtr-go: history: ") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("unreadable: exit %d, %q", code, errb.String())
	}
}

func TestClipboardCommand(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"wl-copy", "xclip"} {
		// A stand-in that saves what it was given, to check the copy arrives whole.
		script := "#!/bin/sh\nexec /bin/cat > \"$0.out\"\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want string // program used; "" OSC 52
		err  string
	}{
		{map[string]string{}, "", ""},
		{map[string]string{"MTRGO_CLIPBOARD": "osc52", "DISPLAY": ":0"}, "", ""},
		{map[string]string{"MTRGO_CLIPBOARD": "wl-copy"}, "wl-copy", ""},
		{map[string]string{"MTRGO_CLIPBOARD": "xclip"}, "xclip", ""},
		{map[string]string{"MTRGO_CLIPBOARD": "auto", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "wl-copy", ""},
		{map[string]string{"MTRGO_CLIPBOARD": "auto", "DISPLAY": ":0"}, "xclip", ""},
		{map[string]string{"MTRGO_CLIPBOARD": "auto"}, "", ""},
		{map[string]string{"MTRGO_CLIPBOARD": "pbcopy"}, "", `MTRGO_CLIPBOARD="pbcopy": use osc52, wl-copy, xclip or auto`},
	} {
		clip, err := clipboardCommand(env(tc.env))
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%v: error %v, want %q", tc.env, err, tc.err)
			}
			continue
		case err != nil:
			t.Errorf("%v: %v", tc.env, err)
			continue
		case tc.want == "":
			if clip != nil {
				t.Errorf("%v: a command instead of OSC 52", tc.env)
			}
			continue
		}
		os.Remove(filepath.Join(bin, tc.want+".out"))
		if err := clip([]byte("copied table\n")); err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if b, err := os.ReadFile(filepath.Join(bin, tc.want+".out")); err != nil || string(b) != "copied table\n" {
			t.Errorf("%v: %s got %q, %v", tc.env, tc.want, b, err)
		}
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := clipboardCommand(env(map[string]string{"MTRGO_CLIPBOARD": "xclip"})); err == nil || !strings.Contains(err.Error(), "xclip") {
		t.Errorf("xclip missing: %v", err)
	}
}

func TestTmuxClipboard(t *testing.T) {
	tty := filepath.Join(t.TempDir(), "tty")
	if err := os.WriteFile(tty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, e := range []map[string]string{
		{"TERM": "screen"}, // not in tmux
		{"TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default"}, // tcell sends it itself
		{"TERM": "xterm-256color", "TMUX": "/tmp/tmux-0/default"},
	} {
		if tmuxClipboard(env(e), tty) != nil {
			t.Errorf("%v: mtr-go's own OSC 52 where tcell's does", e)
		}
	}
	clip := tmuxClipboard(env(map[string]string{"TERM": "screen", "TMUX": "/tmp/tmux-0/default"}), tty)
	if clip == nil {
		t.Fatal("tmux with TERM=screen: no OSC 52 of mtr-go's own")
	}
	if err := clip([]byte("HOST: x\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(tty); string(b) != "\x1b]52;c;SE9TVDogeAo=\x07" {
		t.Errorf("wrote %q", b)
	}
}

// TestLiveFinalPrivacyKey: the table printed when the live view ends, with hops hidden by the
// key (# in the view, not --privacy), hides this host too: its name on the HOST: line and its
// address in the analysis.
func TestLiveFinalPrivacyKey(t *testing.T) {
	s := testSession(t, testConfig(cli.ModeCurses), nil)
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	res := tui.Result{Fields: "LS NABWV", IPInfo: -1, Analyze: true, Privacy: 1}
	if err := s.final(Env{Stdout: &b}, time.Now(), res, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "client") || strings.Contains(out, "198.18.0.1") || !strings.Contains(out, "HOST: (hidden)") {
		t.Errorf("final table with # 1:\n%s", out)
	}
}

// TestExporterMaxPath: a copy or export lists at most -E addresses of a load-balanced hop, as
// the view and the final table do.
func TestExporterMaxPath(t *testing.T) {
	cfg := testConfig(cli.ModeCurses)
	cfg.MaxPath = 1
	s := testSession(t, cfg, nil)
	p := stats.NewPath(netip.MustParseAddr("198.18.3.2"), 1, 30)
	for i, from := range []string{"198.18.0.2", "198.18.0.3"} {
		p.Sent(1, uint16(i))
		p.Reply(1, uint16(i), netip.MustParseAddr(from), time.Millisecond, "")
	}
	var b bytes.Buffer
	if err := s.exporter(time.Now(), nil, nil)(&b, false, p.Snapshot(), tui.Result{Fields: "LS NABWV", IPInfo: -1}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Count(out, "198.18.0.") != 1 {
		t.Errorf("export with -E 1:\n%s", out)
	}
}
