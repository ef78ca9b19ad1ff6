package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/internal/vocab"
)

const testToken = "correct horse battery staple"

// testLimits are the reverse limits of the tests: the defaults, but rounds of 10 ms so a
// trace of a few rounds takes no time.
func testLimits() ReverseOptions {
	return ReverseOptions{Token: testToken, Name: "responder.test", MinInterval: 10 * time.Millisecond, MaxCount: 20, MaxDuration: 5 * time.Second, PerCaller: 1, Total: 2}
}

func reverseServer(t *testing.T, n *fakeNet, ro ReverseOptions) *Server {
	t.Helper()
	s, err := New(context.Background(), Options{
		Addr:    "127.0.0.1:0",
		Reverse: ro,
		Trace:   trace.Config{Interval: 10 * time.Millisecond, Grace: 10 * time.Millisecond, Timeout: time.Second},
		Open:    n.open,
		Resolve: n.resolve,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// post sends a reverse request from remote straight to the handler.
func post(h http.Handler, remote, body string, header ...string) (int, string, http.Header) {
	req := httptest.NewRequest("POST", "/reverse", strings.NewReader(body))
	req.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Result().Header
}

func TestCheckReverse(t *testing.T) {
	o := ReverseOptions{}
	o.defaults()
	tests := []struct {
		name string
		req  reverse.Request
		want reverse.Request
		err  string
	}{
		{"defaults", reverse.Request{}, reverse.Request{Count: 10, Interval: time.Second}, ""},
		{"udp with a port", reverse.Request{Protocol: vocab.UDPProbes, Port: 53, Count: 5, Interval: 2 * time.Second, Size: 100}, reverse.Request{Protocol: vocab.UDPProbes, Port: 53, Count: 5, Interval: 2 * time.Second, Size: 100}, ""},
		{"the most rounds", reverse.Request{Count: 590}, reverse.Request{Count: 590, Interval: time.Second}, ""},
		{"too many rounds", reverse.Request{Count: 601}, reverse.Request{}, "count 601: want 1 to 600 rounds"},
		{"negative count", reverse.Request{Count: -1}, reverse.Request{}, "count -1"},
		{"faster than a second", reverse.Request{Interval: 200 * time.Millisecond}, reverse.Request{}, "interval 0.2s: this responder allows 1s or more"},
		{"longer than allowed", reverse.Request{Count: 300, Interval: 3 * time.Second}, reverse.Request{}, "300 rounds of 3s would take longer than this responder's 10m0s"},
		{"rounds plus grace too long", reverse.Request{Count: 600}, reverse.Request{}, "would take longer"},
		{"port with icmp", reverse.Request{Port: 80}, reverse.Request{}, "port applies to protocol udp, tcp or sctp only"},
		{"port out of range", reverse.Request{Protocol: vocab.TCPProbes, Port: 70000}, reverse.Request{}, "port 70000"},
		{"jumbo packets", reverse.Request{Size: 9000}, reverse.Request{}, "size 9000: want 28 to 1500 bytes"},
		{"sctp with a port", reverse.Request{Protocol: vocab.SCTPProbes, Port: 80}, reverse.Request{Protocol: vocab.SCTPProbes, Port: 80, Count: 10, Interval: time.Second}, ""},
		{"unknown protocol", reverse.Request{Protocol: 7}, reverse.Request{}, "protocol"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkReverse(tc.req, o, 5*time.Second)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%+v: %v, want %q", tc.req, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%+v: %+v, %v; want %+v", tc.req, got, err, tc.want)
			}
		})
	}
}

func TestCallerAddr(t *testing.T) {
	for in, want := range map[string]string{
		"198.18.0.2:5000":          "198.18.0.2",
		"[::ffff:198.18.0.2]:5000": "198.18.0.2",
		"[2001:db8::2]:443":        "2001:db8::2",
		"[fe80::1%eth0]:80":        "fe80::1",
	} {
		if got, err := callerAddr(in); err != nil || got.String() != want {
			t.Errorf("%s: %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := callerAddr("pipe"); err == nil {
		t.Error("a remote address that is no address was accepted")
	}
	if k := callerKey(netip.MustParseAddr("2001:db8:1:2:3::4")); k.String() != "2001:db8:1:2::/64" {
		t.Errorf("an IPv6 caller counts as %s", k)
	}
}

// TestReverseRefusals: every refusal is a status and one line, and nothing is traced.
func TestReverseRefusals(t *testing.T) {
	auth := []string{"Authorization", "Bearer " + testToken}
	tests := []struct {
		name   string
		opts   func(*ReverseOptions)
		body   string
		header []string
		status int
		reason string
	}{
		{"started without --token-file", func(o *ReverseOptions) { o.Token = "" }, `{}`, auth, 403, "reverse traces are off: this responder was started without --token-file"},
		{"no token", nil, `{}`, nil, 401, "missing or wrong token"},
		{"wrong token", nil, `{}`, []string{"Authorization", "Bearer correct horse battery stapler"}, 401, "missing or wrong token"},
		{"token prefix", nil, `{}`, []string{"Authorization", "Bearer correct"}, 401, "missing or wrong token"},
		{"empty bearer", nil, `{}`, []string{"Authorization", "Bearer "}, 401, "missing or wrong token"},
		{"basic scheme", nil, `{}`, []string{"Authorization", "Basic " + testToken}, 401, "missing or wrong token"},
		{"oversized body", nil, `{"count":1` + strings.Repeat(" ", 5000) + `}`, auth, 413, "request body larger than 4096 bytes"},
		{"a target named in the body", nil, `{"target":"192.0.2.1"}`, auth, 400, `unknown field "target"`},
		{"not JSON", nil, `count=3`, auth, 400, "not a JSON object"},
		{"over the count", nil, `{"count":21}`, auth, 400, "count 21: want 1 to 20 rounds"},
		{"under the interval", nil, `{"interval":0.001}`, auth, 400, "interval 0.001s: this responder allows 0.01s or more"},
		{"over the duration", nil, `{"count":20,"interval":1}`, auth, 400, "would take longer than this responder's 5s"},
		{"port with icmp", nil, `{"port":80,"interval":0.01}`, auth, 400, "port applies to protocol udp, tcp or sctp only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &fakeNet{p: labPath}
			ro := testLimits()
			if tc.opts != nil {
				tc.opts(&ro)
			}
			s := reverseServer(t, n, ro)
			status, body, hdr := post(s.Handler(), "198.18.0.2:40000", tc.body, tc.header...)
			if status != tc.status || !strings.Contains(body, tc.reason) {
				t.Errorf("%d %q, want %d with %q", status, body, tc.status, tc.reason)
			}
			if strings.Count(strings.TrimSuffix(body, "\n"), "\n") > 0 {
				t.Errorf("reason is not one line: %q", body)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if len(n.opened) != 0 {
				t.Errorf("traced %v", n.opened)
			}
		})
	}
	n := &fakeNet{p: labPath}
	s := reverseServer(t, n, testLimits())
	if status, _ := get(t, s.Handler(), "/reverse"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /reverse: %d, want 405", status)
	}
}

// TestReverseTracesTheCallerOnly: the trace goes to the connection's source address, whatever
// X-Forwarded-For or the like say, and a v4-mapped source is unmapped.
func TestReverseTracesTheCallerOnly(t *testing.T) {
	n := &fakeNet{p: labPath}
	s := reverseServer(t, n, testLimits())
	status, body, hdr := post(s.Handler(), "[::ffff:198.18.0.2]:40000", `{"count":2}`,
		"Authorization", "Bearer "+testToken, "X-Forwarded-For", "192.0.2.1", "X-Real-IP", "192.0.2.1", "Forwarded", "for=192.0.2.1")
	if status != 200 || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("%d %s %q", status, hdr.Get("Content-Type"), body)
	}
	if len(n.opened) != 1 || n.opened[0] != netip.MustParseAddr("198.18.0.2") {
		t.Fatalf("traced %v, want the caller 198.18.0.2 only", n.opened)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if !strings.HasPrefix(lines[0], `{"type":"start","responder":"responder.test","target":"198.18.0.2","protocol":"icmp","count":2}`) {
		t.Errorf("start line %s", lines[0])
	}
	if l := lines[len(lines)-1]; l != `{"type":"done","rounds":2}` {
		t.Errorf("last line %s", l)
	}
	if len(lines) < 3 || !strings.Contains(lines[len(lines)-2], `"addrs":[{"ip":"198.18.0.2","count":2}]`) {
		t.Errorf("no final hops line ending at the caller: %q", lines)
	}
}

// TestReverseLimitsAtOnce: while a caller's trace runs, its second request and, past the total,
// another caller's are answered 429, and neither is traced.
func TestReverseLimitsAtOnce(t *testing.T) {
	n := &fakeNet{p: labPath, gate: make(chan struct{})}
	ro := testLimits()
	ro.PerCaller, ro.Total = 1, 2
	s := reverseServer(t, n, ro)
	h := s.Handler()
	auth := []string{"Authorization", "Bearer " + testToken}
	done := make(chan int, 2)
	for _, caller := range []string{"198.18.0.2:1", "[2001:db8::2]:1"} {
		go func() {
			status, _, _ := post(h, caller, `{"count":1}`, auth...)
			done <- status
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.rslots.mu.Lock()
		total := s.rslots.total
		s.rslots.mu.Unlock()
		if total == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for _, tc := range []struct{ caller, reason string }{
		{"198.18.0.2:2", "198.18.0.2 has 1 reverse trace running already"},
		{"[2001:db8::99]:2", "2001:db8::/64 has 1 reverse trace running already"}, // the same /64
		{"198.18.0.3:2", "2 reverse traces are running already"},
	} {
		status, body, hdr := post(h, tc.caller, `{"count":1}`, auth...)
		if status != http.StatusTooManyRequests || !strings.Contains(body, tc.reason) || hdr.Get("Retry-After") == "" {
			t.Errorf("%s: %d %q, want 429 with %q", tc.caller, status, body, tc.reason)
		}
	}
	close(n.gate)
	for range 2 {
		if status := <-done; status != 200 {
			t.Errorf("a first request: %d", status)
		}
	}
	if len(n.opened) != 2 {
		t.Errorf("traced %v, want the two first callers only", n.opened)
	}
	if status, _, _ := post(h, "198.18.0.2:3", `{"count":1}`, auth...); status != 200 {
		t.Errorf("after the first trace ended, the caller's next request: %d", status)
	}
}

// TestReverseStreamsToTheClient: reverse.Dial against a running server on loopback reads the
// path back to itself, answer by answer, ending at its own address.
func TestReverseStreamsToTheClient(t *testing.T) {
	n := &fakeNet{p: labPath}
	s := reverseServer(t, n, testLimits())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	u := dialAll(t, reverse.Options{URL: "http://" + s.Addr().String(), Token: testToken, Request: reverse.Request{Count: 3, Interval: 20 * time.Millisecond}})
	if u.Err != nil || !u.Done || u.Rounds != 3 {
		t.Fatalf("last update: %+v", u)
	}
	if u.Target.String() != "127.0.0.1" || !strings.HasPrefix(u.Responder, "responder.test (127.0.0.1)") {
		t.Errorf("target %v responder %q", u.Target, u.Responder)
	}
	var path []string
	for _, h := range u.Snapshot.Hops {
		path = append(path, h.Addr().String())
		if h.Sent != 3 || h.Recv != 3 {
			t.Errorf("hop %d: %d of %d", h.TTL, h.Recv, h.Sent)
		}
	}
	if strings.Join(path, " ") != "198.18.0.1 198.18.1.2 127.0.0.1" {
		t.Errorf("path %v", path)
	}
}

func dialAll(t *testing.T, o reverse.Options) reverse.Update {
	t.Helper()
	st, err := reverse.Dial(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var u reverse.Update
	for v := range st.Updates() {
		u = v
	}
	return u
}

// writeTLS writes a CA and a certificate it signed for 127.0.0.1, as PEM files.
func writeTLS(t *testing.T, ip net.IP) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mtr-go test CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "responder"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{ip}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// TestReverseOverTLS: with --tls-cert/--tls-key the server speaks https only; a client that
// trusts the CA (--tls-ca) traces, one that does not is told why in one line.
func TestReverseOverTLS(t *testing.T) {
	ca, cert, key := writeTLS(t, net.IPv4(127, 0, 0, 1))
	n := &fakeNet{p: labPath}
	s, err := New(context.Background(), Options{
		Addr: "127.0.0.1:0", Reverse: testLimits(), TLSCert: cert, TLSKey: key,
		Trace: trace.Config{Grace: 10 * time.Millisecond, Timeout: time.Second},
		Open:  n.open, Resolve: n.resolve,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	url := "https://" + s.Addr().String()
	req := reverse.Request{Count: 2, Interval: 10 * time.Millisecond}
	if u := dialAll(t, reverse.Options{URL: url, Token: testToken, CAFile: ca, Request: req}); u.Err != nil || !u.Done || u.Target.String() != "127.0.0.1" {
		t.Fatalf("with the CA: %+v", u)
	}
	if u := dialAll(t, reverse.Options{URL: url, Token: testToken, Request: req}); u.Err == nil || !strings.Contains(u.Err.Error(), "not signed by a trusted CA") {
		t.Errorf("without the CA: %v", u.Err)
	}
	if u := dialAll(t, reverse.Options{URL: "http://" + s.Addr().String(), Token: testToken, Request: req}); u.Err == nil {
		t.Error("plain HTTP to the TLS server worked")
	}
	if len(n.opened) != 1 {
		t.Errorf("traced %d times, want once (the trusted client)", len(n.opened))
	}
	// A certificate without its key, or one that is not there, stops the server from starting.
	for _, o := range []Options{{TLSCert: cert}, {TLSCert: cert, TLSKey: filepath.Join(t.TempDir(), "none")}} {
		o.Addr, o.Open, o.Resolve = "127.0.0.1:0", n.open, n.resolve
		if _, err := New(context.Background(), o, nil); err == nil || !strings.Contains(err.Error(), "--tls-") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestLoopback(t *testing.T) {
	for a, want := range map[string]bool{
		"127.0.0.1:9816": true, "[::1]:9816": true, "[::ffff:127.0.0.1]:1": true,
		"0.0.0.0:9816": false, "[::]:9816": false, "198.18.5.2:9816": false,
	} {
		if got := loopback(&net.TCPAddr{IP: net.ParseIP(strings.Trim(a[:strings.LastIndex(a, ":")], "[]"))}); got != want {
			t.Errorf("%s: loopback %v", a, got)
		}
	}
}

// TestReverseHeadersAreBounded: a request with more header than the server reads is answered
// 431 by the HTTP server itself, before any handler runs.
func TestReverseHeadersAreBounded(t *testing.T) {
	n := &fakeNet{p: labPath}
	s := reverseServer(t, n, testLimits())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	req, _ := http.NewRequest("POST", "http://"+s.Addr().String()+"/reverse", strings.NewReader(`{"count":1,"interval":0.01}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("X-Padding", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", resp.StatusCode)
	}
	if len(n.opened) != 0 {
		t.Errorf("traced %v", n.opened)
	}
}

// TestReverseServerShutdown: a server stopped in the middle of a reverse trace tells the caller
// so, instead of claiming the trace was done or too long.
func TestReverseServerShutdown(t *testing.T) {
	n := &fakeNet{p: labPath}
	s := reverseServer(t, n, testLimits())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan struct{})
	go func() { s.Run(ctx); close(ran) }()
	st, err := reverse.Dial(context.Background(), reverse.Options{URL: "http://" + s.Addr().String(), Token: testToken, Request: reverse.Request{Count: 20, Interval: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var u reverse.Update
	for u = range st.Updates() {
		if u.Target.IsValid() {
			cancel()
		}
	}
	if u.Err == nil || !strings.Contains(u.Err.Error(), "responder: the responder is shutting down") || u.Done {
		t.Errorf("last update after the server stopped: %+v", u)
	}
	<-ran
}

// TestReverseStreamKeepsAlive: rounds longer than the client's idle timeout (the responder
// allows up to its whole duration, 10 minutes by default; reverse.Dial gives up after 2 minutes
// of silence) still get a hops line every streamKeepalive, so a legitimate slow trace is not
// taken for a dead responder. Here two rounds of 2.4 s with a keepalive of 50 ms: a line at every
// 200 ms tick (about 12), where the rounds' changes alone make about 6.
func TestReverseStreamKeepsAlive(t *testing.T) {
	defer func(d time.Duration) { streamKeepalive = d }(streamKeepalive)
	streamKeepalive = 50 * time.Millisecond
	n := &fakeNet{p: labPath}
	s := reverseServer(t, n, testLimits())
	status, body, _ := post(s.Handler(), "198.18.0.2:40000", `{"count":2,"interval":2.4}`, "Authorization", "Bearer "+testToken)
	if status != 200 {
		t.Fatalf("%d %q", status, body)
	}
	if hops := strings.Count(body, `"type":"hops"`); hops < 9 {
		t.Errorf("%d hops lines in a 2.4 s trace with a 50 ms keepalive; want one a tick\n%s", hops, body)
	}
}
