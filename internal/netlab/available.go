package netlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

var (
	availOnce sync.Once
	availErr  error
)

// Available reports why labs cannot be built here, or nil: it needs root,
// ip and nft, and the kernel must support network namespaces and nftables
// (checked once per process by building a namespace with an nft table).
func Available() error {
	availOnce.Do(func() { availErr = checkAvailable() })
	return availErr
}

// AvailableFor is Available plus what spec needs in addition (dnsmasq for
// Spec.DNS).
func AvailableFor(spec Spec) error {
	if err := Available(); err != nil {
		return err
	}
	if spec.DNS {
		if _, err := exec.LookPath("dnsmasq"); err != nil {
			return fmt.Errorf("netlab: Spec.DNS needs dnsmasq: %w", err)
		}
	}
	return nil
}

func checkAvailable() error {
	if os.Geteuid() != 0 {
		return errors.New("netlab: needs root (network namespaces, veths, nftables)")
	}
	for _, tool := range []string{"ip", "nft", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("netlab: %w", err)
		}
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return fmt.Errorf("netlab: no network namespace support: %w", err)
	}
	// Try the real thing once; this also makes the first `ip netns add`
	// (which sets up the shared /var/run/netns mount) happen before labs
	// are built in parallel.
	ns := namePrefix + strconv.FormatInt(int64(os.Getpid()), 36) + "-probe"
	if err := addNamespace(ns); err != nil {
		return fmt.Errorf("netlab: cannot create a network namespace: %w", err)
	}
	defer removeNamespace(ns)
	if _, err := run("add table inet netlab\n", "ip", "netns", "exec", ns, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("netlab: nftables unusable: %w", err)
	}
	return nil
}

// New builds a lab for a test and closes it in t.Cleanup. It goes through Require: under -short
// the test is skipped, and when labs cannot be built here (not root, tools or kernel support
// missing) it is skipped, or failed where a lab is required.
func New(t testing.TB, spec Spec) *Lab {
	t.Helper()
	Require(t, func() error { return AvailableFor(spec) })
	l, err := Build(spec)
	if err != nil {
		t.Fatalf("netlab: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("netlab: close lab: %v", err)
		}
	})
	return l
}

// Require is the one gate of the lab tests and of what they need besides a lab (tmux, chromium,
// mtr). Under go test -short it skips t before check runs: -short means unit tests only, even as
// root and with CI=true (CI runs make test, not make test-short), and Available's own probe
// already creates a namespace. Otherwise, when check (nil checks nothing) says what is missing,
// t fails where a lab is required (CI=true or MTRGO_LAB=require), so a CI run cannot pass by
// skipping its lab tests, and is skipped elsewhere.
func Require(t testing.TB, check func() error) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping a network-lab test under -short (unit tests only)")
	}
	if check == nil {
		return
	}
	if err := check(); err != nil {
		if required() {
			t.Fatalf("%v (a lab is required: CI=true or MTRGO_LAB=require)", err)
		}
		t.Skipf("skipping: %v", err)
	}
}

// Tool is a Require check that the program name is installed (from the Debian package pkg).
func Tool(name, pkg string) func() error {
	return func() error {
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Errorf("%s not installed (Debian package: %s)", name, pkg)
		}
		return nil
	}
}

func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("MTRGO_LAB") == "require"
}
