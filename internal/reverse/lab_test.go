package reverse_test

// End-to-end lab tests of reverse traces with the real binaries: mtr-go --reverse in the lab's
// client namespace, mtr-go --serve in the destination's, on lab paths of kernel routers
// (internal/netlab). They live here, not in cmd/mtr-go, so that they run beside that package's
// long lab suite.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

func TestMain(m *testing.M) {
	code := m.Run()
	netlab.RemoveMtrGo()
	os.Exit(code)
}

const labToken = "e2e-token-0815"

// hop is one row of a report table.
type hop struct {
	ttl  int
	host string
	loss float64
	snt  int
}

// table is one table of mtr-go's -r output: its heading line (the reverse one's "Reverse: from
// ..."), and its rows.
type table struct {
	heading string
	rows    []hop
}

func (t table) hosts() []string {
	var h []string
	for _, r := range t.rows {
		h = append(h, r.host)
	}
	return h
}

// losses is each row's Loss%, for the logs.
func (t table) losses() string {
	var b strings.Builder
	for _, r := range t.rows {
		fmt.Fprintf(&b, " %d:%s=%.1f%%", r.ttl, r.host, r.loss)
	}
	return strings.TrimSpace(b.String())
}

// firstLoss is the TTL from which every row loses, or 0 when the last row does not.
func (t table) firstLoss() int {
	first := 0
	for _, r := range t.rows {
		switch {
		case r.loss == 0:
			first = 0
		case first == 0:
			first = r.ttl
		}
	}
	return first
}

var rowRE = regexp.MustCompile(`^ *(\d+)\.\|-- (\S+) +([\d.]+)%? +(\d+) `)

// parseTables reads the tables of a report: the forward one, then any others (the reverse one),
// each starting at its HOST: line; the lines after the last row (reverse errors, analysis) are
// returned apart.
func parseTables(t *testing.T, out string) (tables []table, rest []string) {
	t.Helper()
	heading := ""
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "HOST: "):
			tables = append(tables, table{heading: heading})
			heading = ""
		case len(tables) > 0 && rowRE.MatchString(l):
			m := rowRE.FindStringSubmatch(l)
			ttl, _ := strconv.Atoi(m[1])
			loss, _ := strconv.ParseFloat(m[3], 64)
			snt, _ := strconv.Atoi(m[4])
			tb := &tables[len(tables)-1]
			tb.rows = append(tb.rows, hop{ttl: ttl, host: m[2], loss: loss, snt: snt})
		case strings.HasPrefix(l, "Reverse: from "):
			heading = l
		case strings.HasPrefix(l, "Start: "), l == "":
		default:
			rest = append(rest, l)
		}
	}
	return tables, rest
}

func strs(as []netip.Addr) []string {
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return s
}

// files writes the token and a CA with a certificate for the destination's addresses.
type files struct{ token, ca, cert, key string }

func labFiles(t *testing.T, lab *netlab.Lab) files {
	t.Helper()
	dir := t.TempDir()
	f := files{token: filepath.Join(dir, "token")}
	if err := os.WriteFile(f.token, []byte(labToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.ca, f.cert, f.key = netlab.WriteTestCA(t, dir, lab.Target4, lab.Target6)
	return f
}

// serve starts the responder over TLS on the destination's address of target's family, with
// the token unless noToken.
func serve(t *testing.T, lab *netlab.Lab, f files, target netip.Addr, port uint16, noToken bool) (url string, log func() string) {
	t.Helper()
	listen := netip.AddrPortFrom(target, port).String()
	args := []string{"--serve", listen, "--tls-cert", f.cert, "--tls-key", f.key, "-G", "1"}
	if !noToken {
		args = append(args, "--token-file", f.token)
	}
	return "https://" + listen, lab.StartServer(t, netlab.MtrGo(t), args...)
}

// mtrgo runs mtr-go in the client namespace; it returns stdout, stderr and the exit code.
func mtrgo(t *testing.T, lab *netlab.Lab, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := lab.Command(ctx, netlab.MtrGo(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("mtr-go %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// mtrFromDest runs the real mtr in the destination's namespace towards addr, as a user with a
// shell on the far end would.
func mtrFromDest(t *testing.T, lab *netlab.Lab, addr netip.Addr) table {
	t.Helper()
	netlab.Require(t, netlab.Tool("mtr", "mtr-tiny"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := lab.CommandIn(ctx, lab.Dest(), "mtr", "-r", "-n", "-c", "2", "-i", "0.2", addr.String()).Output()
	if err != nil {
		t.Fatalf("mtr on the far end: %v\n%s", err, out)
	}
	tabs, _ := parseTables(t, string(out))
	if len(tabs) != 1 {
		t.Fatalf("mtr on the far end printed %d tables:\n%s", len(tabs), out)
	}
	return tabs[0]
}

type family struct {
	name   string
	target netip.Addr
	public netip.Addr   // the client as the destination sees it
	rev    []netip.Addr // what a trace from the destination shows
}

func families(lab *netlab.Lab) []family {
	return []family{
		{"IPv4", lab.Target4, lab.Public4, lab.Reverse4},
		{"IPv6", lab.Target6, lab.Public6, lab.Reverse6},
	}
}

// TestLabReverseBothTables: mtr-go -r --reverse over TLS with a CA made here prints the forward
// table, then the reverse one headed with the client's address, listing the routers in reverse
// order and ending at the client, hop for hop what the real mtr shows run on the far end.
func TestLabReverseBothTables(t *testing.T) {
	const routers = 3
	lab := netlab.New(t, netlab.Spec{Routers: routers})
	f := labFiles(t, lab)
	for i, fam := range families(lab) {
		t.Run(fam.name, func(t *testing.T) {
			url, log := serve(t, lab, f, fam.target, uint16(9816+i), false)
			start := time.Now()
			out, errOut, code := mtrgo(t, lab, "-r", "-n", "-c", "3", "-i", "0.2", "--reverse", url, "--token-file", f.token, "--tls-ca", f.ca, fam.target.String())
			took := time.Since(start)
			t.Logf("%s in %v:\n%s", fam.name, took.Round(time.Millisecond), out)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			tabs, rest := parseTables(t, out)
			if len(tabs) != 2 || len(rest) != 0 {
				t.Fatalf("want the forward and the reverse table and nothing else, got %d tables and %q", len(tabs), rest)
			}
			fwd, rev := tabs[0], tabs[1]
			if n := len(fwd.rows); n != routers+1 || fwd.rows[n-1].host != fam.target.String() {
				t.Errorf("forward hops %v, want %d routers and the destination", fwd.hosts(), routers)
			}
			want := fmt.Sprintf("Reverse: from %s (%s) to %s (your address as the responder sees it)", "", fam.target, fam.public)
			if !strings.HasSuffix(rev.heading, want[len("Reverse: from  "):]) || !strings.HasPrefix(rev.heading, "Reverse: from ") {
				t.Errorf("reverse heading %q, want one ending %q", rev.heading, want[len("Reverse: from  "):])
			}
			if got, want := rev.hosts(), strs(fam.rev); !slices.Equal(got, want) {
				t.Errorf("reverse hops %v, want %v", got, want)
			}
			if got := rev.hosts(); len(got) == 0 || got[len(got)-1] != fam.public.String() {
				t.Errorf("the reverse table ends at %v, not at the client %s", got, fam.public)
			}
			for _, r := range rev.rows {
				if r.snt != 3 || r.loss != 0 {
					t.Errorf("reverse hop %d: Snt %d, Loss %.1f%%; want 3 rounds without loss", r.ttl, r.snt, r.loss)
				}
			}
			if mtr := mtrFromDest(t, lab, fam.public); !slices.Equal(mtr.hosts(), rev.hosts()) {
				t.Errorf("reverse hops %v; mtr on the far end shows %v", rev.hosts(), mtr.hosts())
			}
			if n := strings.Count(log(), "mtr-go: reverse trace to "+fam.public.String()+":"); n != 1 {
				t.Errorf("the responder logged %d traces to %s, want 1:\n%s", n, fam.public, log())
			}
		})
	}
}

// TestLabReverseAsymmetricReturnLoss: the return from router 3 on runs through rx, a router the
// forward path never uses, which drops 30 % of what it forwards towards the client. Forward
// mtr-go alone sees loss from hop 3 (where the paths part: the answers of hop 3 and on come back
// through rx) and blames that hop, a router that forwards everything; with --reverse the
// reverse table's loss starts at rx, and --analyze names rx and the return direction. Both
// families and both runs at once: the responder's rounds are 1 s, so the run takes `rounds`
// seconds.
func TestLabReverseAsymmetricReturnLoss(t *testing.T) {
	const routers, via, rounds = 4, 3, 30
	lab := netlab.New(t, netlab.Spec{Routers: routers, ReturnVia: via, ReturnLoss: 30})
	f := labFiles(t, lab)
	returns := map[string]netip.Addr{"IPv4": lab.Return4, "IPv6": lab.Return6}
	for i, fam := range families(lab) {
		t.Run(fam.name, func(t *testing.T) {
			t.Parallel()
			rx := returns[fam.name]
			url, _ := serve(t, lab, f, fam.target, uint16(9826+i), false)
			type result struct {
				out  string
				took time.Duration
			}
			both, alone := make(chan result, 1), make(chan result, 1)
			run := func(c chan<- result, args ...string) {
				start := time.Now()
				out, errOut, code := mtrgo(t, lab, append([]string{"-r", "-n", "-c", strconv.Itoa(rounds), "-i", "0.2", "--analyze"}, append(args, fam.target.String())...)...)
				if code != 0 || errOut != "" {
					t.Errorf("mtr-go %v: exit %d, stderr %q", args, code, errOut)
				}
				c <- result{out, time.Since(start)}
			}
			// The responder's stream comes back through rx too, so TCP loses and resends its
			// segments and the reverse table can lag its trace by many rounds (45 s for 30 rounds
			// seen once): a longer -G lets the report wait longer for it.
			go run(both, "-G", "10", "--reverse", url, "--token-file", f.token, "--tls-ca", f.ca)
			go run(alone)
			b, a := <-both, <-alone
			t.Logf("both directions, %d rounds, in %v:\n%s", rounds, b.took.Round(time.Millisecond), b.out)
			t.Logf("forward only, %d rounds, in %v:\n%s", rounds, a.took.Round(time.Millisecond), a.out)

			tabs, rest := parseTables(t, b.out)
			if len(tabs) != 2 {
				t.Fatalf("%d tables, want the forward and the reverse one", len(tabs))
			}
			fwd, rev := tabs[0], tabs[1]
			t.Logf("loss forward: %s; reverse: %s", fwd.losses(), rev.losses())
			if got := fwd.firstLoss(); got != via {
				t.Errorf("forward loss from hop %d, want %d (where the return path parts)", got, via)
			}
			if got, want := rev.hosts(), strs(fam.rev); !slices.Equal(got, want) {
				t.Fatalf("reverse hops %v, want %v", got, want)
			}
			if snt := rev.rows[len(rev.rows)-1].snt; snt < rounds/2 {
				t.Fatalf("the reverse table has %d of %d rounds", snt, rounds)
			}
			at := slices.Index(rev.hosts(), rx.String()) + 1
			if got := rev.firstLoss(); at == 0 || got != at {
				t.Errorf("reverse loss from hop %d, want %d (rx, %s)", got, at, rx)
			}
			// The reading, settled or not: at 30 % over 30 rounds the counts do not always settle
			// it at the 95 % level, which the conclusion then says ("Not settled yet: likely ...").
			want := fmt.Sprintf("the loss is on the return path, at %s (reverse hop %d), a router the forward path does not use;", rx, at)
			if !slices.ContainsFunc(rest, func(l string) bool {
				return strings.HasPrefix(l, "Both directions: ") && strings.Contains(strings.ToLower(l), want)
			}) {
				t.Errorf("no %q in the analysis:\n%s", want, strings.Join(rest, "\n"))
			}

			if strings.Contains(b.out, "reverse path test") {
				t.Errorf("with both directions traced, the analysis still asks for the reverse path test")
			}

			// Forward mtr-go alone blames the hop where the paths part, which forwards everything.
			tabs, rest = parseTables(t, a.out)
			if len(tabs) != 1 {
				t.Fatalf("forward only: %d tables", len(tabs))
			}
			t.Logf("loss forward alone: %s", tabs[0].losses())
			parting := fwd.rows[via-1].host
			want = fmt.Sprintf("Real loss starts at hop %d (%s)", via, parting)
			if !slices.ContainsFunc(rest, func(l string) bool {
				return strings.HasPrefix(l, "Conclusion: Problem: "+want) || strings.HasPrefix(l, "Conclusion: Not settled yet: "+want)
			}) {
				t.Errorf("forward only: no %q in the analysis:\n%s", want, strings.Join(rest, "\n"))
			}
			if !slices.Contains(rest, "Reverse path: on the far end, run: mtr -r -c 100 "+fam.public.String()) {
				t.Errorf("forward only: the analysis does not ask for the reverse path:\n%s", strings.Join(rest, "\n"))
			}
		})
	}
}

// probeCounter counts, with an nftables counter in the destination's namespace, the probes the
// destination sends (ICMP and ICMPv6 echo requests leaving it): what a responder traces.
type probeCounter struct {
	lab *netlab.Lab
}

func countProbes(t *testing.T, lab *netlab.Lab) probeCounter {
	t.Helper()
	rules := `table inet e2e {
	counter probes {}
	chain out {
		type filter hook output priority filter; policy accept;
		icmp type echo-request counter name probes
		icmpv6 type echo-request counter name probes
	}
}
`
	cmd := lab.CommandIn(context.Background(), lab.Dest(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	return probeCounter{lab}
}

var packetsRE = regexp.MustCompile(`packets (\d+)`)

func (c probeCounter) get(t *testing.T) int {
	t.Helper()
	out, err := c.lab.CommandIn(context.Background(), c.lab.Dest(), "nft", "list", "counter", "inet", "e2e", "probes").CombinedOutput()
	m := packetsRE.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("nft list counter: %v\n%s", err, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// post sends a reverse-trace request as no mtr-go would (no token, an oversized body, a body
// naming a target), from the client's namespace; it returns the status and the answer.
func post(t *testing.T, lab *netlab.Lab, url, ca, token, body string) (int, string) {
	t.Helper()
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		// The socket is made inside the client's namespace, so the request leaves from there.
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err2 := lab.Run(func() error {
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return nil
			})
			return c, errors.Join(err, err2)
		},
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("POST", url+"/reverse", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := (&http.Client{Transport: tr}).Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestLabReverseRefusals: with the real binaries, every request the responder must refuse is
// refused with its status and one line, and the destination sends no probe for it.
func TestLabReverseRefusals(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	f := labFiles(t, lab)
	url, log := serve(t, lab, f, lab.Target4, 9836, false)
	off, _ := serve(t, lab, f, lab.Target4, 9837, true)
	probes := countProbes(t, lab)
	wrong := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrong, []byte("e2e-token-0816\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := lab.Target4.String()
	client := func(url, token string, count int) []string {
		t.Helper()
		out, errOut, code := mtrgo(t, lab, "-r", "-n", "-c", strconv.Itoa(count), "-i", "0.2", "--reverse", url, "--token-file", token, "--tls-ca", f.ca, target)
		if code != 0 || errOut != "" {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
		_, rest := parseTables(t, out)
		return rest
	}
	// refused checks that what the client printed of the reverse part is one line with the status.
	refused := func(name string, rest []string, status string) {
		t.Helper()
		if len(rest) != 1 || !strings.HasPrefix(rest[0], "Reverse: reverse trace from "+lab.Target4.String()) || !strings.Contains(rest[0], ": refused ("+status+"): ") {
			t.Errorf("%s: the reverse part is %q, want one line refused (%s)", name, rest, status)
		} else {
			t.Logf("%s: %s", name, rest[0])
		}
	}
	// nothing checks that the destination sent no probe since before.
	nothing := func(name string, before int) {
		t.Helper()
		if n := probes.get(t) - before; n != 0 {
			t.Errorf("%s: the destination sent %d probes", name, n)
		}
	}
	oneLine := func(name string, status int, body string, want int, wantText string) {
		t.Helper()
		if status != want || strings.Count(body, "\n") != 1 || !strings.Contains(body, wantText) {
			t.Errorf("%s: %d %q, want %d and one line with %q", name, status, body, want, wantText)
		} else {
			t.Logf("%s: %d %s", name, status, strings.TrimSpace(body))
		}
	}

	n := probes.get(t)
	refused("wrong token", client(url, wrong, 2), "401 Unauthorized")
	nothing("wrong token", n)

	n = probes.get(t)
	status, body := post(t, lab, url, f.ca, "", `{"count":2}`)
	oneLine("no token", status, body, http.StatusUnauthorized, "missing or wrong token")
	_, errOut, code := mtrgo(t, lab, "-r", "-n", "-c", "2", "--reverse", url, target)
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "--reverse needs --token-file FILE") {
		t.Errorf("mtr-go --reverse without --token-file: exit %d, %q", code, errOut)
	}
	nothing("no token", n)

	n = probes.get(t)
	refused("a responder without --token-file", client(off, f.token, 2), "403 Forbidden")
	nothing("a responder without --token-file", n)

	n = probes.get(t)
	status, body = post(t, lab, url, f.ca, labToken, `{"count":2,"pad":"`+strings.Repeat("x", 5000)+`"}`)
	oneLine("an oversized body", status, body, http.StatusRequestEntityTooLarge, "request body larger than 4096 bytes")
	nothing("an oversized body", n)

	n = probes.get(t)
	status, body = post(t, lab, url, f.ca, labToken, `{"count":2,"target":"`+lab.Reverse4[0].String()+`"}`)
	oneLine("a body naming a target", status, body, http.StatusBadRequest, `unknown field "target"`)
	nothing("a body naming a target", n)

	// Two at once from one caller: the second is refused while the first runs, and only the
	// first is traced: as many probes as one trace alone sends.
	n = probes.get(t)
	client(url, f.token, 4)
	one := probes.get(t) - n
	traces := strings.Count(log(), "mtr-go: reverse trace to")
	n = probes.get(t)
	first := make(chan []string, 1)
	go func() { first <- client(url, f.token, 4) }()
	for deadline := time.Now().Add(30 * time.Second); strings.Count(log(), "mtr-go: reverse trace to") == traces; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first trace did not start:\n%s", log())
		}
	}
	second := client(url, f.token, 4)
	refused("a second trace at once", second, "429 Too Many Requests")
	if want := lab.Public4.String() + " has 1 reverse trace running already"; len(second) != 1 || !strings.Contains(second[0], want) {
		t.Errorf("a second trace at once: %q, want %q in it", second, want)
	}
	if rest := <-first; len(rest) != 0 {
		t.Errorf("the first trace: %q", rest)
	}
	// A round probes one TTL per tick (a tenth of the 1 s interval), so a reply later than a
	// tick on a loaded machine may add a probe; a second trace would add 3 a round.
	if two := probes.get(t) - n; two < one-2 || two > one+2 {
		t.Errorf("the destination sent %d probes for two requests at once, want %d as for one alone", two, one)
	}
	if got := strings.Count(log(), "mtr-go: reverse trace to") - traces; got != 1 {
		t.Errorf("the responder traced %d times for two requests at once, want once", got)
	}
	t.Logf("one trace of 4 rounds: %d probes", one)
}

// TestLabReverseThroughNAT: router 1 masquerades the client, so the responder sees the NAT's
// address, traces to it (the routers in reverse order, ending at the NAT, as mtr on the far end
// shows towards that address) and the heading says that this is a NAT's address, and the
// client's own.
func TestLabReverseThroughNAT(t *testing.T) {
	const routers, nat = 3, 1
	lab := netlab.New(t, netlab.Spec{Routers: routers, NAT: nat})
	f := labFiles(t, lab)
	for i, fam := range families(lab) {
		t.Run(fam.name, func(t *testing.T) {
			own := map[string]netip.Addr{"IPv4": lab.Client4, "IPv6": lab.Client6}[fam.name]
			if fam.public == own {
				t.Fatalf("the lab has no NAT: the destination sees the client as %s", own)
			}
			url, log := serve(t, lab, f, fam.target, uint16(9846+i), false)
			start := time.Now()
			out, errOut, code := mtrgo(t, lab, "-r", "-n", "-c", "3", "-i", "0.2", "--reverse", url, "--token-file", f.token, "--tls-ca", f.ca, fam.target.String())
			t.Logf("%s through the NAT in %v:\n%s", fam.name, time.Since(start).Round(time.Millisecond), out)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			tabs, rest := parseTables(t, out)
			if len(tabs) != 2 || len(rest) != 0 {
				t.Fatalf("want the forward and the reverse table and nothing else, got %d tables and %q", len(tabs), rest)
			}
			rev := tabs[1]
			want := fmt.Sprintf(" to %s (your address as the responder sees it: a NAT's, in front of this host's %s)", fam.public, own)
			if !strings.HasSuffix(rev.heading, want) {
				t.Errorf("reverse heading %q, want it to end %q", rev.heading, want)
			}
			if got, want := rev.hosts(), strs(fam.rev); !slices.Equal(got, want) || want[len(want)-1] != fam.public.String() {
				t.Errorf("reverse hops %v, want %v ending at the NAT", got, want)
			}
			if mtr := mtrFromDest(t, lab, fam.public); !slices.Equal(mtr.hosts(), rev.hosts()) {
				t.Errorf("reverse hops %v; mtr on the far end shows %v", rev.hosts(), mtr.hosts())
			}
			if !strings.Contains(log(), "mtr-go: reverse trace to "+fam.public.String()+":") || strings.Contains(log(), own.String()) {
				t.Errorf("the responder's log does not show a trace to the NAT's %s alone:\n%s", fam.public, log())
			}
		})
	}
}
