package report

import (
	"bytes"
	"github.com/mtr-go/mtr-go/stats"
	"net/netip"
	"strings"
	"testing"
	"time"

	sched "github.com/mtr-go/mtr-go/internal/trace"
)

func TestSplitLines(t *testing.T) {
	names := map[string]string{}
	lookup := mapNames(names)
	tests := []struct {
		name    string
		showIPs bool
		steps   []func(tr *trace) // each step changes the path, then Update runs
		want    string
	}{
		{"first answers, then only changes", false, []func(*trace){
			func(tr *trace) { tr.hop(1, "198.18.0.2", 0.3).hop(2, "198.18.1.2", 1.9) },
			func(tr *trace) {}, // nothing changed: nothing written
			func(tr *trace) { tr.hop(2, "198.18.1.2", 2.4) },
		}, "1 198.18.0.2 0 1 1 0 0 0\n2 198.18.1.2 0 1 1 1 1 1\n2 198.18.1.2 0 2 2 1 2 2\n"},
		{"loss in thousandths, times truncated", false, []func(*trace){
			func(tr *trace) { tr.hop(1, "198.18.0.2", lost, lost, 12.99) },
		}, "1 198.18.0.2 66666 1 3 12 12 12\n"},
		{"a hop that never answered is not written", false, []func(*trace){
			func(tr *trace) { tr.hop(1, "198.18.0.2", 0.3).hop(2, "", lost).hop(3, "198.18.2.2", 0.5) },
		}, "1 198.18.0.2 0 1 1 0 0 0\n3 198.18.2.2 0 1 1 0 0 0\n"},
		{"name arrives: line written again", false, []func(*trace){
			func(tr *trace) { tr.hop(1, "198.18.0.2", 0.3) },
			func(tr *trace) { names["198.18.0.2"] = "gw.lab" },
		}, "1 198.18.0.2 0 1 1 0 0 0\n1 gw.lab 0 1 1 0 0 0\n"},
		{"-b: name and address, address twice without a name", true, []func(*trace){
			func(tr *trace) { tr.hop(1, "198.18.0.2", 0.3).hop(2, "198.18.1.2", 0.4) },
		}, "1 gw.lab 198.18.0.2 0 1 1 0 0 0\n2 198.18.1.2 198.18.1.2 0 1 1 0 0 0\n"},
		{"path gets shorter", false, []func(*trace){
			func(tr *trace) { tr.hop(1, "198.18.0.2", 0.3).hop(2, "198.18.1.2", 0.4).hop(3, "198.18.2.2", 0.4) },
			func(tr *trace) { tr.hop(2, "198.18.3.2", 0.5) }, // the target now answers at TTL 2
		}, "1 198.18.0.2 0 1 1 0 0 0\n2 198.18.1.2 0 1 1 0 0 0\n3 198.18.2.2 0 1 1 0 0 0\n2 198.18.3.2 0 2 2 0 0 0\n-3\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clear(names)
			if tc.showIPs {
				names["198.18.0.2"] = "gw.lab"
			}
			var buf bytes.Buffer
			sp := NewSplit(&buf, tc.showIPs)
			tr := newTrace("198.18.3.2", 1, 30)
			for _, step := range tc.steps {
				step(tr)
				if err := sp.Update(tr.p.Snapshot(), lookup); err != nil {
					t.Fatal(err)
				}
			}
			if buf.String() != tc.want {
				t.Errorf("got:\n%swant:\n%s", buf.String(), tc.want)
			}
		})
	}
}

func TestSplitResetWritesEveryHopAgain(t *testing.T) {
	var buf bytes.Buffer
	sp := NewSplit(&buf, false)
	tr := newTrace("198.18.3.2", 1, 30).hop(1, "198.18.0.2", 0.3)
	_ = sp.Update(tr.p.Snapshot(), nil)
	tr.p.Reset()
	sp.Reset()
	_ = sp.Update(tr.p.Snapshot(), nil) // nothing known after a reset
	tr.hop(1, "198.18.0.2", 0.3)
	_ = sp.Update(tr.p.Snapshot(), nil)
	if want := "1 198.18.0.2 0 1 1 0 0 0\n1 198.18.0.2 0 1 1 0 0 0\n"; buf.String() != want {
		t.Errorf("got:\n%swant:\n%s", buf.String(), want)
	}
}

func TestRawEvents(t *testing.T) {
	a := netip.MustParseAddr("198.18.0.2")
	b := netip.MustParseAddr("198.18.100.2")
	names := mapNames(map[string]string{"198.18.100.2": "r1b.lab"})
	tests := []struct {
		name  string
		names Names
		run   func(r *Raw)
		want  string
	}{
		{"probe, answer in microseconds, 0-based hop", nil, func(r *Raw) {
			r.Sent(1, 7)
			r.Reply(1, 7, a, 1234567*time.Nanosecond)
		}, "x 0 33000\nh 0 198.18.0.2\np 0 1234 33000\n"},
		{"h once per new responder", nil, func(r *Raw) {
			r.Sent(1, 7)
			r.Reply(1, 7, a, time.Millisecond)
			r.Sent(1, 8)
			r.Reply(1, 8, a, time.Millisecond)
			r.Sent(1, 9)
			r.Reply(1, 9, b, time.Millisecond)
		}, "x 0 33000\nh 0 198.18.0.2\np 0 1000 33000\nx 0 33001\np 0 1000 33001\nx 0 33002\nh 0 198.18.100.2\np 0 1000 33002\n"},
		{"d line once, before the answer", names, func(r *Raw) {
			r.Sent(2, 1)
			r.Reply(2, 1, b, time.Millisecond)
			r.Sent(2, 2)
			r.Reply(2, 2, b, time.Millisecond)
		}, "x 1 33000\nh 1 198.18.100.2\nd 1 r1b.lab\np 1 1000 33000\nx 1 33001\np 1 1000 33001\n"},
		{"lost probe is an x without p; late answer keeps its token", nil, func(r *Raw) {
			r.Sent(1, 65535)
			r.Sent(1, 0) // our sequence wraps; tokens go on
			r.Reply(1, 65535, a, 2*time.Second)
		}, "x 0 33000\nx 0 33001\nh 0 198.18.0.2\np 0 2000000 33000\n"},
		{"m lines, one per label, before the answer", nil, func(r *Raw) {
			r.Sent(3, 5)
			r.MPLS(3, []stats.Label{{Label: 24001, TC: 0, S: false, TTL: 1}, {Label: 16, TC: 5, S: true, TTL: 1}})
			r.Reply(3, 5, a, time.Millisecond)
		}, "x 2 33000\nm 2 24001 0 0 1\nm 2 16 5 1 1\nh 2 198.18.0.2\np 2 1000 33000\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := NewRaw(&buf, tc.names)
			tc.run(r)
			if buf.String() != tc.want || r.Err() != nil {
				t.Errorf("got (err %v):\n%swant:\n%s", r.Err(), buf.String(), tc.want)
			}
		})
	}
}

func TestRawTokensWrapLikeMtrs(t *testing.T) {
	r := NewRaw(&bytes.Buffer{}, nil)
	for i := range 65535 - 33000 + 1 {
		r.Sent(1, uint16(i))
	}
	var buf bytes.Buffer
	r.w = &buf
	r.Sent(1, 40000)
	if buf.String() != "x 0 33000\n" {
		t.Errorf("after token 65535: %q, want x 0 33000", buf.String())
	}
}

// TestRawFromFakeRun streams a scripted run through the real scheduler.
func TestRawFromFakeRun(t *testing.T) {
	var buf bytes.Buffer
	r := NewRaw(&buf, labNames())
	fakeLab(t, func(e sched.Event) {
		switch e.Kind {
		case sched.EventSent:
			r.Sent(e.TTL, e.Seq)
		case sched.EventReply:
			r.Reply(e.TTL, e.Seq, e.From, e.RTT)
		}
	})
	golden(t, "raw-lab.txt", buf.Bytes())
	// Every p line answers an x line of the same hop.
	sent := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		f := strings.Fields(l)
		switch f[0] {
		case "x":
			sent[f[2]] = f[1]
		case "p":
			if sent[f[3]] != f[1] {
				t.Errorf("%q answers no probe of hop %s", l, f[1])
			}
		}
	}
}
