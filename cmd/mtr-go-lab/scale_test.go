package main

import (
	"bytes"
	"context"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

func TestParseCounts(t *testing.T) {
	for _, tc := range []struct {
		list    string
		want    []int
		wantErr string
	}{
		{"10,100,1000", []int{10, 100, 1000}, ""},
		{" 5 , 1", []int{5, 1}, ""},
		{"4096", []int{4096}, ""},
		{"4097", nil, "want numbers of targets 1..4096"},
		{"0", nil, "want numbers"},
		{"10,,100", nil, "want numbers"},
		{"", nil, "want numbers"},
		{"ten", nil, "want numbers"},
		{"10,10", nil, "10 given twice"},
	} {
		got, err := parseCounts(tc.list, 4096)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want one containing %q", tc.list, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || !slices.Equal(got, tc.want)):
			t.Errorf("%q: %v, %v; want %v", tc.list, got, err, tc.want)
		}
	}
}

// Two documents one after the other, as mtr-go writes for two targets (trimmed to the keys
// read, plus some that are not).
const twoReports = `{
    "report": {
        "mtr": {"src": "lab", "dst": "198.19.16.0", "tests": 10},
        "hubs": [
            {"count": 1, "host": "198.18.0.2", "Loss%": 0.0, "Snt": 10, "Avg": 0.05},
            {"count": 2, "host": "198.19.16.0", "Loss%": 10.0, "Snt": 10, "Avg": 0.07}
        ]
    }
}
{"report": {"mtr": {"dst": "198.19.16.1"}, "hubs": [
    {"count": 1, "host": "198.18.0.2", "Loss%": 0.0, "Snt": 9},
    {"count": 2, "host": "???", "Loss%": 100.0, "Snt": 9}]}}
`

func TestParseReports(t *testing.T) {
	got, err := parseReports([]byte(twoReports))
	if err != nil {
		t.Fatal(err)
	}
	want := []jsonReport{
		{"198.19.16.0", []jsonHub{{1, "198.18.0.2", 0, 10}, {2, "198.19.16.0", 10, 10}}},
		{"198.19.16.1", []jsonHub{{1, "198.18.0.2", 0, 9}, {2, "???", 100, 9}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{
		"",
		"Start: 2026-11-30T00:19:15+0000\nHOST: lab  Loss%   Snt\n",
		`{"mtr": {}}`,
		`{"report": {"hubs": [{"count": 0, "host": "a", "Loss%": 0, "Snt": 1}]}}`,
		`{"report": {"hubs": [{"count": 1, "host": "a", "Loss%": 100.5, "Snt": 1}]}}`,
		`{"report": {"hubs": [{"count": 1, "host": "a", "Loss%": 0, "Snt": -1}]}}`,
		`{"report": {"hubs": [{"count": "1", "host": "a"}]}}`,
		twoReports + "{",
	} {
		if _, err := parseReports([]byte(bad)); err == nil {
			t.Errorf("%.40q: no error", bad)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%.40q: error of several lines: %q", bad, err)
		}
	}
}

func FuzzParseReports(f *testing.F) {
	f.Add([]byte(twoReports))
	f.Add([]byte(`{"report": {"mtr": {"dst": "x"}, "hubs": []}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		reps, err := parseReports(b)
		if err != nil {
			return
		}
		if len(reps) == 0 {
			t.Fatal("no reports and no error")
		}
		for _, r := range reps {
			for _, h := range r.hubs {
				if h.TTL < 1 || h.TTL > 255 || !(h.Loss >= 0 && h.Loss <= 100) || h.Snt < 0 {
					t.Fatalf("hub %+v accepted", h)
				}
			}
		}
	})
}

func TestTally(t *testing.T) {
	r1, r2 := netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("198.18.1.2")
	hub := func(ttl int, host string, loss float64) jsonHub { return jsonHub{ttl, host, loss, 10} }
	reports := []jsonReport{
		{"198.19.16.0", []jsonHub{hub(1, "198.18.0.2", 0), hub(2, "198.18.1.2", 10), hub(3, "198.19.16.0", 0)}},
		{"198.19.16.1", []jsonHub{hub(1, "198.18.0.2", 0), hub(2, "???", 100), hub(3, "198.19.16.1", 20)}},
		{"198.19.16.9", []jsonHub{hub(1, "198.18.0.2", 0)}}, // not the third target's
	}
	var r scaleRun
	r.tally(reports, []string{"198.19.16.0", "198.19.16.1", "198.19.16.2", "198.19.16.3"}, []netip.Addr{r1, r2})
	if r.probes != 60 || r.hops != 6 {
		t.Errorf("probes %d, hops %d; want 60, 6 (the third report is not counted)", r.probes, r.hops)
	}
	wantLossy := []lossyHop{
		{"198.19.16.1", 2, "???", 100},
		{"198.19.16.1", 3, "198.19.16.1", 20},
		{"198.19.16.0", 2, "198.18.1.2", 10},
	}
	if !reflect.DeepEqual(r.lossy, wantLossy) {
		t.Errorf("lossy %+v\nwant %+v", r.lossy, wantLossy)
	}
	wantBad := []string{
		"198.19.16.1: path 198.18.0.2 ??? 198.19.16.1",
		"198.19.16.2: no report",
		"198.19.16.3: no report",
	}
	if !slices.Equal(r.bad, wantBad) {
		t.Errorf("bad %q\nwant %q", r.bad, wantBad)
	}

	var extra scaleRun
	extra.tally(reports[:2], []string{"198.19.16.0"}, []netip.Addr{r1, r2})
	if !slices.Equal(extra.bad, []string{"1 reports more than targets"}) {
		t.Errorf("one target, two reports: bad %q", extra.bad)
	}
}

func TestOverwhelmed(t *testing.T) {
	const oneRun = 10 * time.Second
	for _, tc := range []struct {
		r    scaleRun
		want string
	}{
		{scaleRun{procs: 10, wall: 15 * time.Second, cpu: 5 * time.Second}, ""},
		{scaleRun{procs: 10, wall: 29 * time.Second, cpu: 26 * time.Second}, ""}, // 0.9 cores, 29 s within 2 × 10 + 10
		{scaleRun{procs: 100, wall: 20 * time.Second, cpu: 36 * time.Second}, "100 mtr processes kept 1.8 of 2 cores busy"},
		{scaleRun{procs: 100, wall: 31 * time.Second, cpu: 10 * time.Second}, "100 mtr processes took 31 s for 10 s of rounds"},
		{scaleRun{procs: 100, err: "timed out after 1m30s, killed"}, "mtr timed out after 1m30s, killed"},
	} {
		if got := overwhelmed(tc.r, oneRun, 2); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestPrintScaleTable(t *testing.T) {
	clean := scaleRun{procs: 1, wall: 10 * time.Second, cpu: 2200 * time.Millisecond, rssKB: 10240, probes: 11000, hops: 1100}
	lossy := scaleRun{procs: 100, wall: 16 * time.Second, cpu: 8 * time.Second, rssKB: 512000, probes: 8000, hops: 1100, drops: 7,
		lossy: []lossyHop{{"198.19.16.7", 11, "198.19.16.7", 30}, {"198.19.16.2", 3, "198.18.2.2", 10}}}
	rows := []scaleRow{
		{n: 100, mtrGo: clean, mtr: lossy},
		{n: 1000, mtrGo: scaleRun{procs: 1, err: "timed out after 1m30s, killed"}, mtrSkip: "skipped: more than -mtr-max 100 processes"},
	}
	var b bytes.Buffer
	printScaleTable(&b, rows)
	out := b.String()
	for _, want := range []string{
		// 11000 probes in 10 s; 2.2 s of CPU for 11 thousand; 10 MB.
		"  100    10.0     1100       0/1100      0    0.2000     10.0 |   16.0      500       2/1100      7    1.0000    500.0\n",
		" 1000  failed (see below)                                     | skipped: more than -mtr-max 100 processes\n",
		"N=100 mtr, worst loss: 198.19.16.7 hop 11 (198.19.16.7) 30.0%, 198.19.16.2 hop 3 (198.18.2.2) 10.0%\n",
		"N=1000 mtr-go: timed out after 1m30s, killed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no line %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "N=100 mtr-go") {
		t.Errorf("a clean run listed below the table:\n%s", out)
	}
}

func TestForecast(t *testing.T) {
	// 100 mtr processes kept 0.4 cores busy and took 1 GB.
	at100 := scaleRun{procs: 100, wall: 20 * time.Second, cpu: 8 * time.Second, rssKB: 1 << 20}
	const avail = 24 << 20 // KB
	for _, tc := range []struct {
		last         scaleRun
		lastN, n     int
		cores        int
		memAvailKB   int64
		wantContains string
	}{
		{scaleRun{}, 0, 10, 2, avail, ""},
		{scaleRun{}, 0, 100, 2, avail, ""},
		{scaleRun{}, 0, 101, 2, avail, "need a smaller N measured first"},
		{at100, 100, 400, 2, avail, ""}, // 1.6 cores
		{at100, 100, 1000, 2, avail, "1000 mtr processes would keep 4.0 of 2 cores busy (from N=100)"},
		{at100, 100, 1000, 8, avail, ""},
		{at100, 100, 1000, 8, 16 << 20, "would take 10.0 GB, over half the 16.0 GB available (from N=100)"},
		{scaleRun{procs: 100, err: "timed out"}, 100, 1000, 8, avail, "need a smaller N measured first"},
	} {
		got := forecast(tc.last, tc.lastN, tc.n, tc.cores, tc.memAvailKB)
		if (tc.wantContains == "") != (got == "") || !strings.Contains(got, tc.wantContains) {
			t.Errorf("N=%d after N=%d on %d cores: %q, want %q", tc.n, tc.lastN, tc.cores, got, tc.wantContains)
		}
	}
}

// TestLabRunScale runs two mtr processes through runScale on a lab path, and a command that
// outlives its timeout.
func TestLabRunScale(t *testing.T) {
	netlab.Require(t, netlab.Tool("mtr", "mtr-tiny"))
	lab := netlab.New(t, netlab.Spec{Routers: 2, DestAddrs: 2})
	targets := []string{lab.DestAddrs4[0].String(), lab.DestAddrs4[1].String()}
	var argvs [][]string
	for _, target := range targets {
		argvs = append(argvs, []string{"mtr", "-j", "-n", "-c", "5", "-i", "0.2", "-G", "0.5", target})
	}
	r := runScale(context.Background(), lab, time.Minute, argvs, targets, lab.Hops4[:2])
	if r.err != "" || len(r.bad) > 0 || len(r.lossy) > 0 {
		t.Fatalf("error %q, wrong reports %q, lossy hops %+v", r.err, r.bad, r.lossy)
	}
	// 2 targets × 3 hops × 5 rounds.
	if r.procs != 2 || r.probes != 30 || r.hops != 6 || r.cpu <= 0 || r.wall < time.Second {
		t.Errorf("%d processes, %d probes, %d hops, CPU %v in %v; want 2, 30, 6, some CPU in a second or more",
			r.procs, r.probes, r.hops, r.cpu, r.wall)
	}

	r = runScale(context.Background(), lab, 300*time.Millisecond, [][]string{{"sleep", "10"}}, targets[:1], lab.Hops4[:2])
	if !strings.HasPrefix(r.err, "timed out after 300ms and killed") || r.wall > 5*time.Second {
		t.Errorf("sleep 10 with a timeout of 0.3 s: error %q after %v", r.err, r.wall)
	}
}
