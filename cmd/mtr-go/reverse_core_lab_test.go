package main

// The reverse-trace responder (mtr-go --serve with --token-file) in the lab's destination
// namespace, and the client (reverse.Dial) in the client namespace: a copy of this test binary
// run there, since a Go client's connections must be dialled from inside the namespace.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
	"github.com/mtr-go/mtr-go/internal/reverse"
)

// clientResult is what the helper client prints: the last update of its stream.
type clientResult struct {
	Responder, Target, Err string
	Done                   bool
	Rounds, Updates        int
	Hops                   []string // each hop's latest address, "" for a silent one
}

// TestReverseHelperClient is the client half of the lab tests, run by them inside the client
// namespace; it does nothing on its own.
func TestReverseHelperClient(t *testing.T) {
	url := os.Getenv("MTRGO_REVERSE_URL")
	if url == "" {
		t.Skip("run by TestLabReverse* inside a lab namespace")
	}
	s, err := reverse.Dial(context.Background(), reverse.Options{
		URL: url, Token: os.Getenv("MTRGO_REVERSE_TOKEN"), CAFile: os.Getenv("MTRGO_REVERSE_CA"),
		Request: reverse.Request{Count: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var r clientResult
	var last reverse.Update
	for u := range s.Updates() {
		last = u
		r.Updates++
	}
	r.Responder, r.Done, r.Rounds = last.Responder, last.Done, last.Rounds
	if last.Target.IsValid() {
		r.Target = last.Target.String()
	}
	if last.Err != nil {
		r.Err = last.Err.Error()
	}
	for _, h := range last.Snapshot.Hops {
		a := ""
		if h.Known() {
			a = h.Addr().String()
		}
		r.Hops = append(r.Hops, a)
	}
	b, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", b)
}

// reverseClient runs the helper client in the lab's client namespace.
func reverseClient(t *testing.T, lab *netlab.Lab, url, token, ca string) clientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := lab.Command(ctx, os.Args[0], "-test.run=^TestReverseHelperClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MTRGO_REVERSE_URL="+url, "MTRGO_REVERSE_TOKEN="+token, "MTRGO_REVERSE_CA="+ca, "MTRGO_LAB=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper client: %v\n%s", err, out)
	}
	for l := range strings.SplitSeq(string(out), "\n") {
		if js, ok := strings.CutPrefix(l, "RESULT "); ok {
			var r clientResult
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("helper client printed no result:\n%s", out)
	return clientResult{}
}

// The lab's address ranges.
var (
	lab4 = netip.MustParsePrefix("198.18.0.0/15")
	lab6 = netip.MustParsePrefix("2001:db8::/32")
)

// nsAddrs lists the addresses within lab (lab4 or lab6) of a namespace's interfaces.
func nsAddrs(t *testing.T, lab *netlab.Lab, ns string, within netip.Prefix) []string {
	t.Helper()
	var out []string
	err := lab.RunIn(ns, func() error {
		as, err := net.InterfaceAddrs()
		for _, a := range as {
			if p, err := netip.ParsePrefix(a.String()); err == nil && within.Contains(p.Addr()) {
				out = append(out, p.Addr().String())
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLabReverseTraceBackToTheClient: the responder, in the destination's namespace over TLS
// with a CA made here, traces back to the client that asked: the routers in reverse order,
// ending at the client's address, as mtr run by hand on the far end shows. Without TLS it
// refuses to listen off loopback; a wrong token is refused and nothing is traced.
func TestLabReverseTraceBackToTheClient(t *testing.T) {
	const routers = 3
	lab := netlab.New(t, netlab.Spec{Routers: routers})
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("lab-token-4711\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Plain HTTP on the destination's lab address: refused before anything is served.
	listen := netip.AddrPortFrom(lab.Target4, 9816).String()
	cmd := exec.Command("ip", "netns", "exec", lab.Dest(), binary(t), "--serve", listen, "--token-file", token)
	out, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("give --tls-cert and --tls-key")) || bytes.Count(bytes.TrimSpace(out), []byte("\n")) != 0 {
		t.Errorf("--serve %s without TLS: %v, %q; want a one-line refusal", listen, err, out)
	}

	ca, cert, key := netlab.WriteTestCA(t, dir, lab.Target4, lab.Target6)
	for _, fam := range []struct {
		name   string
		target netip.Addr
		within netip.Prefix
	}{{"IPv4", lab.Target4, lab4}, {"IPv6", lab.Target6, lab6}} {
		t.Run(fam.name, func(t *testing.T) {
			listen := netip.AddrPortFrom(fam.target, 9816).String()
			logOf := lab.StartServer(t, binary(t), "--serve", listen, "--token-file", token, "--tls-cert", cert, "--tls-key", key, "-G", "1")
			url := "https://" + listen
			client := nsAddrs(t, lab, lab.Client, fam.within)
			if len(client) != 1 {
				t.Fatalf("client addresses %v", client)
			}
			r := reverseClient(t, lab, url, "lab-token-4711", ca)
			t.Logf("reverse trace: %+v", r)
			if r.Err != "" || !r.Done || r.Rounds != 3 {
				t.Fatalf("reverse trace: %+v", r)
			}
			if r.Target != client[0] || !strings.Contains(r.Responder, fam.target.String()) {
				t.Errorf("traced to %s from %q, want the client %s from the destination %s", r.Target, r.Responder, client[0], fam.target)
			}
			if len(r.Hops) != routers+1 || r.Hops[routers] != client[0] {
				t.Fatalf("reverse hops %v, want %d routers then the client %s", r.Hops, routers, client[0])
			}
			for k := 1; k <= routers; k++ {
				router := routers + 1 - k
				if own := nsAddrs(t, lab, lab.Router(router), fam.within); !slices.Contains(own, r.Hops[k-1]) {
					t.Errorf("reverse hop %d is %s, not router %d (%v)", k, r.Hops[k-1], router, own)
				}
			}
			mtr := parseReport(t, string(mustOut(t, exec.Command("ip", "netns", "exec", lab.Dest(), "mtr", "-r", "-n", "-c", "2", "-i", "0.2", client[0]))))
			if got, want := strings.Join(r.Hops, " "), strings.Join(mtr.hosts(), " "); got != want {
				t.Errorf("reverse hops %s; mtr on the far end shows %s", got, want)
			}
			if fam.name == "IPv4" {
				refusals(t, lab, url, ca, logOf)
			}
		})
	}
	// Plain HTTP when asked for, with a warning.
	t.Run("--serve-insecure", func(t *testing.T) {
		listen := netip.AddrPortFrom(lab.Target4, 9817).String()
		logOf := lab.StartServer(t, binary(t), "--serve", listen, "--token-file", token, "--serve-insecure", "-G", "1")
		if !strings.Contains(logOf(), "warning: --serve-insecure: reverse-trace tokens and results cross the network in clear") {
			t.Errorf("no warning:\n%s", logOf())
		}
		if strings.Contains(logOf(), "no targets and no --serve-allow") {
			t.Errorf("a responder is warned that it has nothing to do:\n%s", logOf())
		}
		if r := reverseClient(t, lab, "http://"+listen, "lab-token-4711", ""); r.Err != "" || !r.Done || len(r.Hops) != routers+1 {
			t.Errorf("over plain HTTP: %+v", r)
		}
	})
}

// refusals: a client that does not trust the CA, and one with a wrong token, are told so in one
// line each, and the responder traces nothing more.
func refusals(t *testing.T, lab *netlab.Lab, url, ca string, logOf func() string) {
	traced := strings.Count(logOf(), "reverse trace to")
	if r := reverseClient(t, lab, url, "lab-token-4711", ""); !strings.Contains(r.Err, "not signed by a trusted CA") {
		t.Errorf("without --tls-ca: %+v", r)
	}
	if r := reverseClient(t, lab, url, "lab-token-4712", ca); !strings.Contains(r.Err, "refused (401 Unauthorized): missing or wrong token") {
		t.Errorf("wrong token: %+v", r)
	}
	if n := strings.Count(logOf(), "reverse trace to"); n != traced || traced != 1 {
		t.Errorf("the responder traced %d times, want once", n)
	}
}

func mustOut(t *testing.T, cmd *exec.Cmd) []byte {
	t.Helper()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return out
}
