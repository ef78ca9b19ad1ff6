package privs

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// nobody is the unprivileged id the setuid test runs as.
const nobody = 65534

// TestDropLeavesSetuidRoot: a setuid-root binary started by an ordinary user (real id nobody,
// effective 0, no SUDO_UID) ends with no id 0 left and no capability, as mtr-packet's setuid()
// does. Kept uid 0, even without capabilities, still owns root's files and gets every
// capability back on exec. The test binary is re-run as that process: Setresuid on the test's
// own process would leave it unable to clean up.
func TestDropLeavesSetuidRoot(t *testing.T) {
	if os.Getenv("PRIVS_TEST_SETUID") == "1" {
		setuidChild()
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to play a setuid-root process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDropLeavesSetuidRoot$")
	cmd.Env = append(os.Environ(), "PRIVS_TEST_SETUID=1")
	cmd.Env = slicesWithout(cmd.Env, "SUDO_UID=", "SUDO_GID=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dropped ok") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func slicesWithout(env []string, prefixes ...string) []string {
	var out []string
	for _, e := range env {
		keep := true
		for _, p := range prefixes {
			keep = keep && !strings.HasPrefix(e, p)
		}
		if keep {
			out = append(out, e)
		}
	}
	return out
}

// setuidChild becomes what exec of a setuid-root binary makes (real ids nobody, effective and
// saved 0), drops, and says what is left.
func setuidChild() {
	fail := func(f string, a ...any) {
		os.Stdout.WriteString("FAIL: " + fmt.Sprintf(f, a...) + "\n")
		os.Exit(1)
	}
	if err := syscall.Setresgid(nobody, 0, 0); err != nil {
		fail("setresgid: %v", err)
	}
	if err := syscall.Setresuid(nobody, 0, 0); err != nil {
		fail("setresuid: %v", err)
	}
	if err := Drop(); err != nil {
		fail("Drop: %v", err)
	}
	ru, eu, su := unix.Getresuid()
	rg, eg, sg := unix.Getresgid()
	if ru != nobody || eu != nobody || su != nobody || rg != nobody || eg != nobody || sg != nobody {
		fail("uids %d %d %d, gids %d %d %d after Drop; want all %d", ru, eu, su, rg, eg, sg, nobody)
	}
	if Privileged() {
		fail("still privileged after Drop")
	}
	// Once every id is nobody's, going back to root must be impossible.
	if err := syscall.Setresuid(0, 0, 0); err == nil {
		fail("regained uid 0 after Drop")
	}
	os.Stdout.WriteString("dropped ok\n")
	os.Exit(0)
}
