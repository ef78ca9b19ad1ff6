// Package privs gives up what mtr-go was started with once its sockets are open: root (when run
// through sudo) and every capability (cap_net_raw set on the binary, or root's). Only opening raw
// sockets needs privilege; parsing what arrives on them, DNS and the terminal do not, so a bug
// there cannot be turned into more than an ordinary user's access.
package privs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// Drop switches to the user who ran sudo (SUDO_UID/SUDO_GID, when running as root), or back to
// the real user and group of a setuid or setgid binary, and clears
// every capability (effective, permitted, inheritable, ambient) of every thread, for good.
// A process that has nothing to drop is left as it is.
func Drop() error {
	if os.Geteuid() == 0 {
		uid, gid, ok, err := sudoUser()
		if err != nil {
			return err
		}
		if ok {
			// Groups first and the uid last: once the uid is not 0 nothing else may change.
			if err := syscall.Setgroups(nil); err != nil {
				return fmt.Errorf("drop supplementary groups: %w", err)
			}
			if err := syscall.Setresgid(gid, gid, gid); err != nil {
				return fmt.Errorf("switch to group %d: %w", gid, err)
			}
			if err := syscall.Setresuid(uid, uid, uid); err != nil {
				return fmt.Errorf("switch to user %d: %w", uid, err)
			}
		}
	}
	// A setuid or setgid binary runs as its owner for whoever started it: back to the real
	// ids, saved ones included so they cannot be taken back. A uid 0 left without capabilities
	// would still own root's files and get every capability back on exec. (With cgo, syscall's
	// set*id go through the C library, which changes every thread.)
	if rg, eg, sg := unix.Getresgid(); eg != rg || sg != rg {
		if err := syscall.Setresgid(rg, rg, rg); err != nil {
			return fmt.Errorf("switch back to group %d: %w", rg, err)
		}
	}
	if ru, eu, su := unix.Getresuid(); eu != ru || su != ru {
		if err := syscall.Setresuid(ru, ru, ru); err != nil {
			return fmt.Errorf("switch back to user %d: %w", ru, err)
		}
	}
	return clearCaps()
}

// Privileged reports whether the process may open raw sockets: it runs as root or holds
// cap_net_raw in its effective set. Call it before Drop. mtr allows intervals below one second
// only to such a process; so does mtr-go.
func Privileged() bool {
	if os.Geteuid() == 0 {
		return true
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[unix.CAP_NET_RAW/32].Effective&(1<<(unix.CAP_NET_RAW%32)) != 0
}

// sudoUser reads the invoking user from sudo's environment. ok is false without sudo, or when
// sudo was used by root itself.
func sudoUser() (uid, gid int, ok bool, err error) {
	us, gs := os.Getenv("SUDO_UID"), os.Getenv("SUDO_GID")
	if us == "" || gs == "" {
		return 0, 0, false, nil
	}
	u, uerr := strconv.ParseUint(us, 10, 32)
	g, gerr := strconv.ParseUint(gs, 10, 32)
	if uerr != nil || gerr != nil {
		return 0, 0, false, fmt.Errorf("SUDO_UID=%q SUDO_GID=%q: not numbers", us, gs)
	}
	if u == 0 {
		return 0, 0, false, nil
	}
	return int(u), int(g), true, nil
}

// clearCaps empties the capability sets of every thread. Capabilities belong to threads in
// Linux, and Go runs goroutines on many, so a capset on the calling thread alone would leave
// cap_net_raw on the others. libcap's cap package applies the set to every thread through psx:
// syscall.AllThreadsSyscall without cgo, and with cgo psx's wrapped pthread_create, which knows
// every thread the C side made too (the runtime's own mechanism refuses cgo processes).
func clearCaps() error {
	// Nothing to clear (an ordinary user running UDP, TCP or ping-socket probes): leave the
	// threads alone.
	empty := cap.NewSet()
	if diff, err := cap.GetProc().Cf(empty); err == nil && diff == 0 && !ambientRaised() {
		return nil
	}
	// The ambient set is not covered by capset; it matters only if we exec something.
	if err := cap.ResetAmbient(); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	if err := empty.SetProc(); err != nil {
		return fmt.Errorf("clear capabilities: %w", err)
	}
	return nil
}

// ambientRaised reports whether the ambient set holds cap_net_raw, the one capability mtr-go
// could have been handed that way.
func ambientRaised() bool {
	on, err := cap.GetAmbient(cap.NET_RAW)
	return err == nil && on
}

// Elevated reports whether the process runs with privileges it was not started with: a setuid
// or setgid binary (real and effective ids differ), or file capabilities (the kernel marks such
// an exec AT_SECURE, as it does setuid ones). Such a process must not let its environment pick
// a program to run with those privileges (MTR_PACKET), as mtr 0.96 refuses it too.
func Elevated() bool {
	if os.Getuid() != os.Geteuid() || os.Getgid() != os.Getegid() {
		return true
	}
	return atSecure()
}

// atSecure reads AT_SECURE from the auxiliary vector the kernel gave the process.
func atSecure() bool {
	auxv, err := unix.Auxv()
	if err != nil {
		return true // cannot tell: assume the worst
	}
	for _, kv := range auxv {
		if kv[0] == atSecureTag {
			return kv[1] != 0
		}
	}
	return false
}

// atSecureTag is AT_SECURE's number in the auxiliary vector (linux/auxvec.h).
const atSecureTag = 23
