package privs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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

// dropChild is set in the environment of the copy of this test binary that drops its
// capabilities, so the test process itself keeps root's for the other tests.
const dropChild = "MTRGO_PRIVS_DROP_CHILD"

// TestDropClearsEveryThread runs Drop in a child process that holds capabilities on many
// threads (root's, with OS threads locked by goroutines) and then reads every thread's CapEff and
// CapPrm from /proc. It runs in whichever build go test makes: with cgo (a C compiler present) it
// is the case that used to leave the other threads privileged.
func TestDropClearsEveryThread(t *testing.T) {
	if os.Getenv(dropChild) == "1" {
		dropAndReport(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: there must be capabilities to drop")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestDropClearsEveryThread$", "-test.v")
	cmd.Env = append(os.Environ(), dropChild+"=1", "SUDO_UID=", "SUDO_GID=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "threads checked:") {
		t.Fatalf("child did not check its threads:\n%s", out)
	}
	t.Logf("cgo build: %v\n%s", cgoBuild, out)
}

func dropAndReport(t *testing.T) {
	// Threads that exist before the drop, parked so they cannot exit.
	var ready, release sync.WaitGroup
	release.Add(1)
	for range 8 {
		ready.Add(1)
		go func() {
			runtime.LockOSThread()
			ready.Done()
			release.Wait()
		}()
	}
	ready.Wait()
	defer release.Done()
	if err := Drop(); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) < 8 {
		t.Fatalf("threads: %d, %v", len(tasks), err)
	}
	for _, st := range tasks {
		f, err := os.Open(st)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch k {
			case "CapEff", "CapPrm", "CapAmb":
				if strings.Trim(strings.TrimSpace(v), "0") != "" {
					t.Errorf("%s: %s %s after Drop", st, k, strings.TrimSpace(v))
				}
			}
		}
		f.Close()
	}
	t.Logf("threads checked: %d", len(tasks))
}
