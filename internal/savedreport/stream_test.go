package savedreport

import (
	"math"
	"strings"
	"testing"
)

// TestStreamRows checks the rows read from lab streams (testdata/stream, made with ip netns exec
// ... mtr -l / -p -c 10 -n and mtr-go's own on the demo lab) against numbers worked out by hand
// from their lines: for raw, hop 4 of lab-demo-mtr-l.txt is answered by
// "p 3 92|73|152|73|609|773|45|49|139|171 ..." µs, so Avg = 2176/10 µs = 0.2176 ms, Best 0.045,
// Wrst 0.773, Last 0.171 and StDev (n-1) 0.256066 ms (awk over the p lines).
func TestStreamRows(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		hops   int
		target string
		ttl    int
		want   Row
		stdev  float64 // compared to 1e-6, as computed by awk
	}{
		{"stream/lab-demo-mtr-l.txt", MtrRaw, 7, "198.18.6.2", 4,
			Row{TTL: 4, Hosts: []string{"198.18.3.2"}, Sent: 10, Recv: 10, RecvExact: true, Last: 0.171, Avg: 0.2176, Best: 0.045, Wrst: 0.773}, 0.256066},
		{"stream/lab-demo-mtr-l.txt", MtrRaw, 7, "198.18.6.2", 5,
			Row{TTL: 5, Hosts: []string{"198.18.4.2"}, Sent: 10, Recv: 7, RecvExact: true, Last: 0.177, Avg: 0.983 / 7, Best: 0.048, Wrst: 0.242}, 0.065317},
		// mtr's first round overshoots: "x 7 …" answered by the destination is cut.
		{"stream/lab-demo-mtr-l.txt", MtrRaw, 7, "198.18.6.2", 7,
			Row{TTL: 7, Hosts: []string{"198.18.6.2"}, Sent: 10, Recv: 8, RecvExact: true, Last: 0.151, Avg: 1.137 / 8, Best: 0.079, Wrst: 0.230}, 0.058139},
		// mtr-go's over IPv6: its first round reached hop 9, hop 8 silent and hop 9 the
		// destination; both are cut.
		{"stream/lab-demo-go-l6.txt", MtrRaw, 7, "2001:db8:6::2", 2,
			Row{TTL: 2, Hosts: []string{"2001:db8:1::2"}, Sent: 10, Recv: 3, RecvExact: true, Last: 0.026, Avg: 0.097 / 3, Best: 0.023, Wrst: 0.048}, 0.013650},
		{"stream/lab-demo-mtr-l-dns.txt", MtrRaw, 7, "198.18.6.2", 1,
			Row{TTL: 1, Hosts: []string{"198.18.0.2"}}, -1},
		// "2 198.18.1.2 55555 4 10 0 0 0", the hop's last line.
		{"stream/lab-demo-mtr-p.txt", MtrSplit, 7, "", 2,
			Row{TTL: 2, Hosts: []string{"198.18.1.2"}, Sent: 10, Recv: 4, RecvExact: true}, 0},
		// -b: "7 dest.lab.test 198.18.6.2 0 9 10 0 0 0"; the address is used.
		{"stream/lab-demo-mtr-pb.txt", MtrSplit, 7, "", 7,
			Row{TTL: 7, Hosts: []string{"198.18.6.2"}, Sent: 10, Recv: 9, RecvExact: true}, 0},
		// mtr-go's: hop 5's line comes again after hop 6's.
		{"stream/lab-demo-go-p.txt", MtrSplit, 7, "", 5,
			Row{TTL: 5, Hosts: []string{"198.18.4.2"}, Sent: 10, Recv: 8, RecvExact: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := parseFile(t, tt.file)
			if r.Format != tt.format || len(r.Rows) != tt.hops || r.Target != tt.target {
				t.Errorf("read as %s with %d hops to %q, want %s with %d to %q", r.Format, len(r.Rows), r.Target, tt.format, tt.hops, tt.target)
			}
			for _, row := range r.Rows {
				if row.TTL != tt.ttl {
					continue
				}
				if tt.stdev < 0 {
					if strings.Join(row.Hosts, " ") != strings.Join(tt.want.Hosts, " ") {
						t.Errorf("hop %d hosts %q, want %q", tt.ttl, row.Hosts, tt.want.Hosts)
					}
					return
				}
				if math.Abs(row.StDev-tt.stdev) > 1e-6 {
					t.Errorf("hop %d StDev %.6f, want %.6f", tt.ttl, row.StDev, tt.stdev)
				}
				row.StDev = 0
				near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
				w := tt.want
				if !near(row.Avg, w.Avg) || !near(row.Last, w.Last) || !near(row.Best, w.Best) || !near(row.Wrst, w.Wrst) {
					t.Errorf("hop %d latency %+v, want %+v", tt.ttl, row, w)
				}
				row.Avg, row.Last, row.Best, row.Wrst = w.Avg, w.Last, w.Best, w.Wrst
				if !equalRow(row, w) {
					t.Errorf("hop %d:\n got %+v\nwant %+v", tt.ttl, row, w)
				}
				return
			}
			t.Errorf("no hop %d in %+v", tt.ttl, r.Rows)
		})
	}
}

// TestRawByHand: a short stream whose every number is checked by hand.
func TestRawByHand(t *testing.T) {
	in := strings.Join([]string{
		"x 0 33000", "h 0 198.18.0.2", "h 0 198.18.0.2", "p 0 1000 33000",
		"x 1 33001", // lost
		"x 0 33002", "p 0 3000 33002",
		"x 1 33003", "h 1 198.18.1.2", "d 1 r2.example", "p 1 500 33003",
		"x 1 33004", "h 1 198.18.1.3", "m 1 100 0 1 255", "p 1 1500 33004",
		"",
	}, "\n")
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		// 1 and 3 ms: Avg 2, StDev sqrt((1+1)/1).
		{TTL: 1, Hosts: []string{"198.18.0.2"}, Sent: 2, Recv: 2, RecvExact: true, Last: 3, Avg: 2, Best: 1, Wrst: 3, StDev: math.Sqrt2},
		// 0.5 and 1.5 ms of 3 probes; the latest responder first.
		{TTL: 2, Hosts: []string{"198.18.1.3", "198.18.1.2"}, Sent: 3, Recv: 2, RecvExact: true, Last: 1.5, Avg: 1, Best: 0.5, Wrst: 1.5, StDev: math.Sqrt(0.5)},
	}
	if r.Format != MtrRaw || len(r.Rows) != len(want) {
		t.Fatalf("read as %s with rows %+v", r.Format, r.Rows)
	}
	for i := range want {
		if !equalRow(r.Rows[i], want[i]) {
			t.Errorf("hop %d:\n got %+v\nwant %+v", i+1, r.Rows[i], want[i])
		}
	}
}

// TestSplitDeletes: "-N" takes a hop off the path; the hops' last lines are their summaries.
func TestSplitDeletes(t *testing.T) {
	in := "1 198.18.0.2 0 1 1 0 0 0\n2 198.18.1.2 0 1 1 1 2 3\n3 198.18.2.2 0 1 1 0 0 0\n-3\n2 198.18.1.2 50000 1 2 1 2 3\n"
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != MtrSplit || len(r.Rows) != 2 {
		t.Fatalf("read as %s with rows %+v", r.Format, r.Rows)
	}
	want := Row{TTL: 2, Hosts: []string{"198.18.1.2"}, Sent: 2, Recv: 1, RecvExact: true, Last: 2, Avg: 2, Best: 1, Wrst: 3}
	if !equalRow(r.Rows[1], want) {
		t.Errorf("hop 2:\n got %+v\nwant %+v", r.Rows[1], want)
	}
}

// TestStreamErrors: a malformed or cut stream is one line naming the line, never a guess.
func TestStreamErrors(t *testing.T) {
	const x = "x 0 33000\nh 0 198.18.0.2\n"
	tests := []struct{ in, want string }{
		{x + "p 0 100 33001\n", "mtr raw stream (-l), line 3: an answer to probe 33001, which was not sent"},
		{x + "p 0 100 33000\np 0 100 33000\n", "line 4: an answer to probe 33000, which was not sent or was answered already"},
		{"x 0 33000\np 0 100 33000\n", "line 2: an answer at hop 0 before an \"h\" line"},
		{x + "x 1 33001\np 0 100 33001\n", "line 4: an answer at hop 0 to probe 33001, sent to hop 1"},
		{x + "p 0 100\n", "line 3: 3 fields for a \"p\" event, want 4 (truncated?)"},
		{x + "p 0 -5 33000\n", "line 3: round-trip time \"-5\" is not a number"},
		{x + "p 0 99999999999 33000\n", "line 3: round-trip time"},
		{"x 0 33000\nh 0 nonsense\n", "line 2: \"nonsense\" is not an address"},
		{"x 300 1\n", "line 1: hop \"300\" is not a number 0-254"},
		{x + "t 0 1\n", "line 3: unknown event \"t\""},
		{x + "x 0 70000\n", "line 3: probe \"70000\" is not a number 0-65535"},
		{x + "m 0 1048576 0 1 1\n", "line 3: MPLS field \"1048576\""},
		{x + "x 1 33001\n", "no probe was answered"},
		{"1 198.18.0.2 0 1 1 0 0 0\n2 198.18.1.2 0 1 1 0 0\n", "mtr split stream (-p), line 2: 7 fields, want 8 (9 with -b) (truncated?)"},
		{"1 198.18.0.2 0 1 1 0 0 0\n2 198.18.1.2 100001 1 1 0 0 0\n", "line 2: \"100001\" is not a number 0-100000"},
		{"1 198.18.0.2 0 2 1 0 0 0\n", "line 1: counts sent 1, received 2 are impossible"},
		{"1 198.18.0.2 0 1 1 5 2 9\n", "line 1: best 5, avg 2, worst 9 ms with 1 answers are impossible"},
		{"1 r1 x.y 0 1 1 0 0 0\n", "line 1: \"x.y\" is not an address"},
		{"1 198.18.0.2 0 1 1 0 0 0\n-x\n", "line 2: \"-x\" is not a hop to delete"},
		{"1 198.18.0.2 0 1 1 0 0 0\n-1\n", "no hops in the report"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) = %v, want an error holding %q", tt.in, err, tt.want)
		}
	}
}

// TestStreamLabSamples reads mtr 0.95's and mtr-go's streams of the lab faults (made with ip netns
// exec ... mtr -l / -p -c 10 -i 0.5 -n on netlab paths of 5 routers) and checks the verdict each
// gets: raw ones get the same as mtr's reports; a split stream cannot show answers that stop.
func TestStreamLabSamples(t *testing.T) {
	tests := []struct {
		file  string
		hops  int
		first string // first finding's kind and hops, "" for none
		concl string // conclusion prefix
	}{
		{"stream/lab-reject-mtr-l.txt", 4, "unreachable 4", "Problem: Hop 4 (198.18.2.2) answers \"unreachable (the report has no code)\""},
		{"stream/lab-reject-go-l.txt", 4, "unreachable 4", "Problem: Hop 4 (198.18.2.2) answers \"unreachable (the report has no code)\""},
		{"stream/lab-reject-mtr-p.txt", 4, "unreachable 4", "Problem: Hop 4 (198.18.2.2) answers \"unreachable (the report has no code)\""},
		{"stream/lab-loop-mtr-l.txt", 30, "routing-loop 2-3", "Problem: Routing loop from hop 2: 198.18.1.2, 198.18.2.2 repeat every 2 hops"},
		{"stream/lab-loop-go-l.txt", 30, "routing-loop 2-3", "Problem: Routing loop from hop 2: 198.18.1.2, 198.18.2.2 repeat every 2 hops"},
		{"stream/lab-loop-mtr-p.txt", 30, "routing-loop 2-3", "Problem: Routing loop from hop 2: 198.18.1.2, 198.18.2.2 repeat every 2 hops"},
		{"stream/lab-silent-mtr-l.txt", 6, "interrupted 5", "Problem: No answer after hop 5 (198.18.4.2)"},
		{"stream/lab-silent-go-l.txt", 6, "interrupted 5", "Problem: No answer after hop 5 (198.18.4.2)"},
		{"stream/lab-silent-mtr-p.txt", 5, "", "No problem found"},
		{"stream/lab-dead-mtr-l.txt", 4, "interrupted 3", "Problem: No answer after hop 3 (198.18.2.2)"},
		{"stream/lab-dead-go-l.txt", 4, "interrupted 3", "Problem: No answer after hop 3 (198.18.2.2)"},
		{"stream/lab-dead-mtr-p.txt", 3, "", "No problem found"},
		{"stream/lab-demo-mtr-l.txt", 7, "destination-throttles 7", "Not settled yet: Only the destination's end of the path loses probes"}, // hop 6 lost 0 of 10
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := parseFile(t, tt.file)
			if len(r.Rows) != tt.hops {
				t.Errorf("%d hops, want %d", len(r.Rows), tt.hops)
			}
			a := r.Analyze()
			if got := head(a); got != tt.first {
				t.Errorf("first finding %q, want %q", got, tt.first)
			}
			if !strings.HasPrefix(a.Conclusion, tt.concl) {
				t.Errorf("conclusion %q, want it to start %q", a.Conclusion, tt.concl)
			}
			split := false
			for _, l := range a.Limits {
				split = split || strings.Contains(l, "lists only hops that answered")
			}
			if split != (r.Format == MtrSplit) {
				t.Errorf("limits %q: the split stream's note wrong", a.Limits)
			}
		})
	}
}

// TestRawCutShortLeavesTheProbesInFlight: a raw stream ended (Ctrl-C) after probes whose answers
// had not come yet: like mtr, those probes are in flight, not lost; a probe that went unanswered
// while later ones were answered is lost.
func TestRawCutShortLeavesTheProbesInFlight(t *testing.T) {
	in := strings.Join([]string{
		"x 0 33000", "h 0 198.18.0.2", "p 0 1000 33000",
		"x 1 33001", "h 1 198.18.1.2", "p 1 2000 33001",
		"x 0 33002", // lost: hop 2's later probe was answered
		"x 1 33003", "p 1 2000 33003",
		"x 0 33004", "x 1 33005", // the stream ends before their answers
		"",
	}, "\n")
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Rows[0]; got.Sent != 2 || got.Recv != 1 {
		t.Errorf("hop 1: snt %d rcv %d, want 2 1 (probe 33002 lost, 33004 in flight)", got.Sent, got.Recv)
	}
	if got := r.Rows[1]; got.Sent != 2 || got.Recv != 2 {
		t.Errorf("hop 2: snt %d rcv %d, want 2 2 (probe 33005 in flight)", got.Sent, got.Recv)
	}
}
