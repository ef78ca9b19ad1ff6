// Command mtr-go-lab runs mtr-go against a throw-away network of real Linux
// routers built in network namespaces (see internal/netlab), for demos and
// manual testing. It needs root.
//
//	mtr-go-lab [-bin PATH] demo [mtr-go args...]
//	mtr-go-lab up [lab flags]
//	mtr-go-lab [-bin PATH] cpu [-for 1m] [-i 0.2] [-runs 3] [-6]
//	mtr-go-lab [-bin PATH] rtt [-c 50] [-i 0.1] [-6] [-u]
//	mtr-go-lab [-bin PATH] scale [-n 10,100,1000] [-c 10] [-i 1] [-6] [-u|-T] [-mtr-max 100]
//
// demo builds a lab of 6 routers in which hop 2 throttles its ICMP answers
// (40 %) and real loss (15 %) starts at hop 5, with reverse DNS, runs
// "mtr-go ARGS TARGET" in the client namespace attached to the terminal, and
// removes the lab when mtr-go exits or on SIGINT/SIGTERM.
//
// up builds a lab (by default the demo's), prints its namespaces and
// addresses with an example command, and waits for Ctrl-C to remove it.
//
// cpu compares the CPU time of mtr-go's live view with mtr's (mtr-packet
// included), run side by side on pseudo-terminals on a clean lab path.
//
// rtt runs mtr-go's report and then mtr's on a clean lab path while capturing the client's
// packets, and compares each program's per-hop Avg with the capture's for its own probes.
//
// scale traces N of the addresses of a lab destination at once behind a clean path of 10
// routers, for each N, with one mtr-go process and then with N mtr processes, and compares
// probes per second, the loss reported where there is none, CPU per probe and memory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// demoSpec is the lab of the demo: throttling that must not be mistaken for
// loss, and real loss further on.
var demoSpec = netlab.Spec{
	Routers:     6,
	Throttle:    map[int]int{2: 40},
	LossFrom:    5,
	LossPercent: 15,
	DNS:         true,
}

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mtr-go-lab:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  mtr-go-lab [-bin PATH] demo [mtr-go args...]   trace through a demo lab with mtr-go
  mtr-go-lab up [lab flags]                      build a lab and keep it until Ctrl-C
  mtr-go-lab [-bin PATH] cpu [flags]             CPU of mtr-go's and mtr's live views side by side
  mtr-go-lab [-bin PATH] rtt [flags]             mtr-go's and mtr's Avg against a packet capture
  mtr-go-lab [-bin PATH] scale [flags]           N targets at once: one mtr-go against N mtr's
  (run "mtr-go-lab up -h", "mtr-go-lab cpu -h", "mtr-go-lab rtt -h" or "mtr-go-lab scale -h"
  for their flags)
`)
}

func run(args []string) (int, error) {
	fs := flag.NewFlagSet("mtr-go-lab", flag.ContinueOnError)
	fs.Usage = usage
	bin := fs.String("bin", "", "mtr-go binary (default: mtr-go next to this program, else in PATH)")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	if fs.NArg() == 0 {
		usage()
		return 2, nil
	}
	switch cmd, rest := fs.Arg(0), fs.Args()[1:]; cmd {
	case "demo":
		// Also accept -bin right after "demo"; everything else belongs
		// to mtr-go.
		for len(rest) > 0 {
			if v, ok := strings.CutPrefix(strings.TrimPrefix(rest[0], "-"), "-bin="); ok {
				*bin, rest = v, rest[1:]
			} else if (rest[0] == "-bin" || rest[0] == "--bin") && len(rest) > 1 {
				*bin, rest = rest[1], rest[2:]
			} else {
				break
			}
		}
		return demo(*bin, rest)
	case "up":
		return 0, up(rest)
	case "cpu":
		return 0, cpu(*bin, rest)
	case "rtt":
		return 0, rtt(*bin, rest)
	case "scale":
		return 0, scale(*bin, rest)
	default:
		usage()
		return 2, fmt.Errorf("unknown command %q", cmd)
	}
}

// findBinary resolves the mtr-go binary to an absolute path, which
// `ip netns exec` needs no PATH lookup for.
func findBinary(bin string) (string, error) {
	if bin == "" {
		if self, err := os.Executable(); err == nil {
			p := filepath.Join(filepath.Dir(self), "mtr-go")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		bin = "mtr-go"
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("find mtr-go binary (use -bin): %w", err)
	}
	return filepath.Abs(p)
}

func demo(bin string, mtrArgs []string) (int, error) {
	path, err := findBinary(bin)
	if err != nil {
		return 1, err
	}
	// Catch signals before building, so that Ctrl-C at any point still
	// removes the lab.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	lab, err := netlab.Build(demoSpec)
	if err != nil {
		return 1, err
	}
	defer closeLab(lab)
	fmt.Printf("lab: %d routers, hop 2 throttles ICMP 40 %%, real loss 15 %% from hop 5\n", demoSpec.Routers)
	fmt.Printf("target: %s (%s), IPv6 %s\n\n", lab.Target4, lab.Names[lab.Target4], lab.Target6)

	cmd := lab.Command(context.Background(), path, append(mtrArgs, lab.Target4.String())...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("start %s: %w", path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			// A terminal's Ctrl-C reaches mtr-go too; a SIGTERM sent to
			// us alone is passed on so that it exits and we can clean up.
			_ = cmd.Process.Signal(sig)
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				// Like a shell: 128+n for death by signal n.
				if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal()), nil
				}
				return exit.ExitCode(), nil
			}
			return 0, err
		}
	}
}

func up(args []string) error {
	fs := flag.NewFlagSet("mtr-go-lab up", flag.ContinueOnError)
	spec := demoSpec
	throttle := fs.String("throttle", "2=40", "ICMP throttling: hop=percent[,hop=percent...] (empty: none)")
	slow := fs.String("slow", "", "slow ICMP answers: hop=delay[,hop=delay...], e.g. 2=1.5s (empty: none)")
	fs.IntVar(&spec.Routers, "routers", spec.Routers, "routers between client and destination")
	fs.IntVar(&spec.LossFrom, "loss-from", spec.LossFrom, "real loss starts at this hop (0: none)")
	fs.IntVar(&spec.LossPercent, "loss", spec.LossPercent, "real loss, percent")
	fs.BoolVar(&spec.SilentDest, "silent-dest", false, "destination never answers")
	fs.IntVar(&spec.ThrottleDest, "throttle-dest", 0, "destination drops this percentage of its answers: echo replies, unreachables, TCP SYN-ACK/RST (0: none)")
	fs.IntVar(&spec.Loop, "loop", 0, "routing loop between this hop and the one before (0: none)")
	fs.IntVar(&spec.Dead, "dead", 0, "this hop answers but forwards nothing (0: none)")
	fs.IntVar(&spec.NoRoute, "noroute", 0, "this hop has no route to the destination (0: none)")
	fs.IntVar(&spec.Reject, "reject", 0, "this hop rejects traffic for the destination (0: none)")
	fs.IntVar(&spec.ReturnVia, "return-via", 0, "from this router on, the return to the client runs through a return-only router rx (0: symmetric)")
	fs.IntVar(&spec.ReturnLoss, "return-loss", 0, "rx drops this percentage of what it forwards to the client")
	fs.IntVar(&spec.NAT, "nat", 0, "this router masquerades the client's traffic (0: no NAT)")
	fs.BoolVar(&spec.DNS, "dns", spec.DNS, "serve reverse DNS names in the lab")
	fs.IntVar(&spec.DestAddrs, "dest-addrs", 0, "the destination also answers on this many more addresses (0: none)")
	fs.Func("tcp", "a TCP port the destination listens on (repeatable), for -T probes", func(v string) error {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("want a port 1..65535")
		}
		spec.TCPOpen = append(spec.TCPOpen, p)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if spec.Throttle, err = hopValues("-throttle", "percent", *throttle, strconv.Atoi); err != nil {
		return err
	}
	if spec.SlowAnswer, err = hopValues("-slow", "delay", *slow, time.ParseDuration); err != nil {
		return err
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	lab, err := netlab.Build(spec)
	if err != nil {
		return err
	}
	defer closeLab(lab)

	fmt.Printf("client namespace: %s\n", lab.Client)
	for k := 1; k <= spec.Routers; k++ {
		fmt.Printf("router %-2d %-14s %-15s %s\n", k, lab.Router(k), lab.Hops4[k-1], lab.Hops6[k-1])
	}
	fmt.Printf("dest      %-14s %-15s %s\n", lab.Dest(), lab.Target4, lab.Target6)
	if n := len(lab.DestAddrs4); n > 0 {
		fmt.Printf("          and %d more: %s..%s, %s..%s\n", n, lab.DestAddrs4[0], lab.DestAddrs4[n-1], lab.DestAddrs6[0], lab.DestAddrs6[n-1])
	}
	if rx := lab.ReturnRouter(); rx != "" {
		fmt.Printf("rx        %-14s %-15s %s (return only, from router %d)\n", rx, lab.Return4, lab.Return6, spec.ReturnVia)
	}
	if spec.NAT > 0 {
		fmt.Printf("NAT at router %d: the destination sees the client as %s, %s\n", spec.NAT, lab.Public4, lab.Public6)
	}
	fmt.Printf("from the destination: %v\n", lab.Reverse4)
	if spec.DNS {
		fmt.Printf("DNS: %s in the client namespace (names *.lab.test; AS 64501+ for -z, -y)\n", lab.DNSServer)
	}
	fmt.Printf("\ntry:  ip netns exec %s mtr-go %s\n", lab.Client, lab.Target4)
	fmt.Printf("      ip netns exec %s mtr-go -r -c 10 %s\n", lab.Client, lab.Target6)
	fmt.Println("\nCtrl-C removes the lab.")
	<-sigs
	return nil
}

// sideBySide is what a comparison of mtr-go with mtr needs: both binaries (mtr "" when not
// wanted) and a lab path built from spec with its destination of the chosen family. The caller
// closes the lab (closeLab).
type sideBySide struct {
	mtrGo, mtr string
	lab        *netlab.Lab
	target     netip.Addr
}

// newSideBySide finds the binaries and builds the lab; noMtr is the error when mtr is wanted but
// not installed.
func newSideBySide(bin string, wantMtr bool, noMtr string, spec netlab.Spec, v6 bool) (*sideBySide, error) {
	mtrGo, err := findBinary(bin)
	if err != nil {
		return nil, err
	}
	sb := &sideBySide{mtrGo: mtrGo}
	if wantMtr {
		if sb.mtr, err = exec.LookPath("mtr"); err != nil {
			return nil, errors.New(noMtr)
		}
	}
	if sb.lab, err = netlab.Build(spec); err != nil {
		return nil, err
	}
	sb.target = sb.lab.Target4
	if v6 {
		sb.target = sb.lab.Target6
	}
	return sb, nil
}

func closeLab(lab *netlab.Lab) {
	if err := lab.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "mtr-go-lab: remove lab:", err)
	}
}

// hopValues reads a flag's "hop=value[,hop=value...]" list (spaces around items allowed, empty
// items skipped) into a map; netlab.Build checks the hops and values themselves.
func hopValues[V any](flagName, what, list string, parse func(string) (V, error)) (map[int]V, error) {
	m := map[int]V{}
	for _, kv := range strings.Split(list, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		hop, val, ok := strings.Cut(kv, "=")
		k, err1 := strconv.Atoi(strings.TrimSpace(hop))
		v, err2 := parse(strings.TrimSpace(val))
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s %q: want hop=%s", flagName, kv, what)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%s: hop %d given twice", flagName, k)
		}
		m[k] = v
	}
	return m, nil
}
