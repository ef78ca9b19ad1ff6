package netlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Command returns a command that runs name with args in the client namespace
// (via `ip netns exec`, which also applies the client's /etc/netns files:
// resolv.conf pointing at the lab's DNS and a hosts file with only
// localhost). Cancelling ctx kills the program itself, since ip execs it.
func (l *Lab) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.Client, name}, args...)...)
}

// CommandIn is Command for any namespace of the lab, e.g. Dest() for a program that must run
// at the far end (a responder, or mtr tracing back to the client). Only the client has the
// lab's resolv.conf and hosts; elsewhere the host's apply, so run such programs without DNS.
func (l *Lab) CommandIn(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	if ns == l.Client {
		return l.Command(ctx, name, args...)
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Run calls fn on a locked OS thread switched into the client namespace and
// switches back afterwards. Sockets opened inside fn stay in the client
// namespace and may be used from any goroutine later; goroutines started by
// fn do not run in the namespace. Only the network namespace changes: files
// such as /etc/resolv.conf are the host's (use Resolver for lab names).
func (l *Lab) Run(fn func() error) error {
	return inNamespace(l.Client, fn)
}

// RunIn is Run for any namespace of the lab, e.g. Router(k) or Dest().
func (l *Lab) RunIn(ns string, fn func() error) error {
	return inNamespace(ns, fn)
}

func inNamespace(ns string, fn func() error) (err error) {
	target, err := os.Open(filepath.Join(netnsRunDir, ns))
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", ns, err)
	}
	defer target.Close()

	runtime.LockOSThread()
	// The thread's own handle, not the process's: an outer Run may already
	// have moved this thread.
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current network namespace: %w", err)
	}
	defer orig.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter namespace %s: %w", ns, err)
	}
	defer func() {
		if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
			// Leave the thread locked: when the goroutine exits the
			// runtime kills the thread instead of reusing it in the
			// wrong namespace.
			err = errors.Join(err, fmt.Errorf("leave namespace %s: %w", ns, serr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}
