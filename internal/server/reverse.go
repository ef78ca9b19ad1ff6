package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/internal/trace"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/probe"
)

// ReverseOptions configure reverse traces (POST /reverse): a caller asks the server to trace
// back to the address its request comes from. The limits keep a responder reachable from the
// internet from being anyone's packet cannon: the target is never the caller's choice, and
// what the caller may choose is bounded.
type ReverseOptions struct {
	// Token is the shared secret every request must carry (Authorization: Bearer); "" refuses
	// every reverse request.
	Token string
	// Name is how the responder names itself in the stream; "" = the host name.
	Name string

	MaxCount    int           // the most rounds a request may ask; default 600
	MinInterval time.Duration // the shortest round; default 1 s, what mtr allows unprivileged users
	MaxDuration time.Duration // the longest trace, count × interval + grace; default 10 min
	PerCaller   int           // traces at once per caller (an IPv4 address, an IPv6 /64); default 1
	Total       int           // traces at once in all; default 8
}

// Reverse-trace defaults and fixed limits. Rounds of 1 s or more are what mtr lets any user
// send; a remote caller is no more than that. Sizes stop at a common MTU: larger probes only
// amplify. The per-caller limit counts an IPv6 /64, since one host holds a whole /64.
const (
	defaultReverseCount    = 10
	defaultReverseMaxCount = 600
	defaultMinInterval     = time.Second
	defaultMaxDuration     = 10 * time.Minute
	defaultPerCaller       = 1
	defaultTotal           = 8
	minReverseSize         = 28
	maxReverseSize         = 1500
	streamEvery            = 200 * time.Millisecond // at most five hops lines a second
	writeTimeout           = 30 * time.Second
	bodyTimeout            = 10 * time.Second
)

func (o *ReverseOptions) defaults() {
	if o.MaxCount <= 0 {
		o.MaxCount = defaultReverseMaxCount
	}
	if o.MinInterval <= 0 {
		o.MinInterval = defaultMinInterval
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = defaultMaxDuration
	}
	if o.PerCaller <= 0 {
		o.PerCaller = defaultPerCaller
	}
	if o.Total <= 0 {
		o.Total = defaultTotal
	}
	if o.Name == "" {
		o.Name, _ = os.Hostname()
	}
}

// checkReverse fills a request's defaults and checks it against the limits; grace is the
// server's -G, which the trace waits after its last round.
func checkReverse(req reverse.Request, o ReverseOptions, grace time.Duration) (reverse.Request, error) {
	if req.Count == 0 {
		req.Count = min(defaultReverseCount, o.MaxCount)
	}
	if req.Count < 1 || req.Count > o.MaxCount {
		return req, fmt.Errorf("count %d: want 1 to %d rounds", req.Count, o.MaxCount)
	}
	if req.Interval == 0 {
		req.Interval = max(time.Second, o.MinInterval)
	}
	if req.Interval < o.MinInterval {
		return req, fmt.Errorf("interval %gs: this responder allows %gs or more", req.Interval.Seconds(), o.MinInterval.Seconds())
	}
	if d := time.Duration(req.Count)*req.Interval + grace; req.Interval > o.MaxDuration || d > o.MaxDuration {
		return req, fmt.Errorf("%d rounds of %gs would take longer than this responder's %v", req.Count, req.Interval.Seconds(), o.MaxDuration)
	}
	if req.Size != 0 && (req.Size < minReverseSize || req.Size > maxReverseSize) {
		return req, fmt.Errorf("size %d: want %d to %d bytes", req.Size, minReverseSize, maxReverseSize)
	}
	switch req.Protocol {
	case vocab.ICMPProbes:
		if req.Port != 0 {
			return req, errors.New("port applies to protocol udp, tcp or sctp only")
		}
	case vocab.UDPProbes, vocab.TCPProbes, vocab.SCTPProbes:
		if req.Port < 0 || req.Port > 65535 {
			return req, fmt.Errorf("port %d: want 1-65535", req.Port)
		}
	default:
		return req, fmt.Errorf("protocol %v: want %s", req.Protocol, vocab.ProtocolNames())
	}
	return req, nil
}

// callerAddr is the address a request came from, as the listener saw it: the one address a
// reverse trace may go to. Headers such as X-Forwarded-For are the caller's to write and are
// never read.
func callerAddr(remote string) (netip.Addr, error) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("cannot tell the caller's address from %q", remote)
	}
	return ap.Addr().Unmap().WithZone(""), nil
}

// callerKey is what the per-caller limit counts: an IPv4 address, or the /64 of an IPv6 one.
func callerKey(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// callerName names what the per-caller limit counts: the address, or an IPv6 caller's /64 (the
// whole /64 shares the limit, which its address alone would not tell).
func callerName(k netip.Prefix) string {
	if k.Addr().Is4() {
		return k.Addr().String()
	}
	return k.String()
}

// traces is "1 reverse trace" or "n reverse traces".
func traces(n int) string {
	if n == 1 {
		return "1 reverse trace"
	}
	return fmt.Sprintf("%d reverse traces", n)
}

// reverseSlots counts the reverse traces running, per caller and in all.
type reverseSlots struct {
	mu      sync.Mutex
	total   int
	callers map[netip.Prefix]int
}

// take reserves a slot for caller, or says which limit is reached.
func (rs *reverseSlots) take(caller netip.Addr, o ReverseOptions) (release func(), err error) {
	k := callerKey(caller)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	switch {
	case rs.callers[k] >= o.PerCaller:
		return nil, fmt.Errorf("%s has %s running already, the most this responder runs per caller", callerName(k), traces(rs.callers[k]))
	case rs.total >= o.Total:
		verb := "are"
		if rs.total == 1 {
			verb = "is"
		}
		return nil, fmt.Errorf("%s %s running already, the most this responder runs at once", traces(rs.total), verb)
	}
	if rs.callers == nil {
		rs.callers = map[netip.Prefix]int{}
	}
	rs.callers[k]++
	rs.total++
	var once sync.Once
	return func() {
		once.Do(func() {
			rs.mu.Lock()
			defer rs.mu.Unlock()
			if rs.callers[k]--; rs.callers[k] == 0 {
				delete(rs.callers, k)
			}
			rs.total--
		})
	}, nil
}

// authorized compares the request's bearer token with ours in constant time. Both are hashed
// first, so the comparison does not even leak the token's length.
func authorized(r *http.Request, token string) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		got = ""
	}
	a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && token != ""
}

// reverseTrace serves POST /reverse: every check (token, body, limits) comes before a prober is
// opened, and the trace goes to the request's source address only. The answer streams as the
// trace goes; see package reverse for the format.
func (s *Server) reverseTrace(w http.ResponseWriter, r *http.Request) {
	o := s.opts.Reverse
	if o.Token == "" {
		fail(w, http.StatusForbidden, "reverse traces are off: this responder was started without --token-file")
		return
	}
	if !authorized(r, o.Token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mtr-go reverse"`)
		fail(w, http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer with the responder's --token-file content")
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, reverse.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", reverse.MaxBody))
			return
		}
		fail(w, http.StatusBadRequest, fmt.Sprintf("reading the request: %v", err))
		return
	}
	req, err := reverse.ParseRequest(body)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	grace := s.opts.Trace.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	if req, err = checkReverse(req, o, grace); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	caller, err := callerAddr(r.RemoteAddr)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	release, err := s.rslots.take(caller, o)
	if err != nil {
		w.Header().Set("Retry-After", "60")
		fail(w, http.StatusTooManyRequests, err.Error())
		return
	}
	defer release()

	pcfg := s.opts.Probe
	pcfg.Protocol, pcfg.Port = req.Protocol, req.Port
	if req.Size != 0 {
		pcfg.Size = req.Size
	}
	if req.Protocol == probe.ICMPProbes {
		pcfg.Paris, pcfg.LocalPort = false, 0
	}
	tcfg := s.opts.Trace
	tcfg.Count, tcfg.Interval, tcfg.Grace = req.Count, req.Interval, grace
	ctx, cancel := context.WithTimeout(r.Context(), o.MaxDuration+time.Minute)
	defer cancel()
	t, err := s.open("reverse:"+caller.String(), caller, pcfg, tcfg)
	if err != nil {
		if errors.Is(err, probe.ErrNoPrivilege) || errors.Is(err, probe.ErrPermission) {
			fail(w, http.StatusServiceUnavailable, fmt.Sprintf("protocol %s needs raw sockets, which this responder does not have; try udp or tcp", strings.ToLower(req.Protocol.String())))
			return
		}
		fail(w, http.StatusInternalServerError, fmt.Sprintf("open prober for %s: %v", caller, err))
		return
	}
	defer t.prober.Close()
	fmt.Fprintf(s.opts.Log, "mtr-go: reverse trace to %s: %s, %d rounds of %gs\n", caller, req.Protocol, req.Count, req.Interval.Seconds())

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	name := o.Name
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			name = fmt.Sprintf("%s (%s)", name, ap.Addr().Unmap().WithZone(""))
		}
	}
	write := func(l reverse.Line) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(l.Marshal()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(reverse.Line{Type: "start", Responder: name, Target: caller.String(), Protocol: strings.ToLower(req.Protocol.String()), Count: req.Count}) {
		return
	}
	s.stream(ctx, cancel, t.tracer, write)
}

// streamKeepalive is the longest the stream goes without a line while the path does not change:
// well inside the client's idle timeout (2 minutes), which rounds may outlast (a responder allows
// rounds up to its whole duration).
var streamKeepalive = 30 * time.Second

// stream runs the tracer and writes a hops line whenever the path changed, at most every
// streamEvery, then the final one and done (or error). A caller that stops reading ends the
// trace: its write fails or times out.
func (s *Server) stream(ctx context.Context, cancel context.CancelFunc, tr *trace.Tracer, write func(reverse.Line) bool) {
	errc := make(chan error, 1)
	go func() { errc <- tr.Run(ctx) }()
	tick := time.NewTicker(streamEvery)
	defer tick.Stop()
	dirty, last := false, time.Now()
	for {
		select {
		case <-tr.Changed():
			dirty = true
		case now := <-tick.C:
			if dirty || now.Sub(last) >= streamKeepalive {
				dirty, last = false, now
				if !write(reverse.HopsLine(tr.Snapshot(), tr.Rounds())) {
					cancel()
					<-errc
					return
				}
			}
		case err := <-errc:
			if !write(reverse.HopsLine(tr.Snapshot(), tr.Rounds())) {
				return
			}
			switch {
			case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
				write(reverse.Line{Type: "error", Error: "the trace took longer than this responder allows"})
			case err != nil && ctx.Err() != nil:
				// The caller is gone (nobody reads this) or the server is shutting down.
				write(reverse.Line{Type: "error", Error: "the responder is shutting down"})
			case err != nil:
				write(reverse.Line{Type: "error", Error: vocab.StripControl(err.Error())})
			default:
				write(reverse.Line{Type: "done", Rounds: tr.Rounds()})
			}
			return
		}
	}
}
