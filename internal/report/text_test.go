package report

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// trace builds a stats.Path the way the scheduler feeds it, so the report tests exercise the real
// accumulators rather than hand-set numbers.
type trace struct {
	p   *stats.Path
	seq uint16
}

func newTrace(target string, first, max int) *trace {
	return &trace{p: stats.NewPath(netip.MustParseAddr(target), first, max)}
}

// lost marks an RTT argument of hop as a probe that never got an answer.
const lost = -1

// hop sends one probe per rtt (ms) to ttl; each is answered by addr unless it is lost.
func (t *trace) hop(ttl int, addr string, rtts ...float64) *trace {
	for _, ms := range rtts {
		t.seq++
		t.p.Sent(ttl, t.seq)
		if ms == lost {
			continue
		}
		d := time.Duration(ms * float64(time.Millisecond))
		t.p.Reply(ttl, t.seq, netip.MustParseAddr(addr), d, "")
	}
	return t
}

// fail sends one probe to ttl that addr answers with an ICMP error.
func (t *trace) fail(ttl int, addr string, ms float64, errText string) *trace {
	t.seq++
	t.p.Sent(ttl, t.seq)
	t.p.Reply(ttl, t.seq, netip.MustParseAddr(addr), time.Duration(ms*float64(time.Millisecond)), errText)
	return t
}

func (t *trace) snapshot() stats.Snapshot {
	t.p.Finish()
	return t.p.Snapshot()
}

// lab is a four-hop path like the netns lab's, hop 2 rate-limiting ICMP.
func lab() *trace {
	return newTrace("198.18.3.2", 1, 30).
		hop(1, "198.18.0.2", 0.21, 0.18, 0.35, 0.19, 0.22).
		hop(2, "198.18.1.2", 0.41, lost, 0.38, lost, 0.52).
		hop(3, "198.18.2.2", 1.5, 1.7, 1.4, 9.8, 1.6).
		hop(4, "198.18.3.2", 2.1, 2.0, 2.3, 2.2, 2.4)
}

func labNames() Names {
	return mapNames(map[string]string{
		"198.18.0.2": "gw.lab",
		"198.18.1.2": "ae-12.core1.fra.example-transit-provider.net",
		"198.18.3.2": "server.example.org",
	})
}

func mapNames(m map[string]string) Names {
	return func(a netip.Addr) string { return m[a.String()] }
}

func TestTextGolden(t *testing.T) {
	tests := []struct {
		name  string
		snap  stats.Snapshot
		names Names
		opts  Options
	}{
		{"default fields", lab().snapshot(), nil, Options{LocalHost: "vm"}},
		{"names cut to 25 characters", lab().snapshot(), labNames(), Options{LocalHost: "vm"}},
		{"wide keeps long names", lab().snapshot(), labNames(), Options{LocalHost: "vm", Wide: true}},
		{"show ips with names", lab().snapshot(), labNames(), Options{LocalHost: "vm", ShowIPs: true}},
		{"wide show ips", lab().snapshot(), labNames(), Options{LocalHost: "vm", Wide: true, ShowIPs: true}},
		{"long local hostname cut", lab().snapshot(), nil,
			Options{LocalHost: "build-runner-42.ci.internal.example.com"}},
		{"wide long local hostname", lab().snapshot(), nil,
			Options{LocalHost: "build-runner-42.ci.internal.example.com", Wide: true}},
		{"ecmp extra addresses", ecmp().snapshot(), nil, Options{LocalHost: "vm"}},
		{"wide ecmp extra addresses", ecmp().snapshot(), labNames(), Options{LocalHost: "vm", Wide: true}},
		{"silent hop in the middle", silentMiddle().snapshot(), nil, Options{LocalHost: "vm"}},
		{"unreachable destination widens loss", unreachable().snapshot(), nil, Options{LocalHost: "vm"}},
		{"slow satellite hop widens times", satellite().snapshot(), nil, Options{LocalHost: "vm"}},
		{"every field", lab().snapshot(), nil, Options{LocalHost: "vm", Fields: "LDRSNBAWVGJMXI"}},
		{"jitter set", lab().snapshot(), nil, Options{LocalHost: "vm", Fields: vocab.JitterFields}},
		{"underscore and repeated fields", lab().snapshot(), nil, Options{LocalHost: "vm", Fields: "_LL_S"}},
		{"icmp error is a normal row", noRoute().snapshot(), nil, Options{LocalHost: "vm"}},
		{"first ttl 3", firstTTL3().snapshot(), nil, Options{LocalHost: "vm"}},
		{"hop numbers above 99", deepPath().snapshot(), nil, Options{LocalHost: "vm"}},
		{"wide hop numbers above 99", deepPath().snapshot(), nil, Options{LocalHost: "vm", Wide: true}},
		{"ipv6", ipv6().snapshot(), nil, Options{LocalHost: "vm"}},
		{"empty path", stats.Snapshot{}, nil, Options{LocalHost: "vm"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Text(&buf, tc.snap, tc.names, tc.opts); err != nil {
				t.Fatal(err)
			}
			checkAligned(t, buf.String())
			golden(t, strings.ReplaceAll(tc.name, " ", "-")+".golden", buf.Bytes())
		})
	}
}

// checkAligned asserts the property mtr breaks on wide values: every row's statistics end at the
// same columns as the header's titles. Rows of a wide report sit two columns right of the header
// in mtr; that shift is uniform, so comparing line lengths of the statistic rows is enough here.
func checkAligned(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := -1
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "        ") { // an extra address line, no statistics
			continue
		}
		if want == -1 {
			want = len(l)
		}
		if len(l) != want {
			t.Errorf("row %q is %d columns wide, want %d", l, len(l), want)
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// ecmp: hop 2 is served by three routers in turn (the latest one, .3, is shown on the row).
func ecmp() *trace {
	return newTrace("198.18.3.2", 1, 30).
		hop(1, "198.18.0.2", 0.2, 0.2, 0.2).
		hop(2, "198.18.1.2", 0.4).hop(2, "198.18.100.2", 0.5).hop(2, "198.18.1.3", 0.45).
		hop(3, "198.18.3.2", 0.6, 0.7, 0.6)
}

func silentMiddle() *trace {
	return newTrace("198.18.3.2", 1, 30).
		hop(1, "198.18.0.2", 0.2, 0.3, 0.2).
		hop(2, "", lost, lost, lost).
		hop(3, "198.18.3.2", 0.6, 0.7, 0.6)
}

// unreachable: the destination never answers, so mtr shows one ??? row after the last router.
func unreachable() *trace {
	return newTrace("203.0.113.9", 1, 30).
		hop(1, "198.18.0.2", 0.2, 0.3, 0.2).
		hop(2, "198.18.1.2", 0.4, 0.4, 0.5).
		hop(3, "", lost, lost, lost)
}

func satellite() *trace {
	return newTrace("198.18.3.2", 1, 30).
		hop(1, "198.18.0.2", 0.2, 0.3, 0.2).
		hop(2, "198.18.1.2", 612.3, 1234.5, 598.0).
		hop(3, "198.18.3.2", 640.1, 12345.6, 655.2)
}

func noRoute() *trace {
	return newTrace("198.18.9.9", 1, 30).
		hop(1, "198.18.0.2", 0.2, 0.3, 0.2).
		fail(2, "198.18.1.2", 0.4, "no route to host").
		fail(2, "198.18.1.2", 0.5, "no route to host")
}

func firstTTL3() *trace {
	return newTrace("198.18.3.2", 3, 30).
		hop(3, "198.18.2.2", 0.5, 0.6).
		hop(4, "198.18.3.2", 0.7, 0.8)
}

func deepPath() *trace {
	return newTrace("198.18.3.2", 98, 255).
		hop(98, "198.18.0.2", 0.2, 0.3).
		hop(99, "198.18.1.2", 0.4, 0.4).
		hop(100, "2001:db8:2:0:1234:5678:9abc:def0", 0.5, 0.6).
		hop(101, "198.18.3.2", 0.7, 0.8)
}

func ipv6() *trace {
	return newTrace("2001:db8:3::2", 1, 30).
		hop(1, "2001:db8::1", 0.2, 0.3).
		hop(2, "2001:db8:2:0:1234:5678:9abc:def0", 0.4, 0.5).
		hop(3, "2001:db8:3::2", 0.6, 0.7)
}

func TestStart(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"utc", time.Date(2026, 11, 27, 2, 32, 23, 0, time.UTC), "Start: 2026-11-27T02:32:23+0000\n"},
		{"east of utc", time.Date(2026, 11, 27, 3, 32, 23, 0, time.FixedZone("CET", 3600)),
			"Start: 2026-11-27T03:32:23+0100\n"},
		{"half hour west", time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("NST", -(3*3600+1800))),
			"Start: 2026-01-02T03:04:05-0330\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Start(&buf, tc.t); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got %q, want %q", buf.String(), tc.want)
			}
		})
	}
}

func TestTextRejectsBadFields(t *testing.T) {
	var buf bytes.Buffer
	err := Text(&buf, lab().snapshot(), nil, Options{Fields: "LSZ"})
	if err == nil || !strings.Contains(err.Error(), "'Z'") {
		t.Fatalf("got %v, want an error naming 'Z'", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q before failing", buf.String())
	}
}

func TestTextMPLSLabelsUnderTheirAddress(t *testing.T) {
	p := stats.NewPath(netip.MustParseAddr("198.51.100.9"), 1, 30)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	p.Sent(1, 1)
	p.Reply(1, 1, a, time.Millisecond, "")
	p.MPLS(1, a, []stats.Label{{Label: 16005, TC: 0, S: false, TTL: 1}, {Label: 24, TC: 7, S: true, TTL: 255}})
	p.Sent(1, 2)
	p.Reply(1, 2, b, time.Millisecond, "")
	p.MPLS(1, b, []stats.Label{{Label: 99, S: true, TTL: 1}})
	var out strings.Builder
	if err := Text(&out, p.Snapshot(), nil, Options{LocalHost: "vm", MPLS: true}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	want := []string{
		"       [MPLS: Lbl 99 TC 0 S 1 TTL 1]", // under the latest responder's row
		"        192.0.2.1",
		"       [MPLS: Lbl 16005 TC 0 S 0 TTL 1]",
		"       [MPLS: Lbl 24 TC 7 S 1 TTL 255]",
	}
	if len(lines) < 6 {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	for i, w := range want {
		if got := strings.TrimRight(lines[i+2], " "); got != w {
			t.Errorf("line %d = %q, want %q", i+2, got, w)
		}
	}
	out.Reset()
	if err := Text(&out, p.Snapshot(), nil, Options{LocalHost: "vm"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "MPLS") {
		t.Errorf("labels shown without -e:\n%s", out.String())
	}
}
