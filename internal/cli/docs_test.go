package cli

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite mtr-go.1 and testdata/completion.* from the option table")

// generated are the files generated from the option table, and where they are kept: the man
// page at the top of the repository (make install installs it, man ./mtr-go.1 reads it), the
// completions as golden files.
func generated(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	var b bytes.Buffer
	if err := ManPage(&b); err != nil {
		t.Fatal(err)
	}
	out[filepath.Join("..", "..", "mtr-go.1")] = bytes.Clone(b.Bytes())
	for _, sh := range Shells {
		b.Reset()
		if err := Completion(&b, sh); err != nil {
			t.Fatal(err)
		}
		out[filepath.Join("testdata", "completion."+sh)] = bytes.Clone(b.Bytes())
	}
	return out
}

// TestGeneratedDocsGolden: the committed man page and the completion goldens are what the option
// table generates now (go test ./internal/cli -run Golden -update rewrites them).
func TestGeneratedDocsGolden(t *testing.T) {
	for path, want := range generated(t) {
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./internal/cli -run Golden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what the option table generates (go test ./internal/cli -run Golden -update)", path)
		}
	}
}

// helpOptions are the long options --help names.
func helpOptions(t *testing.T) []string {
	var b bytes.Buffer
	Usage(&b)
	names := regexp.MustCompile(`--[a-z0-9_-]+`).FindAllString(b.String(), -1)
	if len(names) < 50 {
		t.Fatalf("only %d options found in --help", len(names))
	}
	return names
}

// TestDocsListEveryHelpOption: every option --help lists is in the man page and in each
// shell's completions, and --help lists no option the table does not have.
func TestDocsListEveryHelpOption(t *testing.T) {
	table := map[string]bool{}
	for _, o := range Options() {
		table["--"+o.Long] = true
	}
	docs := generated(t)
	for _, name := range helpOptions(t) {
		if !table[name] {
			t.Errorf("--help lists %s, which is not in the option table", name)
		}
		for path, text := range docs {
			want := name
			switch {
			case strings.HasSuffix(path, ".1"):
				want = `\fB` + strings.ReplaceAll(name, "-", `\-`) + `\fR`
			case strings.HasSuffix(path, ".fish"):
				want = "-l " + strings.TrimPrefix(name, "--") + " "
			}
			if !bytes.Contains(text, []byte(want)) {
				t.Errorf("%s does not list %s", path, name)
			}
		}
	}
}

func TestCompletionShell(t *testing.T) {
	cfg, err := Parse("", []string{"--completion", "zsh"}, nil)
	if !IsHelp(err) || cfg.Completion != "zsh" {
		t.Errorf("--completion zsh: %+v, %v", cfg, err)
	}
	if _, err := Parse("", []string{"--completion", "tcsh"}, nil); err == nil || err.Error() != `--completion: unknown shell "tcsh" (bash, zsh or fish)` {
		t.Errorf("--completion tcsh: %v", err)
	}
}

// TestManPageRenders: groff reads the page without a warning (an unescaped request or font
// change shows up here).
func TestManPageRenders(t *testing.T) {
	if _, err := exec.LookPath("groff"); err != nil {
		missing(t, "groff")
	}
	page := generated(t)[filepath.Join("..", "..", "mtr-go.1")]
	cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = bytes.NewReader(page)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}

// TestCompletionScriptsRun runs each script in its shell: bash completes "--comp" and
// "--completion z", zsh and fish (when installed) at least parse theirs.
func TestCompletionScriptsRun(t *testing.T) {
	dir := t.TempDir()
	for path, text := range generated(t) {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := exec.LookPath("bash"); err == nil {
		script := `source "$1"
COMP_WORDS=(mtr-go --comp); COMP_CWORD=1; _mtr_go; echo "${COMPREPLY[*]}"
COMP_WORDS=(mtr-go --completion z); COMP_CWORD=2; _mtr_go; echo "${COMPREPLY[*]}"
COMP_WORDS=(mtr-go -c ''); COMP_CWORD=2; _mtr_go; echo "[${COMPREPLY[*]}]"`
		out, err := exec.Command("bash", "-c", script, "bash", filepath.Join(dir, "completion.bash")).CombinedOutput()
		if err != nil || string(out) != "--completion\nzsh\n[]\n" {
			t.Errorf("bash: %v\n%q", err, out)
		}
	}
	if _, err := exec.LookPath("zsh"); err == nil {
		if out, err := exec.Command("zsh", "-n", filepath.Join(dir, "completion.zsh")).CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v\n%s", err, out)
		}
	} else {
		missing(t, "zsh")
	}
	if _, err := exec.LookPath("fish"); err == nil {
		script := `source $argv[1]; complete -C 'mtr-go --completion '`
		out, err := exec.Command("fish", "-c", script, filepath.Join(dir, "completion.fish")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "bash") || !strings.Contains(string(out), "fish") {
			t.Errorf("fish: %v\n%s", err, out)
		}
	} else {
		missing(t, "fish")
	}
}

// missing notes a program a check needs: in CI (CI=true, which installs it) that is a failure,
// elsewhere the check is left to the golden files.
func missing(t *testing.T, prog string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Errorf("no %s: CI installs it (.ci/run)", prog)
		return
	}
	t.Logf("no %s: its output is checked against the golden file only", prog)
}

// TestManPageNamesEnvironment: every environment variable mtr-go reads for the user (not its
// tests and labs) is in the man page, and the history file it keeps is under FILES.
func TestManPageNamesEnvironment(t *testing.T) {
	var b bytes.Buffer
	if err := ManPage(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, v := range []string{"MTR_OPTIONS", "MTR_PACKET", "MTRGO_CLIPBOARD", "XDG_STATE_HOME", "NO_COLOR"} {
		if !strings.Contains(page, "\n.B "+v+"\n") {
			t.Errorf("ENVIRONMENT lacks %s", v)
		}
	}
	if !strings.Contains(page, "\n.SH FILES\n") || !strings.Contains(page, `mtr\-go/history`) {
		t.Error("no FILES section naming the history file")
	}
}
