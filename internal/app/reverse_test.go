package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/probe"
	"github.com/mtr-go/mtr-go/stats"
	"github.com/mtr-go/mtr-go/tui"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// pathProber answers every probe at once from a fixed four-hop path, hop n after n ms exactly
// (the send time it reports is the one the answer is stamped against), so a report of it reads
// the same every run.
type pathProber struct {
	target  netip.Addr
	replies chan probe.Reply
	once    sync.Once
}

func (p *pathProber) Send(seq uint16, ttl int) (time.Time, error) {
	now := time.Now()
	from, kind := netip.AddrFrom4([4]byte{198, 18, byte(ttl - 1), 2}), probe.TimeExceeded
	if ttl >= 4 {
		from, kind = p.target, probe.EchoReply
	}
	p.replies <- probe.Reply{Seq: seq, From: from, At: now.Add(time.Duration(min(ttl, 4)) * time.Millisecond), Kind: kind}
	return now, nil
}
func (p *pathProber) Replies() <-chan probe.Reply { return p.replies }
func (p *pathProber) LocalAddr() netip.Addr       { return netip.MustParseAddr("198.18.0.1") }
func (p *pathProber) Close() error                { p.once.Do(func() { close(p.replies) }); return nil }
func (p *pathProber) SetSize(int) error           { return nil }
func (p *pathProber) SetPattern(int) error        { return nil }
func (p *pathProber) SetTOS(int) error            { return nil }

// fakeStream plays updates into the views as a responder would.
type fakeStream struct {
	updates chan reverse.Update
	closed  chan struct{}
	once    sync.Once
}

func newFakeStream(updates ...reverse.Update) *fakeStream {
	f := &fakeStream{updates: make(chan reverse.Update, len(updates)+1), closed: make(chan struct{})}
	for _, u := range updates {
		f.updates <- u
	}
	return f
}

func (f *fakeStream) Updates() <-chan reverse.Update { return f.updates }
func (f *fakeStream) Close() error                   { f.once.Do(func() { close(f.closed) }); return nil }

// returnSnapshot is the responder's trace back to 198.18.0.1 after rounds rounds: its first hop,
// a router only the return path uses that loses every third probe, and the client.
func returnSnapshot(rounds int) stats.Snapshot {
	p := stats.NewPath(netip.MustParseAddr("198.18.0.1"), 1, 30)
	seq := uint16(0)
	for r := range rounds {
		for i, a := range []string{"198.18.3.1", "198.18.7.1", "198.18.0.1"} {
			seq++
			p.Sent(i+1, seq)
			if i == 1 && r%3 == 2 {
				continue
			}
			p.Reply(i+1, seq, netip.MustParseAddr(a), time.Duration(i+1)*2*time.Millisecond, "")
		}
	}
	p.Finish()
	return p.Snapshot()
}

func revUpdate(rounds int, done bool) reverse.Update {
	return reverse.Update{Responder: "dest.lab.test", Target: netip.MustParseAddr("198.18.0.1"),
		Snapshot: returnSnapshot(rounds), Rounds: rounds, Done: done}
}

// testSession is a session over pathProber with cfg's options, its reverse trace (with
// cfg.Reverse) from dial.
func testSession(t *testing.T, cfg *cli.Config, dial dialFunc) *session {
	t.Helper()
	target := netip.MustParseAddr("198.18.3.2")
	newProber := func(c probe.Config, early ...probe.Protocol) (*probe.Switch, error) {
		return probe.NewSwitchFrom(func(probe.Config) (probe.Prober, error) {
			return &pathProber{target: target, replies: make(chan probe.Reply, 64)}, nil
		}, c)
	}
	s, err := open(cfg, "dest.lab.test", target, "client", nil, nil, newProber)
	if err != nil {
		t.Fatal(err)
	}
	s.dial = dial
	t.Cleanup(s.close)
	return s
}

func testConfig(mode cli.Mode) *cli.Config {
	return &cli.Config{Mode: mode, Count: 3, CountSet: true, Interval: 20 * time.Millisecond, Timeout: time.Second,
		Grace: 200 * time.Millisecond, First: 1, Max: 30, MaxUnknown: 12, Size: 64, NoDNS: true}
}

// runView runs view v over a session of cfg and returns stdout without its Start: line, and stderr.
func runView(t *testing.T, v view, cfg *cli.Config, dial dialFunc) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := v(context.Background(), testSession(t, cfg, dial), Env{Stdout: &out, Stderr: &errOut}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.HasPrefix(text, "Start: ") {
		text = text[strings.IndexByte(text, '\n')+1:]
	}
	return text, errOut.String()
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// The report without --reverse, the forward part of every report below.
func forwardReport(t *testing.T) string {
	out, _ := runView(t, reportView, testConfig(cli.ModeReport), nil)
	return out
}

func TestReportWithReverse(t *testing.T) {
	fwd := forwardReport(t)
	var got reverse.Options
	dial := func(_ context.Context, o reverse.Options) (reverse.Stream, error) {
		got = o
		return newFakeStream(revUpdate(1, false), revUpdate(2, false), revUpdate(3, true)), nil
	}
	cfg := testConfig(cli.ModeReport)
	cfg.Reverse.URL, cfg.Reverse.CAFile = "https://dest.lab.test:9100", "/etc/ca.pem"
	s := testSession(t, cfg, dial)
	s.cfg.Reverse.Token = "s3cret"
	var b bytes.Buffer
	if err := reportView(context.Background(), s, Env{Stdout: &b, Stderr: &b}); err != nil {
		t.Fatal(err)
	}
	out := b.String()[strings.IndexByte(b.String(), '\n')+1:]
	if !strings.HasPrefix(out, fwd+"\n") {
		t.Fatalf("the forward table changed with --reverse:\n%s\nwithout:\n%s", out, fwd)
	}
	want := reverse.Options{URL: "https://dest.lab.test:9100", Token: "s3cret", CAFile: "/etc/ca.pem",
		// -i 0.02 is below what a responder allows: its own shortest is asked for instead.
		Request: reverse.Request{Protocol: probe.ICMPProbes, Count: 3, Interval: 0, Size: 64}}
	if got != want {
		t.Errorf("dialled with %+v, want %+v", got, want)
	}
	goldenFile(t, "report-reverse.golden", out)
}

func TestReportReverseUnreachable(t *testing.T) {
	fwd := forwardReport(t)
	dial := func(context.Context, reverse.Options) (reverse.Stream, error) {
		return nil, errors.New("cannot reach the responder at https://dest.lab.test:9100: connection refused")
	}
	cfg := testConfig(cli.ModeReport)
	cfg.Reverse.URL = "https://dest.lab.test:9100"
	out, _ := runView(t, reportView, cfg, dial)
	if want := fwd + "\nReverse: cannot reach the responder at https://dest.lab.test:9100: connection refused\n"; out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// A responder that never answers holds the report back no longer than reverseGrace after the
// forward trace, and the forward trace ran meanwhile.
func TestReportReverseStalled(t *testing.T) {
	defer func(g, m time.Duration) { reverseGrace, minReverseInterval = g, m }(reverseGrace, minReverseInterval)
	reverseGrace, minReverseInterval = 50*time.Millisecond, time.Millisecond
	fwd := forwardReport(t)
	stalled := make(chan struct{})
	dial := func(ctx context.Context, _ reverse.Options) (reverse.Stream, error) {
		<-ctx.Done() // the TLS handshake that never ends
		close(stalled)
		return nil, ctx.Err()
	}
	cfg := testConfig(cli.ModeReport)
	cfg.Reverse.URL = "https://dest.lab.test:9100"
	out, _ := runView(t, reportView, cfg, dial)
	want := fwd + "\nReverse: no answer from the responder at https://dest.lab.test:9100 (not finished in time)\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	select {
	case <-stalled:
	default:
		t.Errorf("the stalled dial was not cancelled when the report was printed")
	}
}

// A stream that breaks after some rounds keeps them, and says why it stopped.
func TestReportReverseCutShort(t *testing.T) {
	dial := func(context.Context, reverse.Options) (reverse.Stream, error) {
		return newFakeStream(revUpdate(2, false), reverse.Update{Err: errors.New("the responder went away: unexpected EOF")}), nil
	}
	cfg := testConfig(cli.ModeReport)
	cfg.Reverse.URL = "https://dest.lab.test:9100"
	out, _ := runView(t, reportView, cfg, dial)
	if !strings.Contains(out, "\nReverse: from dest.lab.test to 198.18.0.1 (your address as the responder sees it)\nHOST: dest.lab.test") ||
		!strings.HasSuffix(out, "\nReverse: the responder went away: unexpected EOF\n") {
		t.Errorf("want the two rounds' table and why it stopped:\n%s", out)
	}
}

func TestJSONWithReverse(t *testing.T) {
	dial := func(context.Context, reverse.Options) (reverse.Stream, error) {
		return newFakeStream(revUpdate(3, true)), nil
	}
	cfg := testConfig(cli.ModeJSON)
	cfg.Reverse.URL = "https://dest.lab.test:9100"
	out, _ := runView(t, batchView(jsonDoc), cfg, dial)
	var doc struct {
		Report struct {
			Hubs    []struct{ Host string } `json:"hubs"`
			Reverse struct {
				Responder string                  `json:"responder"`
				Target    string                  `json:"target"`
				Hubs      []struct{ Host string } `json:"hubs"`
				Error     *string                 `json:"error"`
			} `json:"reverse"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	r := doc.Report.Reverse
	if len(doc.Report.Hubs) != 4 || r.Responder != "dest.lab.test" || r.Target != "198.18.0.1" || len(r.Hubs) != 3 ||
		r.Hubs[1].Host != "198.18.7.1" || r.Error != nil {
		t.Errorf("reverse part %+v\n%s", r, out)
	}
}

// CSV has no place for why the reverse trace is missing: stderr says it, stdout is the forward
// table as without --reverse.
func TestCSVReverseUnreachable(t *testing.T) {
	csvHeaders = headerSet{seen: map[io.Writer]bool{}}
	plain, _ := runView(t, batchView(csvDoc), testConfig(cli.ModeCSV), nil)
	dial := func(context.Context, reverse.Options) (reverse.Stream, error) {
		return nil, errors.New("401 Unauthorized: wrong token")
	}
	cfg := testConfig(cli.ModeCSV)
	cfg.Reverse.URL = "https://dest.lab.test:9100"
	csvHeaders = headerSet{seen: map[io.Writer]bool{}}
	out, errOut := runView(t, batchView(csvDoc), cfg, dial)
	strip := func(s string) string { // the Start_Time column differs by the second
		var b strings.Builder
		for _, l := range strings.Split(s, "\n") {
			f := strings.Split(l, ",")
			if len(f) > 2 {
				f[1] = ""
			}
			b.WriteString(strings.Join(f, ",") + "\n")
		}
		return b.String()
	}
	if strip(out) != strip(plain) {
		t.Errorf("stdout\n%s\nwant\n%s", out, plain)
	}
	if errOut != "mtr-go: reverse trace: 401 Unauthorized: wrong token\n" {
		t.Errorf("stderr %q", errOut)
	}
}

// A token file that cannot be read is one line and exit 1, before anything is traced.
func TestMainBadTokenFile(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Main(Env{Args: []string{"-r", "--reverse", "https://198.18.3.2:9100", "--token-file", "/nonexistent/token", "198.18.3.2"},
		Stdout: &out, Stderr: &errOut})
	if code != exitFail || out.Len() != 0 || errOut.String() != "mtr-go: --token-file: open /nonexistent/token: no such file or directory\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// With --analyze each direction has its findings, labelled, then the joint conclusion; the advice
// to trace the other way is gone, as both directions are there.
func TestReportReverseAnalysis(t *testing.T) {
	dial := func(context.Context, reverse.Options) (reverse.Stream, error) {
		return newFakeStream(revUpdate(3, true)), nil
	}
	cfg := testConfig(cli.ModeReport)
	cfg.Reverse.URL, cfg.Analyze = "https://dest.lab.test:9100", true
	out, _ := runView(t, reportView, cfg, dial)
	fwdAt, retAt := strings.Index(out, "\nAnalysis, forward:\n"), strings.Index(out, "\nAnalysis, return:\n")
	if fwdAt < strings.Index(out, "\nReverse: from ") || retAt < fwdAt {
		t.Errorf("want the reverse table, then the forward and the return analysis:\n%s", out)
	}
	if strings.Contains(out, "Reverse path: on the far end") {
		t.Errorf("still advises tracing the other way:\n%s", out)
	}
	if !strings.Contains(out[retAt:], "198.18.7.1") {
		t.Errorf("the return analysis does not name the lossy return router:\n%s", out[retAt:])
	}
	// The joint reading of both directions comes last.
	if j := strings.Index(out, "\nBoth directions: "); j < retAt {
		t.Errorf("no joint conclusion after the return analysis:\n%s", out)
	}
	goldenFile(t, "report-reverse-analysis.golden", out)
}

// Leaving the live view prints the reverse table as it stood, and says it was still running.
func TestLiveFinalWithReverse(t *testing.T) {
	stream := newFakeStream(revUpdate(2, false))
	dial := func(context.Context, reverse.Options) (reverse.Stream, error) { return stream, nil }
	cfg := testConfig(cli.ModeCurses)
	cfg.Reverse.URL = "https://dest.lab.test:9100"
	s := testSession(t, cfg, dial)
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rev := s.startReverse(context.Background())
	for deadline := time.Now().Add(5 * time.Second); !rev.Latest().Target.IsValid(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stream's update never arrived")
		}
	}
	rev.stop()
	select {
	case <-stream.closed:
	default:
		t.Error("stopping the reverse trace did not close its stream")
	}
	var b bytes.Buffer
	if err := s.final(Env{Stdout: &b}, time.Now(), tui.Result{Fields: "LS NABWV", IPInfo: -1}, nil, nil, rev); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "\nReverse: from dest.lab.test to 198.18.0.1 (your address as the responder sees it)\nHOST: dest.lab.test") ||
		!strings.HasSuffix(out, "  3.|-- 198.18.0.1                 0.0%     2    6.0   6.0   6.0   6.0   0.0\nReverse: the live view ended after 2 rounds of the responder's trace\n") {
		t.Errorf("final tables:\n%s", out)
	}
}

// A client stuck in a call that ignores its context still lets the forward report out.
func TestReportReverseClientIgnoresCancel(t *testing.T) {
	defer func(g, m time.Duration) { reverseGrace, minReverseInterval = g, m }(reverseGrace, minReverseInterval)
	reverseGrace, minReverseInterval = 50*time.Millisecond, time.Millisecond
	stuck := make(chan struct{})
	defer close(stuck)
	dial := func(context.Context, reverse.Options) (reverse.Stream, error) {
		<-stuck
		return nil, errors.New("too late")
	}
	cfg := testConfig(cli.ModeReport)
	cfg.Reverse.URL = "https://dest.lab.test:9100"
	out, _ := runView(t, reportView, cfg, dial)
	if !strings.HasSuffix(out, "\nReverse: no answer from the responder at https://dest.lab.test:9100 (not finished in time)\n") {
		t.Errorf("got\n%s", out)
	}
}

// A responder that does not name itself is named by the URL it was asked at.
func TestReportReverseUnnamedResponder(t *testing.T) {
	u := revUpdate(3, true)
	u.Responder = ""
	dial := func(context.Context, reverse.Options) (reverse.Stream, error) { return newFakeStream(u), nil }
	cfg := testConfig(cli.ModeReport)
	cfg.Reverse.URL = "https://dest.lab.test:9100"
	out, _ := runView(t, reportView, cfg, dial)
	if !strings.Contains(out, "\nReverse: from https://dest.lab.test:9100 to 198.18.0.1 (your address as the responder sees it)\n") {
		t.Errorf("got\n%s", out)
	}
}

func TestReverseRequestAndTime(t *testing.T) {
	for _, tc := range []struct {
		name     string
		count    int
		interval time.Duration
		asked    time.Duration
		takes    time.Duration
	}{
		{"mtr's default", 10, time.Second, time.Second, 10*time.Second + 5*time.Second},
		{"slower rounds are asked as they are", 5, 3 * time.Second, 3 * time.Second, 15*time.Second + 5*time.Second},
		{"faster rounds than a responder allows: its own", 100, 100 * time.Millisecond, 0, 100*time.Second + 5*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli.Config{Count: tc.count, Interval: tc.interval, Grace: 5 * time.Second, Protocol: probe.TCPProbes, Port: 443, Size: 100}
			want := reverse.Request{Protocol: probe.TCPProbes, Port: 443, Count: tc.count, Interval: tc.asked, Size: 100}
			if got := reverseRequest(c); got != want {
				t.Errorf("request %+v, want %+v", got, want)
			}
			if got := reverseTime(c); got != tc.takes {
				t.Errorf("takes %v, want %v", got, tc.takes)
			}
		})
	}
}
