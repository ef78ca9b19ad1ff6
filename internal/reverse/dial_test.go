package reverse

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
)

// last reads a stream to its end and returns its last update and how many came.
func last(t *testing.T, s Stream) (Update, int) {
	t.Helper()
	var u Update
	n := 0
	timeout := time.After(20 * time.Second)
	for {
		select {
		case v, ok := <-s.Updates():
			if !ok {
				return u, n
			}
			u, n = v, n+1
		case <-timeout:
			t.Fatal("the stream was not closed")
		}
	}
}

func dial(t *testing.T, opts Options) Update {
	t.Helper()
	s, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, _ := last(t, s)
	return u
}

func TestEndpointURL(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"https://responder.example:9816", "https://responder.example:9816/reverse", ""},
		{"http://127.0.0.1:9816/", "http://127.0.0.1:9816/reverse", ""},
		{"https://[2001:db8::1]:9816/reverse", "https://[2001:db8::1]:9816/reverse", ""},
		{"ftp://x", "", "want http(s)://HOST[:PORT]"},
		{"responder.example:9816", "", "want http(s)://HOST[:PORT]"},
		{"https://user:pw@x", "", "want http(s)://HOST[:PORT]"},
		{"https://x/metrics", "", "no path but /reverse"},
		{"https://x/?target=192.0.2.1", "", "want http(s)://HOST[:PORT]"},
	}
	for _, tc := range tests {
		got, _, err := endpointURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestDialStreams: the request carries the token and the body; the updates follow the stream
// and the last one is Done.
func TestDialStreams(t *testing.T) {
	var gotAuth, gotBody, gotType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != Path {
			http.Error(w, "wrong request", 400)
			return
		}
		gotAuth, gotType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		io.WriteString(w, goodStream)
	}))
	defer srv.Close()
	u := dial(t, Options{URL: srv.URL, Token: "s3cret", Request: Request{Protocol: vocab.UDPProbes, Count: 2}})
	if u.Err != nil || !u.Done || u.Rounds != 2 || len(u.Snapshot.Hops) != 2 || u.Target.String() != "198.18.0.2" {
		t.Fatalf("last update %+v", u)
	}
	if u.Local.String() != "127.0.0.1" {
		t.Errorf("local address %v, want the connection's 127.0.0.1", u.Local)
	}
	if gotAuth != "Bearer s3cret" || gotType != "application/json" || gotBody != `{"protocol":"udp","count":2}` {
		t.Errorf("request: auth %q type %q body %q", gotAuth, gotType, gotBody)
	}
}

// TestDialFailuresAreOneLine: whatever goes wrong, the stream's last update says so in one line
// (and Dial itself does not fail: the forward trace is not held up).
func TestDialFailuresAreOneLine(t *testing.T) {
	answer := func(status int, body string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}))
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + closed.Addr().String()
	closed.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	plain := answer(200, goodStream)
	defer plain.Close()

	tests := []struct {
		name, url, want string
	}{
		{"wrong token", answer(401, "missing or wrong token\nsecond line").URL, "refused (401 Unauthorized): missing or wrong token"},
		{"reverse traces off", answer(403, "reverse traces are off").URL, "refused (403 Forbidden): reverse traces are off"},
		{"busy", answer(429, "1 reverse traces are running already").URL, "refused (429 Too Many Requests): 1 reverse traces"},
		{"refusal without a reason", answer(500, "").URL, "refused (500 Internal Server Error): no reason given"},
		{"refusal with escapes", answer(400, "bad\x1b[2J request").URL, "refused (400 Bad Request): bad[2J request"},
		{"unreachable", deadURL, "responder unreachable:"},
		{"TLS against an unknown CA", tlsSrv.URL, "TLS: the responder's certificate is not signed by a trusted CA (--tls-ca CA.pem for a private one)"},
		{"https to a plain responder", strings.Replace(plain.URL, "http:", "https:", 1), "TLS: the responder"},
		{"stream cut short", answer(200, strings.Join(strings.Split(goodStream, "\n")[:2], "\n")+"\n").URL, "closed the stream before the trace was done"},
		{"line too long", answer(200, `{"type":"start","target":"198.18.0.2"}`+"\n"+strings.Repeat("x", MaxLine+10)).URL, "invalid stream: a line longer than 1048576 bytes"},
		{"garbage", answer(200, "<html>\n").URL, "invalid stream: not a JSON line"},
		{"responder error", answer(200, `{"type":"start","target":"198.18.0.2"}`+"\n"+`{"type":"error","error":"no route"}`+"\n").URL, "responder: no route"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := dial(t, Options{URL: tc.url, Token: "x"})
			if u.Err == nil || !strings.Contains(u.Err.Error(), tc.want) || u.Done {
				t.Fatalf("last update err %v done %v, want %q", u.Err, u.Done, tc.want)
			}
			if msg := u.Err.Error(); strings.ContainsAny(msg, "\n\r\x1b") || !strings.HasPrefix(msg, "reverse trace from 127.0.0.1:") {
				t.Errorf("not one clean line naming the responder: %q", msg)
			}
		})
	}
}

// TestDialPrivateCA: --tls-ca makes a responder's certificate from a private CA trusted.
func TestDialPrivateCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, goodStream)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	if u := dial(t, Options{URL: srv.URL, Token: "x", CAFile: ca}); u.Err != nil || !u.Done {
		t.Fatalf("with --tls-ca: %+v", u)
	}
	if _, err := Dial(context.Background(), Options{URL: srv.URL, CAFile: filepath.Join(t.TempDir(), "none.pem")}); err == nil || !strings.Contains(err.Error(), "--tls-ca") {
		t.Errorf("missing CA file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o644)
	if _, err := Dial(context.Background(), Options{URL: srv.URL, CAFile: notPEM}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA file without PEM: %v", err)
	}
}

// TestCloseStopsTheRequest: Close returns while the responder is still tracing, the updates
// channel is closed, and the responder sees its request end.
func TestCloseStopsTheRequest(t *testing.T) {
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only once the body is read does the server watch the connection for its end.
		io.ReadAll(r.Body)
		fmt.Fprintln(w, `{"type":"start","target":"198.18.0.2"}`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	}))
	defer srv.Close()
	s, err := Dial(context.Background(), Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if u := <-s.Updates(); u.Target.String() != "198.18.0.2" {
		t.Fatalf("first update %+v", u)
	}
	s.Close()
	if _, ok := <-s.Updates(); ok {
		// The final update may still be there; then the channel closes.
		if _, ok := <-s.Updates(); ok {
			t.Error("updates still open after Close")
		}
	}
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Error("the responder's request did not end")
	}
}

// TestDialFollowsNoRedirect: a responder's redirect is refused, not followed. Go sends the
// Authorization header on to the same host, scheme aside, so following an https responder's
// 307 to http:// would put the token on the wire in clear; and whoever answers the
// redirect, not the responder the user named, would be asked to trace.
func TestDialFollowsNoRedirect(t *testing.T) {
	leaked := make(chan string, 1)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case leaked <- r.Header.Get("Authorization"):
		default:
		}
		io.WriteString(w, goodStream)
	}))
	defer plain.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	u := dial(t, Options{URL: srv.URL, Token: "secret", CAFile: ca})
	select {
	case h := <-leaked:
		t.Errorf("the redirect was followed to plain HTTP, Authorization %q", h)
	default:
	}
	if u.Err == nil || !strings.Contains(u.Err.Error(), "refused (307 Temporary Redirect)") {
		t.Errorf("last update err %v done %v, want the redirect refused", u.Err, u.Done)
	}
}

func TestInClear(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://198.18.5.2:9816":   true,
		"http://far.example:9816":  true,
		"http://[2001:db8::1]:80":  true,
		"https://198.18.5.2:9816":  false,
		"http://127.0.0.1:9816":    false,
		"http://[::1]:9816":        false,
		"http://localhost:9816":    false,
		"https://far.example:9816": false,
	} {
		if got := InClear(raw); got != want {
			t.Errorf("InClear(%q) = %v, want %v", raw, got, want)
		}
	}
}
