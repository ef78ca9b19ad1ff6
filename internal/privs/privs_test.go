package privs

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

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
