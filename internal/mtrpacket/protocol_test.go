package mtrpacket

import (
	"bytes"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Command
		err  bool
	}{
		{line: "13 argle-bargle", want: Command{Token: 13, Name: "argle-bargle"}},
		{line: "  7\tsend-probe  ip-4 198.18.0.1\vttl 3\r", want: Command{Token: 7, Name: "send-probe", Args: []Arg{{"ip-4", "198.18.0.1"}, {"ttl", "3"}}}},
		{line: "malformed", err: true},
		{line: "", err: true},
		{line: "1 send-probe ip-4", err: true}, // a name without a value
		{line: "x check-support", want: Command{Token: 0, Name: "check-support"}}, // strtol: no digits is 0
		{line: "12abc foo", want: Command{Token: 12, Name: "foo"}},                // strtol stops at the first non-digit
		{line: "-3 foo", want: Command{Token: -3, Name: "foo"}},                   // signed
		{line: "4294967297 foo", want: Command{Token: 1, Name: "foo"}},            // long, then kept in an int
		{line: "99999999999999999999 foo", err: true},                             // ERANGE
		{line: "1 a" + strings.Repeat(" k v", 16), want: Command{Token: 1, Name: "a", Args: repeatArgs(16)}},
		{line: "1 a" + strings.Repeat(" k v", 17), err: true}, // 17 pairs
		{line: "1 \u00a0 x", err: true},                       // a non-breaking space is no C space: the name, then x without a value
	} {
		got, err := Parse(tc.line)
		if (err != nil) != tc.err {
			t.Errorf("Parse(%q) error %v, want error %v", tc.line, err, tc.err)
			continue
		}
		if !tc.err && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
}

func repeatArgs(n int) []Arg {
	var a []Arg
	for range n {
		a = append(a, Arg{"k", "v"})
	}
	return a
}

func TestDecodeProbe(t *testing.T) {
	def := Probe{Token: 5, Protocol: "icmp", TTL: 255, Size: 64, Timeout: 10}
	with := func(f func(*Probe)) Probe { p := def; f(&p); return p }
	for _, tc := range []struct {
		args string
		want Probe
		ok   bool
	}{
		{"", def, true},
		{"ip-4 198.18.0.1", with(func(p *Probe) { p.IPVersion, p.Remote = 4, "198.18.0.1" }), true},
		{"ip-4 198.18.0.1 ip-6 2001:db8::1", with(func(p *Probe) { p.IPVersion, p.Remote = 6, "2001:db8::1" }), true}, // the last wins
		{"protocol udp port 53 local-port 40000 ttl 3 size 100 bit-pattern 44 tos 32 timeout 3 mark 7",
			with(func(p *Probe) {
				p.Protocol, p.Port, p.LocalPort, p.TTL, p.Size, p.Pattern, p.TOS, p.Timeout, p.Mark = "udp", 53, 40000, 3, 100, 44, 32, 3, 7
			}), true},
		{"protocol sctp", with(func(p *Probe) { p.Protocol = "sctp" }), true},
		{"protocol gre", def, false},
		{"ttl str-value", def, false},
		{"timeout 1x", def, false},
		{"ttl +4", with(func(p *Probe) { p.TTL = 4 }), true},
		{"timeout -1", with(func(p *Probe) { p.Timeout = -1 }), true},
		{"local-port 1023", def, false},                                                  // privileged ports are refused
		{"ttl 4294967298", with(func(p *Probe) { p.TTL = 2 }), true},                     // long, kept in an int
		{"ttl 99999999999999999999", with(func(p *Probe) { p.TTL = -1 }), true},          // strtol saturates at LONG_MAX
		{"frobnicate 12 ttl 9", with(func(p *Probe) { p.TTL = 9 }), true},                // unknown names are ignored
		{"local-ip-4 198.18.0.2", with(func(p *Probe) { p.Local = "198.18.0.2" }), true}, // checked by Addrs
	} {
		c, err := Parse("5 send-probe " + tc.args)
		if tc.args == "" {
			c, err = Command{Token: 5, Name: "send-probe"}, nil
		}
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.args, err)
		}
		got, ok := DecodeProbe(c)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("DecodeProbe(%q) = %+v, %v; want %+v, %v", tc.args, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAddrs(t *testing.T) {
	for _, tc := range []struct {
		v             int
		remote, local string
		ok            bool
	}{
		{4, "198.18.0.1", "", true},
		{4, "198.18.0.1", "198.18.0.2", true},
		{4, "2001:db8::1", "", false},
		{6, "198.18.0.1", "", false},
		{6, "2001:db8::1", "2001:db8::2", true},
		{6, "fe80::1%eth0", "", false}, // inet_pton takes no zone
		{6, "::ffff:198.18.0.1", "", false},
		{4, "198.018.0.1", "", false}, // nor leading zeros
		{4, "str-value", "", false},
		{4, "198.18.0.1", "2001:db8::2", false},
		{4, "", "", false},
	} {
		_, _, ok := Probe{IPVersion: tc.v, Remote: tc.remote, Local: tc.local}.Addrs()
		if ok != tc.ok {
			t.Errorf("Addrs(ip-%d %q local %q) ok = %v, want %v", tc.v, tc.remote, tc.local, ok, tc.ok)
		}
	}
}

func TestProbeReply(t *testing.T) {
	a4, a6 := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("2001:db8::1")
	for _, tc := range []struct {
		got, want string
	}{
		{ProbeReply(33000, "reply", a4, 67, nil), "33000 reply ip-4 198.18.1.1 round-trip-time 67"},
		{ProbeReply(7, "ttl-expired", a6, 1234, nil), "7 ttl-expired ip-6 2001:db8::1 round-trip-time 1234"},
		{ProbeReply(8, "no-route", netip.MustParseAddr("fe80::1%eth0"), 5, nil), "8 no-route ip-6 fe80::1 round-trip-time 5"},
		{ProbeReply(9, "ttl-expired", a4, 10, []Label{{Label: 16000, TC: 1, S: false, TTL: 1}, {Label: 17, TC: 0, S: true, TTL: 255}}),
			"9 ttl-expired ip-4 198.18.1.1 round-trip-time 10 mpls 16000,1,0,1,17,0,1,255"},
		{Simple(-1, "no-reply"), "-1 no-reply"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestLineBuffer checks the command buffer against mtr-packet's: lines are taken whatever the
// reads' sizes, a 4095-byte run without a newline is one overflow, and the newline after a NUL
// is never seen.
func TestLineBuffer(t *testing.T) {
	run := func(r io.Reader) []string {
		var b lineBuffer
		var out []string
		for {
			for {
				line, overflow, ok := b.next()
				if !ok {
					break
				}
				if overflow {
					line = "OVERFLOW"
				}
				out = append(out, line)
			}
			if err := b.fill(r); err != nil {
				return out
			}
		}
	}
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"two lines", "1 a\n2 b\npartial", []string{"1 a", "2 b"}},
		{"empty lines", "\n\n", []string{"", ""}},
		{"64 KiB", strings.Repeat("x", 64*1024) + "\n", append(repeat("OVERFLOW", 16), strings.Repeat("x", 64*1024-16*4095))},
		{"4094 then newline", strings.Repeat("y", 4094) + "\n1 z\n", []string{strings.Repeat("y", 4094), "1 z"}},
		{"NUL hides the newline", "1 a\x00b\n2 c\n" + strings.Repeat("w", 4095), []string{"OVERFLOW"}},
	} {
		for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
			if got := run(r); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: got %d lines %.80q, want %d %.80q", tc.name, len(got), got, len(tc.want), tc.want)
			}
		}
	}
}

func repeat(s string, n int) []string {
	var out []string
	for range n {
		out = append(out, s)
	}
	return out
}

// FuzzParse: arbitrary input never crashes the command buffer, the parser or the decoder, and
// a parsed command formats back into a line that parses to the same command.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"13 argle-bargle\n", "malformed\n", "1 send-probe ip-4 198.18.0.1 ttl 3 protocol udp port 53\n",
		"2 check-support feature version\n", strings.Repeat("x", 5000) + "\n1 a\n", "1 a\x00\n", "99999999999999999999 a\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b lineBuffer
		r := bytes.NewReader(data)
		for range len(data) + 2 {
			for {
				line, overflow, ok := b.next()
				if !ok {
					break
				}
				if overflow {
					continue
				}
				if strings.ContainsAny(line, "\n\x00") {
					t.Fatalf("line %q holds a newline or NUL", line)
				}
				c, err := Parse(line)
				if err != nil {
					continue
				}
				p, ok := DecodeProbe(c)
				if ok {
					p.Addrs()
				}
				var sb strings.Builder
				sb.WriteString(Simple(c.Token, c.Name))
				for _, a := range c.Args {
					sb.WriteString(" " + a.Name + " " + a.Value)
				}
				again, err := Parse(sb.String())
				if err != nil || !reflect.DeepEqual(again, c) {
					t.Fatalf("%q: reparse of %q = %+v, %v; want %+v", line, sb.String(), again, err, c)
				}
			}
			if b.fill(r) != nil {
				break
			}
		}
	})
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Reply
		err  bool
	}{
		{line: "33000 reply ip-4 198.18.3.2 round-trip-time 67", want: Reply{Token: 33000, Kind: "reply", From: netip.MustParseAddr("198.18.3.2"), RTT: 67 * time.Microsecond}},
		{line: "7 ttl-expired ip-6 2001:db8::2 round-trip-time 1500 mpls 16000,1,0,1,17,0,1,255", want: Reply{Token: 7, Kind: "ttl-expired",
			From: netip.MustParseAddr("2001:db8::2"), RTT: 1500 * time.Microsecond, Labels: []Label{{16000, 1, false, 1}, {17, 0, true, 255}}}},
		{line: "8 no-reply", want: Reply{Token: 8, Kind: "no-reply"}},
		{line: "9 unexpected-error errno 105", want: Reply{Token: 9, Kind: "unexpected-error", Args: []Arg{{"errno", "105"}}}},
		{line: "1 feature-support support ok", want: Reply{Token: 1, Kind: "feature-support", Args: []Arg{{"support", "ok"}}}},
		{line: "3 reply ip-4 198.18.3.2", err: true},                                      // an answer without its round trip
		{line: "3 reply ip-4 198.18.3.2 round-trip-time -5", err: true},                   // negative
		{line: "3 reply ip-4 2001:db8::1 round-trip-time 5", err: true},                   // wrong family
		{line: "3 reply ip-6 fe80::1%eth0 round-trip-time 5", err: true},                  // zone
		{line: "3 reply ip-4 198.18.3.2 round-trip-time 5 mpls 1,2,3", err: true},         // not fours
		{line: "3 reply ip-4 198.18.3.2 round-trip-time 5 mpls 1048576,0,1,1", err: true}, // 21-bit label
		{line: "3 reply ip-4 198.18.3.2 round-trip-time 5 mpls 1,8,1,1", err: true},       // TC is 3 bits
		{line: "garbage", err: true},
	} {
		got, err := ParseReply(tc.line)
		if (err != nil) != tc.err {
			t.Errorf("ParseReply(%q) error %v, want error %v", tc.line, err, tc.err)
			continue
		}
		if tc.err {
			continue
		}
		if tc.want.Args == nil && got.From.IsValid() {
			got.Args = nil // the answer's own arguments, checked through From, RTT and Labels
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseReply(%q) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
}

// FuzzParseReply: whatever a helper writes, the client's parser neither crashes nor accepts
// an answer it could not format back the same way.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"33000 reply ip-4 198.18.3.2 round-trip-time 67", "7 ttl-expired ip-6 2001:db8::2 round-trip-time 1500 mpls 16000,1,0,1",
		"8 no-reply", "9 unexpected-error errno 105", "1 feature-support support ok", "3 reply ip-4 1.2.3.4 mpls ,,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseReply(line)
		if err != nil || !r.From.IsValid() {
			return
		}
		switch r.Kind {
		case "reply", "ttl-expired", "no-route":
		default:
			return
		}
		back := ProbeReply(r.Token, r.Kind, r.From, r.RTT.Microseconds(), r.Labels)
		again, err := ParseReply(back)
		if err != nil || again.From != r.From || again.RTT != r.RTT || !reflect.DeepEqual(again.Labels, r.Labels) || again.Token != r.Token {
			t.Fatalf("%q formats back as %q, which reads %+v, %v", line, back, again, err)
		}
	})
}
