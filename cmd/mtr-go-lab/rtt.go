package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// rtt measures how close mtr-go's and mtr's per-hop Avg come to the truth of the wire: a capture
// in the client namespace (kernel timestamps at the client's interface) of each program's own
// probes and answers, paired, averaged per hop. mtr-go's Avg is read from its JSON (full
// precision); mtr's is computed from its raw output (-l: every answer's RTT in µs), since its
// report rounds to 0.1 ms.
func rtt(bin string, args []string) error {
	fs := flag.NewFlagSet("mtr-go-lab rtt", flag.ContinueOnError)
	fs.StringVar(&bin, "bin", bin, "mtr-go binary (default: mtr-go next to this program, else in PATH)")
	count := fs.Int("c", 50, "rounds (the -c of both)")
	interval := fs.String("i", "0.1", "interval between probes (the -i of both)")
	routers := fs.Int("routers", 5, "routers between client and destination (hops = routers+1)")
	v6 := fs.Bool("6", false, "trace the IPv6 destination")
	udp := fs.Bool("u", false, "UDP probes (the -u of both)")
	noMtr := fs.Bool("no-mtr", false, "measure mtr-go only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count <= 0 || *routers <= 0 || *routers > netlab.MaxRouters {
		return errors.New("rtt: -c and -routers must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sb, err := newSideBySide(bin, !*noMtr, "rtt: mtr not found (apt-get install mtr-tiny, or -no-mtr)", netlab.Spec{Routers: *routers}, *v6)
	if err != nil {
		return err
	}
	defer closeLab(sb.lab)
	mtrGo, mtr, lab, target := sb.mtrGo, sb.mtr, sb.lab, sb.target
	common := []string{"-n", "-c", strconv.Itoa(*count), "-i", *interval}
	if *udp {
		common = append(common, "-u")
	}
	proto := "ICMP"
	if *udp {
		proto = "UDP"
	}
	fmt.Printf("%d-hop lab path to %s, %s probes, -c %d -i %s; per-hop Avg in ms\n", *routers+1, target, proto, *count, *interval)
	fmt.Println("wire: a capture at the client's interface of each program's own probes and answers")

	goRun, err := measureRTT(ctx, lab, func(ctx context.Context) (map[int]float64, error) {
		out, err := runIn(ctx, lab, mtrGo, append(append([]string{"-j"}, common...), target.String())...)
		if err != nil {
			return nil, err
		}
		return jsonAvgs(out)
	})
	if err != nil {
		return fmt.Errorf("mtr-go: %w", err)
	}
	var mtrRun rttRun
	if mtr != "" {
		mtrRun, err = measureRTT(ctx, lab, func(ctx context.Context) (map[int]float64, error) {
			out, err := runIn(ctx, lab, mtr, append(append([]string{"-l"}, common...), target.String())...)
			if err != nil {
				return nil, err
			}
			return rawAvgs(bytes.NewReader(out))
		})
		if err != nil {
			return fmt.Errorf("mtr: %w", err)
		}
	}
	printRTTTable(os.Stdout, goRun, mtrRun, mtr != "")
	return nil
}

// rttRun is one program's run: its own per-hop Avg and the capture's for its probes, by TTL.
type rttRun struct {
	prog, wire map[int]float64
	n          map[int]int // answers the capture paired, by TTL
}

// measureRTT captures while run runs one program, then pairs what the capture saw.
func measureRTT(ctx context.Context, lab *netlab.Lab, run func(context.Context) (map[int]float64, error)) (rttRun, error) {
	c, err := lab.Capture()
	if err != nil {
		return rttRun{}, err
	}
	defer c.Close()
	prog, err := run(ctx)
	if err != nil {
		return rttRun{}, err
	}
	pkts, err := c.Take()
	if err != nil {
		return rttRun{}, err
	}
	r := rttRun{prog: prog, wire: map[int]float64{}, n: map[int]int{}}
	for ttl, rtts := range netlab.RTTsByTTL(pkts, nil) {
		var sum time.Duration
		for _, d := range rtts {
			sum += d
		}
		r.wire[ttl] = float64(sum) / float64(len(rtts)) / float64(time.Millisecond)
		r.n[ttl] = len(rtts)
	}
	return r, nil
}

func runIn(ctx context.Context, lab *netlab.Lab, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := lab.Command(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// jsonAvgs reads the per-hop Avg (ms) of mtr-go's (or mtr's) --json report, by TTL.
func jsonAvgs(b []byte) (map[int]float64, error) {
	var doc struct {
		Report struct {
			Hubs []struct {
				Count int     `json:"count"`
				Avg   float64 `json:"Avg"`
				Host  string  `json:"host"`
			} `json:"hubs"`
		} `json:"report"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("JSON report: %w", err)
	}
	avgs := map[int]float64{}
	for _, h := range doc.Report.Hubs {
		if h.Host != "???" {
			avgs[h.Count] = h.Avg
		}
	}
	return avgs, nil
}

// rawAvgs computes the per-hop Avg (ms) from mtr's raw output (-l): "p <hop> <rtt µs> <seq>"
// for every answer, hop counted from 0.
func rawAvgs(r io.Reader) (map[int]float64, error) {
	sum, n := map[int]float64{}, map[int]int{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "p" {
			continue
		}
		hop, err1 := strconv.Atoi(f[1])
		us, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || hop < 0 || hop > 255 || us < 0 {
			return nil, fmt.Errorf("raw output: bad line %q", sc.Text())
		}
		sum[hop+1] += float64(us) / 1000
		n[hop+1]++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	avgs := map[int]float64{}
	for ttl, s := range sum {
		avgs[ttl] = s / float64(n[ttl])
	}
	return avgs, nil
}

// printRTTTable prints a line per hop mtr-go reported: the capture's Avg of mtr-go's probes,
// mtr-go's Avg and their difference, then the same for mtr.
func printRTTTable(w io.Writer, g, m rttRun, withMtr bool) {
	fmt.Fprintf(w, "%4s %9s %9s %8s", "hop", "wire", "mtr-go", "|diff|")
	if withMtr {
		fmt.Fprintf(w, "  %9s %9s %8s", "wire", "mtr", "|diff|")
	}
	fmt.Fprintln(w)
	var worstGo, worstMtr float64
	for ttl := 1; ttl <= 255; ttl++ {
		avg, ok := g.prog[ttl]
		if !ok {
			continue
		}
		wire, ok := g.wire[ttl]
		if !ok {
			fmt.Fprintf(w, "%4d %9s %9.4f %8s", ttl, "-", avg, "-")
		} else {
			d := math.Abs(avg - wire)
			worstGo = max(worstGo, d)
			fmt.Fprintf(w, "%4d %9.4f %9.4f %8.4f", ttl, wire, avg, d)
		}
		if withMtr {
			mw, ok1 := m.wire[ttl]
			ma, ok2 := m.prog[ttl]
			if ok1 && ok2 {
				d := math.Abs(ma - mw)
				worstMtr = max(worstMtr, d)
				fmt.Fprintf(w, "  %9.4f %9.4f %8.4f", mw, ma, d)
			} else {
				fmt.Fprintf(w, "  %9s %9s %8s", "-", "-", "-")
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%4s %9s %9s %8.4f", "max", "", "", worstGo)
	if withMtr {
		fmt.Fprintf(w, "  %9s %9s %8.4f", "", "", worstMtr)
	}
	fmt.Fprintln(w)
}
