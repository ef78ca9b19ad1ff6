package reverse

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name, body string
		want       Request
		err        string
	}{
		{"empty object: the responder's defaults", `{}`, Request{}, ""},
		{"all fields", `{"protocol":"udp","port":33434,"count":5,"interval":2.5,"size":100}`, Request{Protocol: vocab.UDPProbes, Port: 33434, Count: 5, Interval: 2500 * time.Millisecond, Size: 100}, ""},
		{"protocol in capitals", `{"protocol":"TCP"}`, Request{Protocol: vocab.TCPProbes}, ""},
		{"a target is refused", `{"count":3,"target":"192.0.2.1"}`, Request{}, `unknown field "target"`},
		{"any other field is refused", `{"host":"x"}`, Request{}, `unknown field "host"`},
		{"a field with control characters", "{\"a\\u0007b\":1}", Request{}, `unknown field "ab"`},
		{"sctp", `{"protocol":"sctp"}`, Request{Protocol: vocab.SCTPProbes}, ""},
		{"unknown protocol", `{"protocol":"gre"}`, Request{}, `protocol "gre": want icmp, udp, tcp or sctp`},
		{"count as text", `{"count":"5"}`, Request{}, `field "count": want a whole number, not a JSON string`},
		{"fractional count", `{"count":1.5}`, Request{}, `field "count": want a whole number, not a JSON number 1.5`},
		{"protocol as a number", `{"protocol":1}`, Request{}, `field "protocol": want a string, not a JSON number`},
		{"negative interval", `{"interval":-1}`, Request{}, "interval -1"},
		{"huge interval", `{"interval":1e300}`, Request{}, "want seconds from 0 to 3600"},
		{"not an object", `[1,2]`, Request{}, "not a JSON object"},
		{"null", `null`, Request{}, "not a JSON object"},
		{"empty body", ``, Request{}, "not a JSON object"},
		{"oversized", `{"count":1` + strings.Repeat(" ", MaxBody) + `}`, Request{}, "larger than 4096 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestRequestRoundTrip: what MarshalBody writes, ParseRequest reads back.
func TestRequestRoundTrip(t *testing.T) {
	for _, r := range []Request{
		{},
		{Protocol: vocab.TCPProbes, Port: 443, Count: 100, Interval: 1500 * time.Millisecond, Size: 1400},
		{Protocol: vocab.UDPProbes, Count: 1},
	} {
		got, err := ParseRequest(r.MarshalBody())
		if err != nil || got != r {
			t.Errorf("%+v → %s → %+v, %v", r, r.MarshalBody(), got, err)
		}
	}
}

// feed runs the parser over a stream's lines and returns every update and the first error.
func feed(stream string) ([]Update, error) {
	var p parser
	var out []Update
	for l := range strings.SplitSeq(strings.TrimSuffix(stream, "\n"), "\n") {
		u, final, err := p.line([]byte(l))
		if err != nil {
			return out, err
		}
		out = append(out, u)
		if final {
			break
		}
	}
	return out, nil
}

const goodStream = `{"type":"start","responder":"dest (198.18.5.2)","target":"198.18.0.2","protocol":"icmp","count":2}
{"type":"hops","rounds":1,"hops":[{"ttl":1,"sent":1,"recv":1,"last":0.5,"best":0.5,"wrst":0.5,"avg":0.5,"stdev":0,"addrs":[{"ip":"198.18.4.1","count":1}]}]}
{"type":"hops","rounds":2,"hops":[{"ttl":1,"sent":2,"recv":2,"last":0.7,"best":0.5,"wrst":0.7,"avg":0.6,"stdev":0.1414,"addrs":[{"ip":"198.18.4.1","count":2}]},{"ttl":2,"sent":2,"recv":1,"last":1,"best":1,"wrst":1,"avg":1,"stdev":0,"addrs":[{"ip":"198.18.0.2","count":1}]}]}
{"type":"done","rounds":2}
`

func TestParserReadsAStream(t *testing.T) {
	ups, err := feed(goodStream)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 4 {
		t.Fatalf("%d updates, want 4", len(ups))
	}
	last := ups[3]
	if !last.Done || last.Err != nil || last.Rounds != 2 || last.Responder != "dest (198.18.5.2)" || last.Target != netip.MustParseAddr("198.18.0.2") {
		t.Fatalf("last update %+v", last)
	}
	s := last.Snapshot
	if s.Target != last.Target || s.First != 1 || len(s.Hops) != 2 {
		t.Fatalf("snapshot %+v", s)
	}
	h1, h2 := s.Hops[0], s.Hops[1]
	if h1.Sent != 2 || h1.Recv != 2 || h1.Addr() != netip.MustParseAddr("198.18.4.1") || h1.Best != 500*time.Microsecond || h1.Worst != 700*time.Microsecond || h1.Last != 700*time.Microsecond {
		t.Errorf("hop 1 %+v", h1)
	}
	if h1.Avg() != 0.6 || h1.StDev() < 0.1413 || h1.StDev() > 0.1415 {
		t.Errorf("hop 1 avg %g stdev %g, want 0.6 and 0.1414", h1.Avg(), h1.StDev())
	}
	if h2.Loss() != 50 || h2.Addr() != last.Target {
		t.Errorf("hop 2: loss %g from %v, want 50 %% from the target", h2.Loss(), h2.Addr())
	}
	if ups[1].Rounds != 1 || len(ups[1].Snapshot.Hops) != 1 || ups[0].Snapshot.Target != last.Target {
		t.Errorf("intermediate updates %+v", ups[:2])
	}
}

func TestParserRefusesHostileLines(t *testing.T) {
	start := `{"type":"start","responder":"r","target":"198.18.0.2"}` + "\n"
	hop := func(fields string) string {
		return start + `{"type":"hops","rounds":1,"hops":[` + fields + `]}`
	}
	tests := []struct {
		name, stream, err string
	}{
		{"hops before start", `{"type":"hops","hops":[]}`, `"hops" line before the start line`},
		{"two starts", start + start, "a second start line"},
		{"target not an address", `{"type":"start","target":"evil.example"}`, `target "evil.example" is not an address`},
		{"target with a zone", `{"type":"start","target":"fe80::1%eth0"}`, "is not an address"},
		{"not JSON", start + "hello", "not a JSON line"},
		{"unknown type", start + `{"type":"boom"}`, `unknown line type "boom"`},
		{"empty line", start + " ", "empty line"},
		{"TTL zero", hop(`{"ttl":0,"sent":1,"recv":1}`), "TTL 0 out of order"},
		{"TTLs with a gap", hop(`{"ttl":1,"sent":1},{"ttl":3,"sent":1}`), "TTL 3 out of order"},
		{"more answers than probes", hop(`{"ttl":1,"sent":1,"recv":2}`), "2 answers to 1 probes"},
		{"negative count", hop(`{"ttl":1,"sent":-1}`), "answers to -1 probes"},
		{"huge count", hop(`{"ttl":1,"sent":1e12}`), "not a JSON line"},
		{"negative time", hop(`{"ttl":1,"sent":1,"recv":1,"best":-3}`), "time -3 ms out of range"},
		{"time beyond an hour", hop(`{"ttl":1,"sent":1,"recv":1,"wrst":1e9}`), "out of range"},
		{"bad address", hop(`{"ttl":1,"sent":1,"recv":1,"addrs":[{"ip":"1.2.3.4\u001b[2J","count":1}]}`), `address "1.2.3.4[2J" is not an address`},
		{"too many addresses", hop(`{"ttl":1,"sent":1,"recv":1,"addrs":[` + strings.Repeat(`{"ip":"198.18.0.1","count":1},`, 40) + `{"ip":"198.18.0.1","count":1}]}`), "41 addresses, at most 32"},
		{"too many hops", start + `{"type":"hops","hops":[` + strings.Repeat(`{"ttl":1},`, 300) + `{"ttl":1}]}`, "301 hops: at most 255"},
		{"line too long", start + `{"type":"hops","x":"` + strings.Repeat("a", MaxLine) + `"}`, "line longer than"},
		{"negative rounds", start + `{"type":"done","rounds":-5}`, "rounds -5 out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := feed(tc.stream)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			if strings.ContainsFunc(err.Error(), unicode.IsControl) {
				t.Errorf("error carries control characters: %q", err)
			}
		})
	}
}

// TestParserCleansNames: names and error texts reach a view on one line, without the escape
// sequences a hostile responder could put in them, and no longer than maxName.
func TestParserCleansNames(t *testing.T) {
	ups, err := feed(`{"type":"start","responder":"evil\u001b]0;pwned\u0007\nname` + strings.Repeat("é", 300) + `","target":"::ffff:198.18.0.2"}
{"type":"hops","hops":[{"ttl":1,"sent":1,"recv":1,"note":"unreachable\r\u001b[31m","addrs":[{"ip":"198.18.0.1","count":1}]}]}
{"type":"error","error":"stopped\u0000\nhere"}`)
	if err != nil {
		t.Fatal(err)
	}
	last := ups[len(ups)-1]
	if strings.ContainsFunc(last.Responder, unicode.IsControl) || len(last.Responder) > maxName || !strings.HasPrefix(last.Responder, "evil]0;pwnedname") {
		t.Errorf("responder %q", last.Responder)
	}
	if last.Target != netip.MustParseAddr("198.18.0.2") {
		t.Errorf("target %v: a v4-mapped address is unmapped", last.Target)
	}
	if n := last.Snapshot.Hops[0].Err; n != "unreachable[31m" {
		t.Errorf("note %q", n)
	}
	if last.Err == nil || last.Err.Error() != "responder: stoppedhere" || last.Done {
		t.Errorf("err %v done %v", last.Err, last.Done)
	}
}

// TestHopsLineRoundTrip: a snapshot sent as a hops line reads back with the same summary.
func TestHopsLineRoundTrip(t *testing.T) {
	a, b := netip.MustParseAddr("198.18.4.1"), netip.MustParseAddr("2001:db8::2")
	in := stats.Snapshot{Target: b, First: 1, Hops: []stats.Hop{
		stats.FromSummary(stats.Summary{TTL: 1, Sent: 4, Recv: 3, Last: 2 * time.Millisecond, Best: time.Millisecond, Wrst: 3 * time.Millisecond, Avg: 2, StDev: 1, Addrs: []stats.Addr{{IP: a, Count: 3}}}),
		stats.FromSummary(stats.Summary{TTL: 2, Sent: 4}),
		stats.FromSummary(stats.Summary{TTL: 3, Sent: 4, Recv: 4, Last: 5 * time.Millisecond, Best: 5 * time.Millisecond, Wrst: 5 * time.Millisecond, Avg: 5, Addrs: []stats.Addr{{IP: b, Count: 4}}}),
	}}
	var p parser
	if _, _, err := p.line(Line{Type: "start", Responder: "x", Target: b.String()}.Marshal()); err != nil {
		t.Fatal(err)
	}
	u, _, err := p.line(HopsLine(in, 4).Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if u.Rounds != 4 || len(u.Snapshot.Hops) != 3 || u.Snapshot.First != 1 {
		t.Fatalf("%+v", u)
	}
	for i, got := range u.Snapshot.Hops {
		want := in.Hops[i]
		if got.TTL != want.TTL || got.Sent != want.Sent || got.Recv != want.Recv || got.Best != want.Best || got.Worst != want.Worst || got.Last != want.Last || got.Avg() != want.Avg() || got.StDev() != want.StDev() || got.Addr() != want.Addr() || got.Loss() != want.Loss() {
			t.Errorf("hop %d: %+v, want %+v", i+1, got, want)
		}
	}
}

// FuzzStream feeds arbitrary streams to the client's parser: no panic, and every update it
// accepts is fit for a view: names on one line without control characters and bounded, hops in
// order with sane counters.
func FuzzStream(f *testing.F) {
	f.Add(goodStream)
	f.Add(`{"type":"start","responder":"\u001b[2J","target":"::ffff:1.2.3.4"}` + "\n" + `{"type":"error","error":"x\ny"}`)
	f.Add(`{"type":"start","target":"198.18.0.2"}` + "\n" + `{"type":"hops","hops":[{"ttl":255,"sent":1,"recv":1,"addrs":[{"ip":"2001:db8::1","count":1}]}]}`)
	f.Add(`{"type":"hops"}`)
	// What a view prints of the stream: no control character, no format one (bidi overrides).
	unsafe := func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }
	f.Fuzz(func(t *testing.T, stream string) {
		var p parser
		for l := range strings.SplitSeq(stream, "\n") {
			u, final, err := p.line([]byte(l))
			if err != nil {
				if strings.ContainsFunc(err.Error(), unicode.IsControl) {
					t.Fatalf("error with control characters: %q", err)
				}
				return
			}
			if strings.ContainsFunc(u.Responder, unsafe) || len(u.Responder) > maxName {
				t.Fatalf("responder %q", u.Responder)
			}
			if len(u.Snapshot.Hops) > maxHops {
				t.Fatalf("%d hops", len(u.Snapshot.Hops))
			}
			for i, h := range u.Snapshot.Hops {
				if h.TTL != u.Snapshot.First+i || h.Recv > h.Sent || h.Recv < 0 || len(h.Addrs) > maxAddrs || strings.ContainsFunc(h.Err, unsafe) {
					t.Fatalf("hop %+v", h)
				}
			}
			if u.Err != nil && strings.ContainsFunc(u.Err.Error(), unsafe) {
				t.Fatalf("err %q", u.Err)
			}
			if final {
				return
			}
		}
	})
}

// FuzzParseRequest: whatever a caller sends, the request read from it has no way to name a
// target and its values are of the kinds Request holds.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"protocol":"udp","port":53,"count":3,"interval":1,"size":64}`))
	f.Add([]byte(`{"target":"192.0.2.1"}`))
	f.Add([]byte(`{"interval":1e-300}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err != nil {
			if strings.ContainsFunc(err.Error(), unicode.IsControl) {
				t.Fatalf("error with control characters: %q", err)
			}
			return
		}
		if r.Interval < 0 || r.Interval > time.Hour || r.Protocol > vocab.TCPProbes {
			t.Fatalf("accepted %+v", r)
		}
		if bytes.Contains(bytes.ToLower(body), []byte(`"target"`)) && !bytes.Contains(body, []byte(`\`)) {
			t.Fatalf("accepted a body naming a target: %q", body)
		}
	})
}

// TestLargestLineFits: the largest hops line a responder writes (255 hops, each with the most
// addresses it sends, all long IPv6 ones, every counter and time at its widest) is within the
// client's line limit, so no honest responder is cut off.
func TestLargestLineFits(t *testing.T) {
	var s stats.Snapshot
	s.First = 1
	for ttl := 1; ttl <= maxHops; ttl++ {
		sum := stats.Summary{TTL: ttl, Sent: maxCounter, Recv: maxCounter, Last: maxRTT, Best: maxRTT, Wrst: maxRTT, Avg: 1234567.891234567, StDev: 1234567.891234567}
		for i := range maxAddrs + 5 {
			sum.Addrs = append(sum.Addrs, stats.Addr{IP: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, byte(ttl), byte(i)}), Count: maxCounter})
		}
		h := stats.FromSummary(sum)
		h.Err = strings.Repeat("x", 200)
		s.Hops = append(s.Hops, h)
	}
	b := HopsLine(s, maxCounter).Marshal()
	t.Logf("largest line: %d bytes", len(b))
	if len(b) > MaxLine {
		t.Fatalf("largest line %d bytes, over MaxLine %d", len(b), MaxLine)
	}
	typical := stats.Snapshot{First: 1}
	for ttl := 1; ttl <= 30; ttl++ {
		typical.Hops = append(typical.Hops, stats.FromSummary(stats.Summary{TTL: ttl, Sent: 100, Recv: 99, Last: 12345 * time.Microsecond, Best: 10 * time.Millisecond, Wrst: 20 * time.Millisecond, Avg: 12.3456789, StDev: 1.23456789, Addrs: []stats.Addr{{IP: netip.AddrFrom4([4]byte{198, 18, byte(ttl), 1}), Count: 99}}}))
	}
	t.Logf("a 30-hop path of one address a hop: %d bytes a line", len(HopsLine(typical, 100).Marshal()))
	var p parser
	p.line(Line{Type: "start", Target: "2001:db8::1"}.Marshal())
	if _, _, err := p.line(b); err != nil {
		t.Fatalf("the largest line is refused: %v", err)
	}
}

// TestParserDropsBidiControls: a responder name with a right-to-left override would print the
// rest of the "Reverse: from ... to ..." line backwards in a browser (-H) or a bidi terminal, so
// a hostile responder could make the traced address read as another; format characters (bidi
// controls, zero-width ones) are dropped like control characters.
func TestParserDropsBidiControls(t *testing.T) {
	ups, err := feed(`{"type":"start","responder":"far\u202e2.0.81.891\u202c\u200b end","target":"198.18.0.2"}
{"type":"error","error":"x\u2066y\u2069"}`)
	if err != nil {
		t.Fatal(err)
	}
	last := ups[len(ups)-1]
	if last.Responder != "far2.0.81.891 end" {
		t.Errorf("responder %q", last.Responder)
	}
	if last.Err == nil || last.Err.Error() != "responder: xy" {
		t.Errorf("err %v", last.Err)
	}
}
