package main

// Lab tests of UDP and TCP probes, ECMP paths and privileges: the built binary in a lab's client
// namespace, compared with mtr where mtr can do the same.

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// family is one address family of a lab path.
type family struct {
	name   string
	target netip.Addr
	hops   []netip.Addr
}

func families(lab *netlab.Lab) []family {
	return []family{{"IPv4", lab.Target4, lab.Hops4}, {"IPv6", lab.Target6, lab.Hops6}}
}

func TestLabUDPAndTCPReachTheDestination(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 4, TCPOpen: []int{80}})
	for _, fam := range families(lab) {
		for _, proto := range []struct {
			name string
			args []string
		}{
			{"UDP", []string{"-u"}},
			{"UDP paris", []string{"-u", "--paris"}},
			{"UDP to port 53 from 40000", []string{"-u", "-P", "53", "-L", "40000"}},
			{"TCP open port 80", []string{"-T", "-P", "80"}},
			{"TCP default port (80)", []string{"-T"}},
			{"TCP closed port", []string{"-T", "-P", "81"}},
		} {
			t.Run(fam.name+"/"+proto.name, func(t *testing.T) {
				args := append(slices.Clone(proto.args), "-r", "-n", "-c", "4", "-i", "0.1", "-G", "0.5", fam.target.String())
				got := mtrgo(t, lab, args...)
				if strings.Join(got.hosts(), " ") != strings.Join(addrs(fam.hops), " ") {
					t.Fatalf("hops %v, want %v\n%s", got.hosts(), addrs(fam.hops), got.raw)
				}
				for _, r := range got.rows {
					if r.loss != 0 || r.snt != 4 {
						t.Errorf("hop %d: loss %.1f%% snt %d, want 0%% 4\n%s", r.hop, r.loss, r.snt, got.raw)
					}
				}
				if slices.Contains(args, "--paris") {
					return // mtr has no flow-stable mode to compare with
				}
				mtr := parseReport(t, run(t, lab, "mtr", args...))
				if len(mtr.rows) == 0 && fam.target.Is6() && slices.Contains(args, "-L") {
					// mtr 0.95 pins both ports by hiding the sequence in the UDP checksum, and
					// over IPv6 it matches none of its answers: its report is empty.
					t.Logf("mtr %v shows no hops over IPv6 (mtr 0.95 bug); mtr-go %v", proto.args, got.hosts())
					return
				}
				if strings.Join(mtr.hosts(), " ") != strings.Join(got.hosts(), " ") {
					t.Errorf("mtr %v shows %v, mtr-go %v", proto.args, mtr.hosts(), got.hosts())
				}
			})
		}
	}
}

// branches returns the addresses a report shows at hop n: the row's and its extra lines'.
func branches(t *testing.T, r report, n int) []string {
	t.Helper()
	for _, row := range r.rows {
		if row.hop == n {
			return append([]string{row.host}, row.extra...)
		}
	}
	t.Fatalf("no hop %d in\n%s", n, r.raw)
	return nil
}

func TestLabECMPClassicShowsBothBranchesParisOne(t *testing.T) {
	const k = 2 // router 2 balances; hop 3 is r3 or the parallel r3b
	lab := netlab.New(t, netlab.Spec{Routers: 4, ECMP: k, TCPOpen: []int{80}})
	for _, fam := range families(lab) {
		parallel := lab.Parallel4
		if fam.target.Is6() {
			parallel = lab.Parallel6
		}
		both := []string{fam.hops[k].String(), parallel.String()}
		slices.Sort(both)
		base := []string{"-r", "-n", "-c", "16", "-i", "0.05", "-G", "0.5", fam.target.String()}
		t.Run(fam.name+"/classic UDP", func(t *testing.T) {
			args := append([]string{"-u"}, base...)
			got := branches(t, mtrgo(t, lab, args...), k+1)
			slices.Sort(got)
			if !slices.Equal(got, both) {
				t.Errorf("mtr-go -u shows %v at hop %d, want both %v", got, k+1, both)
			}
			mtr := branches(t, parseReport(t, run(t, lab, "mtr", args...)), k+1)
			slices.Sort(mtr)
			if !slices.Equal(mtr, got) {
				t.Errorf("mtr -u shows %v at hop %d, mtr-go %v", mtr, k+1, got)
			}
		})
		t.Run(fam.name+"/classic TCP", func(t *testing.T) {
			got := branches(t, mtrgo(t, lab, append([]string{"-T"}, base...)...), k+1)
			slices.Sort(got)
			if !slices.Equal(got, both) {
				t.Errorf("mtr-go -T shows %v at hop %d, want both %v", got, k+1, both)
			}
		})
		for _, proto := range []string{"-u", "-T"} {
			t.Run(fam.name+"/paris "+proto, func(t *testing.T) {
				// Several runs: each is one flow, and the kernel picks each run's source port, so
				// over the runs both branches may appear, but never two in one run.
				for range 4 {
					got := branches(t, mtrgo(t, lab, append([]string{proto, "--paris"}, base...)...), k+1)
					if len(got) != 1 || !slices.Contains(both, got[0]) {
						t.Fatalf("mtr-go %s --paris shows %v at hop %d, want one of %v", proto, got, k+1, both)
					}
				}
			})
		}
	}
}

// nobodyCopy copies the binary into a directory everyone may enter, as installed binaries are,
// with cap_net_raw+ep when withCap.
func nobodyCopy(t *testing.T, withCap bool) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "mtr-go")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if withCap {
		netlab.Require(t, func() error {
			if out, err := exec.Command("setcap", "cap_net_raw+ep", p).CombinedOutput(); err != nil {
				return fmt.Errorf("setcap: %v %s", err, out)
			}
			return nil
		})
	}
	return p
}

// asNobody is the command line that runs a program as user and group 65534 with no capability
// it could inherit: what an ordinary user's shell gives.
func asNobody(prog string, args ...string) (string, []string) {
	return "setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", prog}, args...)
}

// runWatched runs the program in the lab and, while it runs, reads its /proc status: the
// lines a test checks for what the process kept after start.
func runWatched(t *testing.T, lab *netlab.Lab, env []string, name string, args ...string) (stdout, stderr string, status map[string]string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := lab.Command(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// ip and setpriv exec their successors, so the pid ends up being mtr-go's; wait until it is.
	status = map[string]string{}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, rerr := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if rerr != nil {
			break
		}
		st := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				st[k] = strings.Join(strings.Fields(v), " ")
			}
		}
		// Read again after the sockets are open: the probes have started by then.
		if st["Name"] == "mtr-go" {
			time.Sleep(500 * time.Millisecond)
			if b, rerr = os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); rerr == nil {
				for _, l := range strings.Split(string(b), "\n") {
					if k, v, ok := strings.Cut(l, ":"); ok {
						status[k] = strings.Join(strings.Fields(v), " ")
					}
				}
			}
			break
		}
	}
	err = cmd.Wait()
	return out.String(), errOut.String(), status, err
}

// noCaps checks the capability sets in a /proc status.
func noCaps(t *testing.T, st map[string]string) {
	t.Helper()
	if len(st) == 0 {
		t.Fatal("could not read the process status while it ran")
	}
	for _, k := range []string{"CapEff", "CapPrm", "CapInh", "CapAmb"} {
		if st[k] != "0000000000000000" {
			t.Errorf("%s = %s after start, want none", k, st[k])
		}
	}
}

func TestLabPrivileges(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 3})
	want := strings.Join(addrs(lab.Hops4), " ")
	report := []string{"-r", "-n", "-c", "8", "-i", "0.2", "-G", "0.5", lab.Target4.String()}
	// Without root or cap_net_raw, intervals below 1 s are refused, as in mtr.
	slowReport := []string{"-r", "-n", "-c", "2", "-i", "1", "-G", "0.5", lab.Target4.String()}

	t.Run("sudo drops to the invoking user", func(t *testing.T) {
		out, errOut, st, err := runWatched(t, lab, []string{"SUDO_UID=65534", "SUDO_GID=65534"}, binary(t), report...)
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		if got := strings.Join(parseReport(t, out).hosts(), " "); got != want {
			t.Errorf("hops %s, want %s", got, want)
		}
		if st["Uid"] != "65534 65534 65534 65534" || st["Gid"] != "65534 65534 65534 65534" || st["Groups"] != "" {
			t.Errorf("Uid %q Gid %q Groups %q after start, want all 65534 and no groups", st["Uid"], st["Gid"], st["Groups"])
		}
		noCaps(t, st)
	})
	t.Run("cap_net_raw on the binary, run by nobody", func(t *testing.T) {
		name, args := asNobody(nobodyCopy(t, true), report...)
		out, errOut, st, err := runWatched(t, lab, nil, name, args...)
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		if got := strings.Join(parseReport(t, out).hosts(), " "); got != want {
			t.Errorf("hops %s, want %s", got, want)
		}
		noCaps(t, st)
	})
	t.Run("no capability, ping_group_range open", func(t *testing.T) {
		for _, extra := range [][]string{nil, {"-u"}} {
			name, args := asNobody(nobodyCopy(t, false), append(extra, slowReport...)...)
			out, errOut, _, err := runWatched(t, lab, nil, name, args...)
			if err != nil {
				t.Fatalf("%v %v: %s", extra, err, errOut)
			}
			if got := strings.Join(parseReport(t, out).hosts(), " "); got != want {
				t.Errorf("%v: hops %s, want %s", extra, got, want)
			}
		}
	})
	t.Run("nothing allowed", func(t *testing.T) {
		closed := netlab.New(t, netlab.Spec{Routers: 3, NoPingGroup: true})
		bin := nobodyCopy(t, false)
		name, args := asNobody(bin, "-r", "-n", "-c", "2", closed.Target4.String())
		out, errOut, _, err := runWatched(t, closed, nil, name, args...)
		if err == nil {
			t.Fatalf("ICMP without any privilege worked:\n%s", out)
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if len(lines) != 1 || !strings.Contains(errOut, "sudo") || !strings.Contains(errOut, "setcap cap_net_raw+ep "+bin) ||
			!strings.Contains(errOut, "ping_group_range") {
			t.Errorf("want one line naming sudo, setcap and ping_group_range, got:\n%s", errOut)
		}
		// UDP needs none of them, but probing faster than once a second does, as in mtr.
		name, args = asNobody(bin, "-u", "-r", "-n", "-c", "2", "-i", "0.2", closed.Target4.String())
		out, errOut, _, err = runWatched(t, closed, nil, name, args...)
		if err == nil || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 ||
			!strings.Contains(errOut, "-i 0.2: intervals below 1 second need root or cap_net_raw") {
			t.Errorf("-u -i 0.2 as nobody: err %v, stdout %q, stderr %q; want one line refusing the interval", err, out, errOut)
		}
		name, args = asNobody(bin, "-u", "-r", "-n", "-c", "2", "-i", "1", "-G", "0.5", closed.Target4.String())
		out, errOut, _, err = runWatched(t, closed, nil, name, args...)
		if err != nil {
			t.Fatalf("-u: %v: %s", err, errOut)
		}
		if got := strings.Join(parseReport(t, out).hosts(), " "); got != strings.Join(addrs(closed.Hops4), " ") {
			t.Errorf("-u hops %s", got)
		}
	})
}

func TestLabMarkSelectsPolicyRoute(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2, TCPOpen: []int{80}})
	// Packets marked 7 look up table 7, where the only route is unreachable: a probe with -M 7
	// cannot be sent, one with another mark goes the normal way. A probe the kernel refuses is a
	// lost probe, not the end of the run: the report shows the silent hop and stderr says why.
	for _, c := range [][]string{
		{"ip", "-4", "rule", "add", "fwmark", "7", "lookup", "7"},
		{"ip", "-4", "route", "add", "unreachable", "default", "table", "7"},
		{"ip", "-6", "rule", "add", "fwmark", "7", "lookup", "7"},
		{"ip", "-6", "route", "add", "unreachable", "default", "table", "7"},
	} {
		run(t, lab, c[0], c[1:]...)
	}
	for _, fam := range families(lab) {
		for _, proto := range []string{"", "-u", "-T"} {
			base := []string{"-r", "-n", "-c", "1", "-i", "0.1"}
			if proto != "" {
				base = append(base, proto)
			}
			r := mtrgo(t, lab, append(base, "-M", "8", fam.target.String())...)
			if len(r.rows) != len(fam.hops) {
				t.Errorf("%s %s -M 8: %d hops, want %d\n%s", fam.name, proto, len(r.rows), len(fam.hops), r.raw)
			}
			out, errOut, err := runErr(lab, binary(t), append(base, "-M", "7", fam.target.String())...)
			if err != nil || !strings.Contains(errOut, "mtr-go: probes could not be sent (hop 1): ") ||
				!strings.Contains(errOut, "no route to host") && !strings.Contains(errOut, "unreachable") {
				t.Errorf("%s %s -M 7: err %v, stderr %q; want exit 0 and the policy route's unreachable on stderr", fam.name, proto, err, errOut)
			} else if r := parseReport(t, out); len(r.rows) != 1 || r.rows[0].loss != 100 || r.hosts()[0] != "???" {
				t.Errorf("%s %s -M 7: want one silent hop with 100%% loss\n%s", fam.name, proto, r.raw)
			}
		}
	}
}
