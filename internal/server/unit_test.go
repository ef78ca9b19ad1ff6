package server

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/cli"
)

// unit reads mtr-go.service into its settings (a key given twice keeps every value).
func unit(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("mtr-go.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("not a setting: %q", l)
		}
		out[k] = append(out[k], v)
	}
	return out
}

// TestUnitRunsTheExporter: the unit's ExecStart is a command line mtr-go accepts, and runs the
// exporter on loopback with the targets file.
func TestUnitRunsTheExporter(t *testing.T) {
	u := unit(t)
	if len(u["ExecStart"]) != 1 {
		t.Fatalf("ExecStart %q: want one", u["ExecStart"])
	}
	args := strings.Fields(u["ExecStart"][0])
	if args[0] != "/usr/local/bin/mtr-go" {
		t.Errorf("ExecStart runs %s, not what make install installs", args[0])
	}
	// The targets file is the one thing the test cannot find on this machine: point -F at one.
	targets := filepath.Join(t.TempDir(), "targets")
	if err := os.WriteFile(targets, []byte("198.18.5.2\nlab.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range args {
		if args[i] == "-F" && i+1 < len(args) {
			if args[i+1] != "/etc/mtr-go/targets" {
				t.Errorf("-F %s: the unit's ConfigurationDirectory is /etc/mtr-go", args[i+1])
			}
			args[i+1], found = targets, true
		}
	}
	if !found {
		t.Error("ExecStart reads no -F targets file")
	}
	cfg, err := cli.Parse("", args[1:], nil)
	if err != nil {
		t.Fatalf("mtr-go %s: %v", strings.Join(args[1:], " "), err)
	}
	if cfg.Serve.Addr != "127.0.0.1:9816" || strings.Join(cfg.Targets, " ") != "198.18.5.2 lab.example" {
		t.Errorf("serves %q for %v; want loopback and the file's targets", cfg.Serve.Addr, cfg.Targets)
	}
}

// TestUnitIsUnprivileged: a dynamic user, CAP_NET_RAW as its only capability (ambient), no way
// to gain more, and a read-only system.
func TestUnitIsUnprivileged(t *testing.T) {
	u := unit(t)
	for k, want := range map[string]string{
		"DynamicUser":            "yes",
		"AmbientCapabilities":    "CAP_NET_RAW",
		"CapabilityBoundingSet":  "CAP_NET_RAW",
		"NoNewPrivileges":        "yes",
		"ProtectSystem":          "strict",
		"ProtectHome":            "yes",
		"RestrictSUIDSGID":       "yes",
		"ConfigurationDirectory": "mtr-go",
	} {
		if got := u[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %s", k, got, want)
		}
	}
	if u["User"] != nil {
		t.Errorf("User=%v: the unit runs as a dynamic user", u["User"])
	}
}
