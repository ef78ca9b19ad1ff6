package main

// Lab tests of SCTP probes (-S). The lab's kernels have no SCTP module, so the destination
// answers an INIT with protocol unreachable (IPv6: parameter problem, unrecognized next header);
// INIT-ACK and ABORT answers come from a responder of our own on a raw SCTP socket in the
// destination's namespace, whose presence also stops the kernel's protocol unreachable.

import (
	wire "encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
	"golang.org/x/sys/unix"
)

// checkSCTPReport checks a report of count rounds: the lab's path, every hop at 0 % loss.
func checkSCTPReport(t *testing.T, got report, fam family, count int) {
	t.Helper()
	if strings.Join(got.hosts(), " ") != strings.Join(addrs(fam.hops), " ") {
		t.Fatalf("hops %v, want %v\n%s", got.hosts(), addrs(fam.hops), got.raw)
	}
	for _, r := range got.rows {
		if r.loss != 0 || r.snt != count {
			t.Errorf("hop %d: %.1f%% loss of %d sent, want 0%% of %d\n%s", r.hop, r.loss, r.snt, count, got.raw)
		}
	}
}

func TestLabSCTPReachesAHostWithoutSCTP(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 4})
	for _, fam := range families(lab) {
		for _, v := range []struct {
			name string
			args []string
		}{
			{"default port", []string{"-S"}},
			{"port 9899 Paris", []string{"--sctp", "-P", "9899", "--paris"}},
		} {
			t.Run(fam.name+"/"+v.name, func(t *testing.T) {
				args := append(append([]string{}, v.args...), "-r", "-n", "-c", "4", "-i", "0.1", "-G", "0.5", fam.target.String())
				checkSCTPReport(t, mtrgo(t, lab, args...), fam, 4)
			})
		}
		t.Run(fam.name+"/mtr 0.95 side by side", func(t *testing.T) {
			// Not checked, only shown: mtr's helper probes through a kernel SCTP socket, which
			// needs the SCTP module this kernel lacks ("Packet type unsupported").
			out, errOut, err := runErr(lab, "mtr", "-S", "-r", "-n", "-c", "2", "-i", "0.1", fam.target.String())
			t.Logf("mtr -S -r: %v\n%s%s", err, out, errOut)
		})
	}
}

// sctpResponder answers the INITs reaching the destination as its destination port says: 80 with
// an INIT-ACK, 81 with an ABORT, 82 with an ABORT with the T bit (verification tag 0, so only a
// classic source port names the probe), any other port not at all.
type sctpResponder struct {
	fds      []int
	stop     atomic.Bool
	wg       sync.WaitGroup
	answered atomic.Int64
}

func startSCTPResponder(t *testing.T, lab *netlab.Lab) *sctpResponder {
	t.Helper()
	r := &sctpResponder{}
	err := lab.RunIn(lab.Dest(), func() error {
		for _, af := range []int{unix.AF_INET, unix.AF_INET6} {
			fd, err := unix.Socket(af, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 132)
			if err != nil {
				return err
			}
			r.fds = append(r.fds, fd)
			// Reads time out, so stop is seen: closing a socket does not wake its reader.
			tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
			if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				return err
			}
		}
		return nil
	})
	t.Cleanup(func() {
		r.stop.Store(true)
		r.wg.Wait()
		for _, fd := range r.fds {
			unix.Close(fd)
		}
	})
	if err != nil {
		t.Fatalf("raw SCTP sockets in the destination: %v", err)
	}
	for i, fd := range r.fds {
		r.wg.Go(func() { r.serve(fd, i == 0) })
	}
	return r
}

func (r *sctpResponder) serve(fd int, v4 bool) {
	buf := make([]byte, 2048)
	for !r.stop.Load() {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		pkt := buf[:n]
		if v4 {
			if n < 20 || n < int(buf[0]&0x0f)*4 {
				continue
			}
			pkt = pkt[int(buf[0]&0x0f)*4:]
		}
		ans := sctpAnswerTo(pkt)
		if ans == nil {
			continue
		}
		switch sa := from.(type) {
		case *unix.SockaddrInet4:
			sa.Port = 0
		case *unix.SockaddrInet6:
			sa.Port = 0
		}
		if unix.Sendto(fd, ans, 0, from) == nil {
			r.answered.Add(1)
		}
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sctpAnswerTo builds the answer to an INIT packet, or nil. Like a real SCTP stack it drops a
// packet with a bad checksum or a non-zero verification tag. Checksums are computed here with
// hash/crc32, not by mtr-go's code.
func sctpAnswerTo(init []byte) []byte {
	if len(init) < 32 || init[12] != 1 || wire.BigEndian.Uint32(init[4:]) != 0 {
		return nil
	}
	zeroed := append([]byte(nil), init...)
	clear(zeroed[8:12])
	if crc32.Checksum(zeroed, castagnoli) != wire.LittleEndian.Uint32(init[8:]) {
		return nil
	}
	b := make([]byte, 12, 40)
	copy(b[0:], init[2:4]) // ports swapped
	copy(b[2:], init[0:2])
	copy(b[4:], init[16:20]) // their initiate tag is our verification tag
	switch wire.BigEndian.Uint16(init[2:]) {
	case 80:
		b = append(b, 2, 0, 0, 28, // INIT-ACK
			0x11, 0x22, 0x33, 0x44, 0, 1, 0, 0, 0, 10, 0, 10, 0, 0, 0, 1, // its tag, a_rwnd, streams, TSN
			0, 7, 0, 8, 1, 2, 3, 4) // a state cookie
	case 81:
		b = append(b, 6, 0, 0, 4) // ABORT
	case 82:
		clear(b[4:8])
		b = append(b, 6, 1, 0, 4) // ABORT, T bit
	default:
		return nil
	}
	wire.LittleEndian.PutUint32(b[8:], crc32.Checksum(b, castagnoli))
	return b
}

func TestLabSCTPReachedByINITACKAndABORT(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 3})
	resp := startSCTPResponder(t, lab)
	for _, fam := range families(lab) {
		for _, v := range []struct {
			name string
			args []string
		}{
			{"INIT-ACK", []string{"-S"}},
			{"INIT-ACK Paris", []string{"-S", "--paris"}},
			{"ABORT", []string{"-S", "-P", "81"}},
			{"ABORT Paris", []string{"-S", "-P", "81", "--paris"}},
			{"ABORT with the T bit", []string{"-S", "-P", "82"}},
		} {
			t.Run(fam.name+"/"+v.name, func(t *testing.T) {
				before := resp.answered.Load()
				args := append(append([]string{}, v.args...), "-r", "-n", "-c", "4", "-i", "0.1", "-G", "0.5", fam.target.String())
				checkSCTPReport(t, mtrgo(t, lab, args...), fam, 4)
				// Every round reaches the destination, once in the first round and possibly once
				// more in the others (probes beyond the destination's TTL, sent before it answered).
				if n := resp.answered.Load() - before; n < 4 {
					t.Errorf("the responder answered %d INITs, want at least 4", n)
				}
			})
		}
	}
	t.Run("no answer at all", func(t *testing.T) {
		// Port 83 draws nothing, and the responder's socket keeps the kernel's protocol
		// unreachable away: the destination is silent, so the answers above were the responder's.
		got := mtrgo(t, lab, "-S", "-P", "83", "-r", "-n", "-c", "2", "-i", "0.1", "-G", "0.5", "-Z", "1", lab.Target4.String())
		for _, r := range got.rows {
			if r.host == lab.Target4.String() {
				t.Errorf("the destination answered without the responder\n%s", got.raw)
			}
		}
	})
}

// TestLabSCTPPrivileges: SCTP probes need raw sockets and nothing more (no SCTP module, unlike
// mtr's): an ordinary user gets one line saying so, the same user with the capability traces.
func TestLabSCTPPrivileges(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	args := []string{"-S", "-r", "-n", "-c", "2", "-i", "1", "-G", "0.5", lab.Target4.String()}
	name, nargs := asNobody(nobodyCopy(t, false), args...)
	out, errOut, err := runErr(lab, name, nargs...)
	if err == nil || out != "" || strings.Count(errOut, "\n") != 1 ||
		!strings.Contains(errOut, "raw sockets, which SCTP probes need") || strings.Contains(errOut, "ICMP") {
		t.Errorf("without privilege: %v, stdout %q, stderr %q; want one line about raw sockets for SCTP", err, out, errOut)
	}
	name, nargs = asNobody(nobodyCopy(t, true), args...)
	out, errOut, err = runErr(lab, name, nargs...)
	if err != nil {
		t.Fatalf("with cap_net_raw: %v: %s", err, errOut)
	}
	checkSCTPReport(t, parseReport(t, out), family{"IPv4", lab.Target4, lab.Hops4}, 2)
}
