package reverse

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
)

// Client timeouts. The stream carries a line at least every round, and rounds last at most
// what the responder allows; a responder silent for idleTimeout is gone.
const (
	dialTimeout   = 10 * time.Second
	headerTimeout = 30 * time.Second
	idleTimeout   = 2 * time.Minute
	maxCAFile     = 1 << 20
	maxReason     = 512 // bytes of a refusal's body read for its one-line reason
)

// Dial starts a reverse trace at opts.URL and returns at once: connecting, the responder's
// answer and its refusals arrive on the stream (a refusal, an unreachable responder or a TLS
// failure is the Err of its last Update), so the forward trace never waits for the far end.
// Only options that cannot work are errors here: a URL that is not http(s)://host[:port], an
// unreadable --tls-ca.
func Dial(ctx context.Context, opts Options) (Stream, error) {
	endpoint, host, err := endpointURL(opts.URL)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		if tc.RootCAs, err = loadCA(opts.CAFile); err != nil {
			return nil, err
		}
	}
	client := &http.Client{
		// A redirect is answered as a refusal: Go would send the token on to the same host
		// over plain http://, and the trace would be asked of a responder the user did not name.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			// No proxy: the responder traces back to whoever connects to it, which must be us.
			Proxy:                  nil,
			DialContext:            (&net.Dialer{Timeout: dialTimeout}).DialContext,
			TLSClientConfig:        tc,
			TLSHandshakeTimeout:    dialTimeout,
			ResponseHeaderTimeout:  headerTimeout,
			MaxResponseHeaderBytes: 16 << 10,
			DisableKeepAlives:      true,
			ForceAttemptHTTP2:      false,
		}}
	ctx, cancel := context.WithCancel(ctx)
	s := &stream{updates: make(chan Update, 1), cancel: cancel, done: make(chan struct{})}
	go s.run(ctx, client, endpoint, host, opts)
	return s, nil
}

// CheckURL reports whether raw is a responder's URL that Dial accepts (--reverse).
func CheckURL(raw string) error {
	_, _, err := endpointURL(raw)
	return err
}

// endpointURL is the request URL for the responder at raw, and the host:port to name it by.
func endpointURL(raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("--reverse: want http(s)://HOST[:PORT] of a responder (mtr-go --serve): %q", raw)
	}
	if u.Path != "" && u.Path != "/" && u.Path != Path {
		return "", "", fmt.Errorf("--reverse: %q: the URL names the responder only (no path but %s)", raw, Path)
	}
	u.Path = Path
	return u.String(), u.Host, nil
}

// loadCA reads --tls-ca: the PEM certificates an https responder's chain must lead to.
func loadCA(name string) (*x509.CertPool, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	defer f.Close()
	pem, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	if len(pem) > maxCAFile {
		return nil, fmt.Errorf("--tls-ca %s: larger than %d bytes", name, maxCAFile)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", name)
	}
	return pool, nil
}

// stream is the Stream Dial returns; run owns everything but cancel and done.
type stream struct {
	updates chan Update
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

func (s *stream) Updates() <-chan Update { return s.updates }

func (s *stream) Close() error {
	s.once.Do(s.cancel)
	<-s.done
	return nil
}

// deliver hands u to the reader. Each Update holds the whole path, so when the reader has not
// taken the previous one yet it is replaced: a slow view sees the newest state, and the trace
// never waits for it.
func (s *stream) deliver(u Update) {
	for {
		select {
		case s.updates <- u:
			return
		default:
		}
		select {
		case <-s.updates:
		default:
		}
	}
}

func (s *stream) run(ctx context.Context, client *http.Client, endpoint, host string, opts Options) {
	defer close(s.done)
	defer close(s.updates)
	defer s.once.Do(s.cancel)
	last, err := s.fetch(ctx, client, endpoint, host, opts)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, errIdle) {
			err = errors.New("reverse trace stopped")
		}
		last.Err = fmt.Errorf("reverse trace from %s: %s", host, oneLine(err))
		last.Done = false
	}
	s.deliver(last)
}

var errIdle = fmt.Errorf("the responder sent nothing for %v", idleTimeout)

// fetch asks for the trace and streams its updates; the last one (Done, or the state reached
// when err is not nil) is returned for run to deliver.
func (s *stream) fetch(ctx context.Context, client *http.Client, endpoint, host string, opts Options) (Update, error) {
	var last Update
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(headerTimeout+dialTimeout, func() { cancel(errIdle) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(opts.Request.MarshalBody()))
	if err != nil {
		return last, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/x-ndjson")
	if opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+opts.Token)
	}
	// The connection's own address, to compare with the one the responder saw (behind a NAT
	// they differ, and the user learns both).
	var local netip.Addr
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		if ap, err := netip.ParseAddrPort(ci.Conn.LocalAddr().String()); err == nil {
			local = ap.Addr().Unmap().WithZone("")
		}
	}}))
	resp, err := client.Do(req)
	if err != nil {
		return last, transportError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxReason))
		reason, _, _ := strings.Cut(string(b), "\n")
		if reason = clean(reason); reason == "" {
			reason = "no reason given"
		}
		return last, fmt.Errorf("refused (%d %s): %s", resp.StatusCode, http.StatusText(resp.StatusCode), reason)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	var p parser
	p.cur.Local = local
	for {
		watchdog.Reset(idleTimeout)
		if !sc.Scan() {
			break
		}
		u, final, err := p.line(sc.Bytes())
		if err != nil {
			return p.cur, fmt.Errorf("%w: %v", errStream, err)
		}
		if final {
			return u, u.Err
		}
		s.deliver(u)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return p.cur, fmt.Errorf("%w: a line longer than %d bytes", errStream, MaxLine)
		}
		return p.cur, transportError(ctx, err)
	}
	return p.cur, errors.New("the responder closed the stream before the trace was done")
}

// transportError says in one line why the responder could not be reached or stopped
// answering: a TLS failure apart, since its fix (--tls-ca) differs.
func transportError(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, errIdle) {
		return cause
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	var rhe tls.RecordHeaderError
	var ave *tls.AlertError
	switch {
	case errors.As(err, &uae):
		return fmt.Errorf("TLS: the responder's certificate is not signed by a trusted CA (--tls-ca CA.pem for a private one)")
	case errors.As(err, &hne), errors.As(err, &cie):
		return fmt.Errorf("TLS: %v", err)
	case errors.As(err, &rhe):
		return errors.New("TLS: the responder does not speak TLS (try an http:// URL)")
	case errors.As(err, &ave):
		return fmt.Errorf("TLS: %v", err)
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return errors.New("TLS: the responder speaks plain HTTP (try an http:// URL)")
	}
	return fmt.Errorf("responder unreachable: %v", err)
}

// oneLine is err's text fit for one line of a view.
func oneLine(err error) string {
	return strings.TrimSpace(vocab.StripControl(cut(strings.ToValidUTF8(strings.Join(strings.Fields(err.Error()), " "), "?"), 2*maxName)))
}

// InClear reports whether raw is a plain-http responder off loopback: the token (and the
// results) would cross the network unencrypted, which a caller should be told of.
func InClear(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err != nil || !a.IsLoopback()
}
