package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// userHZ is the unit of the CPU times in /proc/PID/stat: always 100 on Linux.
const userHZ = 100

// cpu runs mtr-go's live view and mtr's curses view side by side, each on a pseudo-terminal of
// its own, on a clean lab path, and prints the CPU time (user + system) each used. mtr's total
// includes its mtr-packet helper.
func cpu(bin string, args []string) error {
	fs := flag.NewFlagSet("mtr-go-lab cpu", flag.ContinueOnError)
	fs.StringVar(&bin, "bin", bin, "mtr-go binary (default: mtr-go next to this program, else in PATH)")
	dur := fs.Duration("for", time.Minute, "how long to measure each run")
	interval := fs.String("i", "0.2", "interval between rounds (the -i of both)")
	routers := fs.Int("routers", 5, "routers between client and destination (hops = routers+1)")
	v6 := fs.Bool("6", false, "trace the IPv6 destination")
	runs := fs.Int("runs", 3, "runs, one after the other")
	cols := fs.Int("cols", 120, "terminal width")
	rows := fs.Int("rows", 40, "terminal height")
	extra := fs.String("mtrgo", "", `more options for mtr-go alone, e.g. "--analyze" (the live view's analysis pane open)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dur <= 0 || *runs <= 0 || *routers <= 0 || *cols < 40 || *rows < 10 {
		return errors.New("cpu: -for, -runs and -routers must be positive, the terminal at least 40x10")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sb, err := newSideBySide(bin, true, "cpu: mtr not found (apt-get install mtr-tiny)", netlab.Spec{Routers: *routers}, *v6)
	if err != nil {
		return err
	}
	defer closeLab(sb.lab)
	mtrGo, mtr, lab, target := sb.mtrGo, sb.mtr, sb.lab, sb.target
	if *extra != "" {
		fmt.Printf("mtr-go also given: %s\n", *extra)
	}
	fmt.Printf("%d-hop lab path to %s, -n -i %s, terminals %dx%d, %v per run, side by side\n",
		*routers+1, target, *interval, *cols, *rows, *dur)
	fmt.Printf("%-4s %22s %26s\n", "run", "mtr-go CPU (terminal)", "mtr + mtr-packet CPU (terminal)")
	var sum [2]float64
	for run := 1; run <= *runs; run++ {
		use, err := measure(ctx, lab, *dur, *cols, *rows,
			append(append([]string{mtrGo, "-n", "-i", *interval}, strings.Fields(*extra)...), target.String()),
			[]string{mtr, "-n", "-i", *interval, target.String()})
		if err != nil {
			return err
		}
		fmt.Printf("%-4d %8.2f s (%6d KB) %14.2f s (%6d KB)\n", run, use[0].cpu, use[0].written/1024, use[1].cpu, use[1].written/1024)
		sum[0], sum[1] = sum[0]+use[0].cpu, sum[1]+use[1].cpu
	}
	n := float64(*runs)
	fmt.Printf("%-4s %8.2f s %25.2f s\n", "mean", sum[0]/n, sum[1]/n)
	return nil
}

// runUsage is what one program used in a run.
type runUsage struct {
	cpu     float64 // seconds of CPU over the measured time
	written int64   // bytes written to its terminal over the whole run
}

// measure starts both commands on their own terminals in the lab's client namespace, lets them
// settle for two seconds, measures the CPU time each process tree uses over dur, and quits them.
func measure(ctx context.Context, lab *netlab.Lab, dur time.Duration, cols, rows int, cmds ...[]string) ([]runUsage, error) {
	var procs []*ptyProc
	defer func() {
		for _, p := range procs {
			p.quit()
		}
	}()
	for _, argv := range cmds {
		p, err := startOnPty(lab, argv, cols, rows)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return nil, err
	}
	before := make([]int64, len(procs))
	for i, p := range procs {
		before[i] = treeCPU(p.cmd.Process.Pid)
	}
	if err := sleep(ctx, dur); err != nil {
		return nil, err
	}
	use := make([]runUsage, len(procs))
	for i, p := range procs {
		use[i].cpu = float64(treeCPU(p.cmd.Process.Pid)-before[i]) / userHZ
		if p.exited() {
			return nil, fmt.Errorf("%s exited during the measurement", p.name)
		}
	}
	for i, p := range procs {
		use[i].written = p.quit()
	}
	procs = nil
	return use, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// ptyProc is a command running on a pseudo-terminal whose output is read and thrown away.
type ptyProc struct {
	name    string
	cmd     *exec.Cmd
	master  *os.File
	done    chan struct{}
	drained chan struct{} // closed when the terminal has nothing more to read
	written int64         // bytes the program wrote to its terminal, after drained
}

// startOnPty runs argv in the lab's client namespace as the session leader of a new
// pseudo-terminal of cols×rows with TERM=xterm-256color.
func startOnPty(lab *netlab.Lab, argv []string, cols, rows int) (*ptyProc, error) {
	master, slave, err := openPty(cols, rows)
	if err != nil {
		return nil, err
	}
	defer slave.Close()
	cmd := lab.Command(context.Background(), argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		master.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &ptyProc{name: argv[0], cmd: cmd, master: master, done: make(chan struct{}), drained: make(chan struct{})}
	go func() {
		// Ends with EIO once the program and its children have closed the terminal.
		p.written, _ = io.Copy(io.Discard, master)
		close(p.drained)
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *ptyProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// quit presses q, as a user would, kills the process if it has not gone after 5 s, and returns
// how many bytes it wrote to its terminal.
func (p *ptyProc) quit() int64 {
	_, _ = p.master.WriteString("q")
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	select {
	case <-p.drained:
	case <-time.After(5 * time.Second): // a child kept the terminal open
	}
	p.master.Close()
	<-p.drained
	return p.written
}

// openPty opens a new pseudo-terminal pair of the given size.
func openPty(cols, rows int) (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open pseudo-terminal: %w", err)
	}
	fd := int(m.Fd())
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0)
	}
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlock pseudo-terminal: %w", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("open pseudo-terminal: %w", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}); err != nil {
		m.Close()
		s.Close()
		return nil, nil, fmt.Errorf("size pseudo-terminal: %w", err)
	}
	return m, s, nil
}

// treeCPU is the CPU time, in 1/userHZ s, used so far by process pid and its living children
// (mtr's mtr-packet).
func treeCPU(pid int) int64 {
	total := procCPU(strconv.Itoa(pid))
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if f := procStat(e.Name()); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			total += procCPU(e.Name())
		}
	}
	return total
}

// procStat returns the fields of /proc/PID/stat after the command name: state, ppid, ...
func procStat(pid string) []string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// procCPU is utime + stime of one process.
func procCPU(pid string) int64 {
	f := procStat(pid)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}
