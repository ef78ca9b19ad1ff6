package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// TestLabCgoBuildDropsEveryThread builds mtr-go as a plain go build/go install does when a C
// compiler is there (cgo on), runs a report as root, and while it probes reads every thread's
// capabilities from /proc: none may be left on any thread, and the run warns about nothing.
// MTRGO_CGO_BIN runs a given binary instead (to check an older build).
func TestLabCgoBuildDropsEveryThread(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil && os.Getenv("MTRGO_CGO_BIN") == "" {
		t.Skip("no C compiler: no cgo build")
	}
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	bin := os.Getenv("MTRGO_CGO_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "mtr-go-cgo")
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build with cgo: %v\n%s", err, out)
		}
	}
	if out, _ := exec.Command("go", "version", "-m", bin).CombinedOutput(); !strings.Contains(string(out), "CGO_ENABLED=1") {
		t.Fatalf("not a cgo build:\n%s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := lab.Command(ctx, bin, "-r", "-n", "-c", "30", "-i", "0.2", lab.Target4.String())
	var stdout lockedBuffer
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// ip netns exec execs mtr-go in its own place: the pid is mtr-go's. Its sockets are open and
	// its privileges dropped once it writes its Start line; half a second later it probes on
	// every thread it will have.
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !strings.Contains(stdout.String(), "Start: "); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/status")
	if len(tasks) < 2 {
		t.Fatalf("%d threads: is mtr-go running?", len(tasks))
	}
	for _, st := range tasks {
		raw, err := os.ReadFile(st)
		if err != nil {
			continue // the thread ended
		}
		for _, l := range strings.Split(string(raw), "\n") {
			k, v, _ := strings.Cut(l, ":")
			if (k == "CapEff" || k == "CapPrm") && strings.Trim(strings.TrimSpace(v), "0") != "" {
				t.Errorf("%s: %s %s while probing", st, k, strings.TrimSpace(v))
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
	if !strings.Contains(stdout.String(), lab.Target4.String()) {
		t.Errorf("report lacks the target:\n%s", stdout.String())
	}
	t.Logf("%d threads checked", len(tasks))
}

// lockedBuffer is a bytes.Buffer that the test may read while exec's copier writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
