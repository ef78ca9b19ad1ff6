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

// New builds a lab for a test and closes it in t.Cleanup. Under go test
// -short it skips the test. When labs cannot be built here (not root, tools
// or kernel support missing) the test is skipped, unless CI=true or
// MTRGO_LAB=require, where a lab that cannot be built must fail the test
// rather than hide it.
func New(t testing.TB, spec Spec) *Lab {
	t.Helper()
	if testing.Short() {
		// -short is the unit tests only (make test-short), whatever CI or MTRGO_LAB say.
		t.Skip("skipping: network lab under -short")
	}
	if err := AvailableFor(spec); err != nil {
		if required() {
			t.Fatalf("%v (a lab is required: CI=true or MTRGO_LAB=require)", err)
		}
		t.Skipf("skipping: %v", err)
	}
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

func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("MTRGO_LAB") == "require"
}
