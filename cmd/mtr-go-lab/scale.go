package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// scale traces N of the lab destination's addresses at once, for each N asked for: first with
// one mtr-go process for all N, then with N mtr processes (one per target, as the exporters that
// wrap mtr do), and prints the probes each sent per second, the loss each reported on a path that
// has none, and the CPU time and memory each used.
func scale(bin string, args []string) error {
	fs := flag.NewFlagSet("mtr-go-lab scale", flag.ContinueOnError)
	fs.StringVar(&bin, "bin", bin, "mtr-go binary (default: mtr-go next to this program, else in PATH)")
	list := fs.String("n", "10,100,1000", "numbers of targets traced at once, one run each, at most "+strconv.Itoa(netlab.MaxDestAddrs))
	count := fs.Int("c", 10, "rounds (the -c of both)")
	interval := fs.String("i", "1", "interval between rounds, seconds (the -i of both)")
	routers := fs.Int("routers", 10, "routers between client and destination (hops = routers+1)")
	v6 := fs.Bool("6", false, "trace the destination's IPv6 addresses")
	udp := fs.Bool("u", false, "UDP probes (the -u of both)")
	tcp := fs.Bool("T", false, "TCP probes (the -T of both)")
	mtrMax := fs.Int("mtr-max", 1000, "most mtr processes run at once: larger N are skipped (0: no mtr)")
	timeout := fs.Duration("timeout", 0, "kill a run that takes longer (default: 3 × c × i + 60s)")
	extra := fs.String("mtrgo", "", `more options for mtr-go alone, e.g. "-Z 2"`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("scale: unexpected argument %q", fs.Arg(0))
	}
	ns, err := parseCounts(*list, netlab.MaxDestAddrs)
	if err != nil {
		return err
	}
	secs, err := strconv.ParseFloat(*interval, 64)
	if err != nil || secs <= 0 || secs > 60 {
		return fmt.Errorf("scale: -i %q: want seconds, more than 0 and at most 60", *interval)
	}
	switch {
	case *count <= 0 || *count > 10000:
		return errors.New("scale: -c must be 1..10000")
	case *routers <= 0 || *routers > netlab.MaxRouters:
		return fmt.Errorf("scale: -routers must be 1..%d", netlab.MaxRouters)
	case *udp && *tcp:
		return errors.New("scale: -u and -T exclude each other")
	case *mtrMax < 0:
		return errors.New("scale: -mtr-max must not be negative")
	case *timeout < 0:
		return errors.New("scale: -timeout must not be negative")
	}
	oneRun := time.Duration(float64(*count) * secs * float64(time.Second))
	if *timeout == 0 {
		*timeout = 3*oneRun + time.Minute
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sb, err := newSideBySide(bin, *mtrMax > 0, "scale: mtr not found (apt-get install mtr-tiny, or -mtr-max 0)",
		netlab.Spec{Routers: *routers, DestAddrs: slices.Max(ns)}, *v6)
	if err != nil {
		return err
	}
	defer closeLab(sb.lab)
	lab := sb.lab
	addrs, path := lab.DestAddrs4, lab.Hops4[:*routers]
	if *v6 {
		addrs, path = lab.DestAddrs6, lab.Hops6[:*routers]
	}
	common := []string{"-j", "-n", "-c", strconv.Itoa(*count), "-i", *interval}
	proto := "ICMP"
	switch {
	case *udp:
		common, proto = append(common, "-u"), "UDP"
	case *tcp:
		common, proto = append(common, "-T"), "TCP"
	}
	if *extra != "" {
		fmt.Printf("mtr-go also given: %s\n", *extra)
	}
	fmt.Printf("%d-hop lab path, destination answering on %d addresses from %s, %s probes, -n -c %d -i %s, %d cores\n",
		*routers+1, len(addrs), addrs[0], proto, *count, *interval, runtime.NumCPU())

	var rows []scaleRow
	mtrStop := "" // why mtr is not run for larger N
	var mtrLast scaleRun
	mtrLastN := 0 // the largest N mtr was measured at
	if sb.mtr == "" {
		mtrStop = "not run (-mtr-max 0)"
	}
	for _, n := range ns {
		targets := make([]string, n)
		for i, a := range addrs[:n] {
			targets[i] = a.String()
		}
		row := scaleRow{n: n}
		fmt.Fprintf(os.Stderr, "N=%d: mtr-go...\n", n)
		argv := append(append(append([]string{sb.mtrGo}, common...), strings.Fields(*extra)...), targets...)
		row.mtrGo = runScale(ctx, lab, *timeout, [][]string{argv}, targets, path)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case mtrStop != "":
			row.mtrSkip = mtrStop
		case n > *mtrMax:
			row.mtrSkip = fmt.Sprintf("skipped: more than -mtr-max %d processes", *mtrMax)
		case forecast(mtrLast, mtrLastN, n, runtime.NumCPU(), memAvailableKB()) != "":
			row.mtrSkip = "skipped: " + forecast(mtrLast, mtrLastN, n, runtime.NumCPU(), memAvailableKB())
		default:
			fmt.Fprintf(os.Stderr, "N=%d: %d mtr processes...\n", n, n)
			argvs := make([][]string, n)
			for i, t := range targets {
				argvs[i] = append(append([]string{sb.mtr}, common...), t)
			}
			r := runScale(ctx, lab, *timeout, argvs, targets, path)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			row.mtr = r
			if n > mtrLastN {
				mtrLast, mtrLastN = r, n
			}
			if why := overwhelmed(r, oneRun, runtime.NumCPU()); why != "" {
				mtrStop = fmt.Sprintf("skipped: at N=%d %s", n, why)
			}
		}
		rows = append(rows, row)
	}
	printScaleTable(os.Stdout, rows)
	return nil
}

// parseCounts reads -n: counts 1..most separated by commas, each once.
func parseCounts(list string, most int) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > most {
			return nil, fmt.Errorf("scale: -n %q: want numbers of targets 1..%d separated by commas", list, most)
		}
		if slices.Contains(ns, n) {
			return nil, fmt.Errorf("scale: -n %q: %d given twice", list, n)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// scaleRow is one N: mtr-go's run and mtr's, or why mtr was not run.
type scaleRow struct {
	n          int
	mtrGo, mtr scaleRun
	mtrSkip    string
}

// scaleRun is what the processes of one run used and reported.
type scaleRun struct {
	procs  int
	wall   time.Duration // from the first start to the last exit
	cpu    time.Duration // user + system of every process, mtr's with its mtr-packet
	rssKB  int64         // one process: its max RSS; several: the peak of their sum, sampled
	probes int           // Snt over every hop of every target
	hops   int           // hops reported, over every target
	lossy  []lossyHop    // hops whose loss is above 0, worst first
	drops  uint64        // packets the lab's interfaces dropped during the run
	bad    []string      // targets without a report or whose path is not the lab's
	err    string        // why the run has no numbers
}

type lossyHop struct {
	target string
	ttl    int
	host   string
	loss   float64
}

// runScale runs the commands at once in the lab's client namespace and reads their JSON reports,
// which together must cover targets in order.
func runScale(ctx context.Context, lab *netlab.Lab, timeout time.Duration, argvs [][]string, targets []string, path []netip.Addr) scaleRun {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := scaleRun{procs: len(argvs)}
	cmds := make([]*exec.Cmd, len(argvs))
	outs := make([]bytes.Buffer, len(argvs))
	errs := make([]bytes.Buffer, len(argvs))
	dropsBefore, dropsErr := lab.Drops()
	start := time.Now()
	// Started from a thread inside the client namespace rather than through "ip netns exec",
	// whose own work before it execs would be counted in each process's CPU time.
	err := lab.Run(func() error {
		for i, argv := range argvs {
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Stdout, cmd.Stderr = &outs[i], &errs[i]
			if err := cmd.Start(); err != nil {
				return fmt.Errorf("start %s: %w", argv[0], err)
			}
			cmds[i] = cmd
		}
		return nil
	})
	peak := make(chan int64, 1)
	stopSampling := make(chan struct{})
	if len(argvs) > 1 {
		go func() { peak <- samplePeakRSS(cmds, stopSampling) }()
	}
	var wg sync.WaitGroup
	waitErrs := make([]error, len(cmds))
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			waitErrs[i] = cmd.Wait()
		}()
	}
	if err != nil {
		cancel() // the ones started are killed
	}
	wg.Wait()
	r.wall = time.Since(start)
	close(stopSampling)
	if len(argvs) > 1 {
		r.rssKB = <-peak
	}
	for _, cmd := range cmds {
		if cmd == nil {
			continue
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			if len(cmds) == 1 {
				r.rssKB = ru.Maxrss
			}
		}
	}
	switch {
	case err != nil:
		r.err = err.Error()
		return r
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.err = fmt.Sprintf("timed out after %v and killed, having used %.1f s of CPU and %.0f MB",
			timeout.Round(100*time.Millisecond), r.cpu.Seconds(), float64(r.rssKB)/1024)
		return r
	case ctx.Err() != nil:
		r.err = ctx.Err().Error()
		return r
	}
	var reports []jsonReport
	for i := range cmds {
		if waitErrs[i] != nil {
			r.err = fmt.Sprintf("%s: %v: %s", argvs[i][0], waitErrs[i], firstLine(errs[i].String()))
			return r
		}
		rep, err := parseReports(outs[i].Bytes())
		if err != nil {
			r.err = fmt.Sprintf("%s: %v", argvs[i][0], err)
			return r
		}
		reports = append(reports, rep...)
	}
	r.tally(reports, targets, path)
	dropsAfter, err := lab.Drops()
	if err = errors.Join(dropsErr, err); err != nil {
		r.err = err.Error()
		return r
	}
	r.drops = dropsAfter - dropsBefore
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// samplePeakRSS adds up, every second until stop, the resident memory of the commands'
// processes and their children (mtr's mtr-packet) and returns the largest sum, in KB.
func samplePeakRSS(cmds []*exec.Cmd, stop <-chan struct{}) int64 {
	pids := map[string]bool{}
	for _, c := range cmds {
		if c != nil {
			pids[strconv.Itoa(c.Process.Pid)] = true
		}
	}
	page := int64(os.Getpagesize()) / 1024
	var peak int64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return peak
		case <-tick.C:
		}
		var sum int64
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			f := procStat(e.Name())
			// Fields after the name: state ppid ... rss (pages) is the 22nd.
			if len(f) < 22 || !(pids[e.Name()] || pids[f[1]]) {
				continue
			}
			rss, _ := strconv.ParseInt(f[21], 10, 64)
			sum += rss * page
		}
		peak = max(peak, sum)
	}
}

// overwhelmed says why a run of N mtr processes shows that more of them would not be
// measured fairly on this machine, or "" when it coped: it failed, used nearly every core, or
// took much longer than its rounds.
func overwhelmed(r scaleRun, oneRun time.Duration, cores int) string {
	switch {
	case r.err != "":
		return "mtr " + r.err
	case r.wall > 0 && r.cpu.Seconds() >= 0.9*float64(cores)*r.wall.Seconds():
		return fmt.Sprintf("%d mtr processes kept %.1f of %d cores busy", r.procs, r.cpu.Seconds()/r.wall.Seconds(), cores)
	case r.wall > 2*oneRun+10*time.Second:
		return fmt.Sprintf("%d mtr processes took %.0f s for %.0f s of rounds", r.procs, r.wall.Seconds(), oneRun.Seconds())
	}
	return ""
}

// forecastFree is the most mtr processes run without a smaller N measured first.
const forecastFree = 100

// forecast says why N mtr processes would be more than this machine copes with, judged from
// the run of last (lastN processes, 0 if none): they would need more than 90 % of its cores
// or half its available memory, scaled from last by N/lastN. Without a measurement only up to
// forecastFree processes are run.
func forecast(last scaleRun, lastN, n, cores int, memAvailKB int64) string {
	if lastN == 0 || last.err != "" || last.wall <= 0 {
		if n > forecastFree {
			return fmt.Sprintf("over %d mtr processes need a smaller N measured first to forecast from (add one to -n)", forecastFree)
		}
		return ""
	}
	scale := float64(n) / float64(lastN)
	busy := last.cpu.Seconds() / last.wall.Seconds() * scale
	rss := float64(last.rssKB) * scale
	switch {
	case busy > 0.9*float64(cores):
		return fmt.Sprintf("%d mtr processes would keep %.1f of %d cores busy (from N=%d)", n, busy, cores, lastN)
	case memAvailKB > 0 && rss > float64(memAvailKB)/2:
		return fmt.Sprintf("%d mtr processes would take %.1f GB, over half the %.1f GB available (from N=%d)",
			n, rss/(1<<20), float64(memAvailKB)/(1<<20), lastN)
	}
	return ""
}

// memAvailableKB is MemAvailable of /proc/meminfo, or 0 when unknown.
func memAvailableKB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// jsonReport is one target's report in mtr's --json document, as both programs write it.
type jsonReport struct {
	dst  string
	hubs []jsonHub
}

type jsonHub struct {
	TTL  int     `json:"count"`
	Host string  `json:"host"`
	Loss float64 `json:"Loss%"`
	Snt  int     `json:"Snt"`
}

// parseReports reads one or more --json documents, one after the other (mtr-go writes one per
// target), checking every number is one a report can hold.
func parseReports(b []byte) ([]jsonReport, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var reps []jsonReport
	for {
		var doc struct {
			Report *struct {
				Mtr struct {
					Dst string `json:"dst"`
				} `json:"mtr"`
				Hubs []jsonHub `json:"hubs"`
			} `json:"report"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("JSON report %d: %w", len(reps)+1, err)
		}
		if doc.Report == nil {
			return nil, fmt.Errorf("JSON report %d: no \"report\"", len(reps)+1)
		}
		for _, h := range doc.Report.Hubs {
			if h.TTL < 1 || h.TTL > 255 || h.Loss < 0 || h.Loss > 100 || h.Snt < 0 || h.Snt > 1<<30 {
				return nil, fmt.Errorf("JSON report %d: hop %d: count, Loss%% or Snt out of range", len(reps)+1, h.TTL)
			}
		}
		reps = append(reps, jsonReport{dst: doc.Report.Mtr.Dst, hubs: doc.Report.Hubs})
	}
	if len(reps) == 0 {
		return nil, errors.New("no JSON report")
	}
	return reps, nil
}

// tally counts the probes and hops of the reports, which must be the targets' in order, each
// with the lab's path (path, then the target), and collects every hop that shows loss.
func (r *scaleRun) tally(reports []jsonReport, targets []string, path []netip.Addr) {
	for i, t := range targets {
		if i >= len(reports) || reports[i].dst != t {
			r.bad = append(r.bad, t+": no report")
			continue
		}
		hubs := reports[i].hubs
		var hosts []string
		for _, h := range hubs {
			r.probes += h.Snt
			r.hops++
			hosts = append(hosts, h.Host)
			if h.Loss > 0 {
				r.lossy = append(r.lossy, lossyHop{target: t, ttl: h.TTL, host: h.Host, loss: h.Loss})
			}
		}
		want := make([]string, 0, len(path)+1)
		for _, a := range path {
			want = append(want, a.String())
		}
		if want = append(want, t); !slices.Equal(hosts, want) {
			r.bad = append(r.bad, fmt.Sprintf("%s: path %s", t, strings.Join(hosts, " ")))
		}
	}
	if len(reports) > len(targets) {
		r.bad = append(r.bad, fmt.Sprintf("%d reports more than targets", len(reports)-len(targets)))
	}
	slices.SortStableFunc(r.lossy, func(a, b lossyHop) int {
		if a.loss != b.loss {
			if a.loss > b.loss {
				return -1
			}
			return 1
		}
		return 0
	})
}

// printScaleTable prints a line per N, mtr-go's numbers beside mtr's, then the worst losses and
// wrong paths of every run, at most a few each.
func printScaleTable(w io.Writer, rows []scaleRow) {
	const colsGo = "%6s %8s %12s %6s %9s %8s"
	fmt.Fprintf(w, "%5s  %-*s | %s\n", "", runWidth, "mtr-go: one process for all N targets", "mtr: one process per target")
	fmt.Fprintf(w, "%5s  "+colsGo+" | "+colsGo+"\n", "N",
		"wall s", "probes/s", "lossy hops", "drops", "CPU s/1k", "RSS MB", "wall s", "probes/s", "lossy hops", "drops", "CPU s/1k", "RSS MB")
	for _, row := range rows {
		fmt.Fprintf(w, "%5d  %-*s | %s\n", row.n, runWidth, runColumns(row.mtrGo, ""), runColumns(row.mtr, row.mtrSkip))
	}
	fmt.Fprint(w, `
probes/s: Snt over every hop of every target / wall time (which includes the wait for late
answers after the last round). lossy hops: hops of any target reporting loss on this clean
path (must be 0) / all hops. drops: packets the lab's interfaces dropped meanwhile (lost
there, not in the program). CPU s/1k: user + system CPU seconds per 1,000 probes (mtr's with
its mtr-packet). RSS: mtr-go's max RSS; mtr's the peak of the sum over its processes (mtr and
mtr-packet), sampled every second.
`)
	for _, row := range rows {
		for _, x := range []struct {
			name string
			r    scaleRun
		}{{"mtr-go", row.mtrGo}, {"mtr", row.mtr}} {
			if x.r.err != "" {
				fmt.Fprintf(w, "N=%d %s: %s\n", row.n, x.name, x.r.err)
			}
			if len(x.r.lossy) > 0 {
				var worst []string
				for _, h := range x.r.lossy[:min(5, len(x.r.lossy))] {
					worst = append(worst, fmt.Sprintf("%s hop %d (%s) %.1f%%", h.target, h.ttl, h.host, h.loss))
				}
				fmt.Fprintf(w, "N=%d %s, worst loss: %s\n", row.n, x.name, strings.Join(worst, ", "))
			}
			if len(x.r.bad) > 0 {
				more := ""
				if len(x.r.bad) > 3 {
					more = fmt.Sprintf(" (and %d more)", len(x.r.bad)-3)
				}
				fmt.Fprintf(w, "N=%d %s, wrong reports: %s%s\n", row.n, x.name, strings.Join(x.r.bad[:min(3, len(x.r.bad))], "; "), more)
			}
		}
	}
}

// runWidth is the width of a run's half of a table line.
const runWidth = 54

// runColumns is one run's half of a table line: its numbers, or why it has none (a failure in
// full below the table).
func runColumns(r scaleRun, skip string) string {
	switch {
	case skip != "":
		return skip
	case r.err != "":
		return "failed (see below)"
	}
	perSec, perK := 0.0, 0.0
	if r.wall > 0 {
		perSec = float64(r.probes) / r.wall.Seconds()
	}
	if r.probes > 0 {
		perK = r.cpu.Seconds() / float64(r.probes) * 1000
	}
	lossy := fmt.Sprintf("%d/%d", len(r.lossy), r.hops)
	if len(r.bad) > 0 {
		lossy += "!"
	}
	return fmt.Sprintf("%6.1f %8.0f %12s %6d %9.4f %8.1f", r.wall.Seconds(), perSec, lossy, r.drops, perK, float64(r.rssKB)/1024)
}
