package asinfo

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in   string
		want Info
		err  bool
	}{
		{in: "23028 | 216.90.108.0/24 | US | arin | 1998-09-25",
			want: Info{AS: "23028", Prefix: "216.90.108.0/24", Country: "US", Registry: "arin", Allocated: "1998-09-25"}},
		// Several origins: mtr shows the whole field.
		{in: "64500 64501|198.18.0.0/15|ZZ|other|", want: Info{AS: "64500 64501", Prefix: "198.18.0.0/15", Country: "ZZ", Registry: "other"}},
		{in: "64500", want: Info{AS: "64500"}},
		{in: "64500 | 2001:db8::/32", want: Info{AS: "64500", Prefix: "2001:db8::/32"}},
		// Extra fields are ignored; control characters and escapes never get through.
		{in: "64500 | 198.18.0.0/15 | U\x1b[2JS | ar\nin | 2001-01-01 | x | y", want: Info{AS: "64500", Prefix: "198.18.0.0/15", Country: "U[2JS", Registry: "arin", Allocated: "2001-01-01"}},
		{in: "  64500   |  198.18.0.0/15  | a   b ", want: Info{AS: "64500", Prefix: "198.18.0.0/15", Country: "a b"}},
		{in: "", err: true},
		{in: "| 198.18.0.0/15", err: true},
		{in: "AS64500 | 198.18.0.0/15", err: true},
		{in: "4294967296 | 198.18.0.0/15", err: true},
		{in: "-1", err: true},
		{in: "64500 | not-a-prefix", err: true},
		{in: "64500 | 198.18.0.1", err: true},
		{in: "64500 | " + strings.Repeat("x", maxRecord), err: true},
	}
	for _, tt := range tests {
		got, err := ParseOrigin(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseOrigin(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "23028 | US | arin | 2002-01-04 | TEAM-CYMRU - Team Cymru Inc., US", want: "TEAM-CYMRU - Team Cymru Inc., US"},
		{in: "64500 | ZZ | other | | LAB-CARRIER-1", want: "LAB-CARRIER-1"},
		{in: "64500 | ZZ", want: ""},
		{in: "64500 | ZZ | other | | " + strings.Repeat("N", 100), want: strings.Repeat("N", maxField)},
		{in: "x | ZZ | other | | NAME", err: true},
	}
	for _, tt := range tests {
		got, err := ParseName(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseName(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestQueryName(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"198.18.0.1", "1.0.18.198.origin.asn.cymru.com"},
		{"::ffff:198.18.0.1", "1.0.18.198.origin.asn.cymru.com"},
		// Only the top 64 bits, as mtr asks.
		{"2001:db8:1:2::1", "2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.origin6.asn.cymru.com"},
		{"64:ff9b::c612:1", "1.0.18.198.origin.asn.cymru.com"},
	}
	for _, tt := range tests {
		if got := QueryName(netip.MustParseAddr(tt.addr), DefaultProvider4, DefaultProvider6); got != tt.want {
			t.Errorf("QueryName(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
	if got := QueryName(netip.MustParseAddr("198.18.0.1"), "example.net", "x"); got != "1.0.18.198.example.net" {
		t.Errorf("custom provider: %s", got)
	}
}

func TestFormat(t *testing.T) {
	i := Info{AS: "64500", Prefix: "198.18.0.0/15", Country: "ZZ", Registry: "other", Allocated: "2001-01-01"}
	tests := []struct {
		info Info
		ok   bool
		n    int
		want string
	}{
		{i, true, FieldAS, "AS64500  "},
		{Info{}, false, FieldAS, "AS???    "},
		{i, true, FieldPrefix, "198.18.0.0/15      "},
		{i, true, FieldCountry, "ZZ  "},
		{i, true, FieldRegistry, "other   "},
		{i, true, FieldAllocated, "2001-01-01 "},
		{Info{AS: "64500"}, true, FieldCountry, "??? "},
		{Info{AS: "4200000000"}, true, FieldAS, "AS4200000000 "},
	}
	for _, tt := range tests {
		if got := Format(tt.info, tt.ok, tt.n); got != tt.want {
			t.Errorf("Format(%+v, %v, %d) = %q, want %q", tt.info, tt.ok, tt.n, got, tt.want)
		}
	}
	if got := Compact(Info{}, false, FieldAS); got != "AS???" {
		t.Errorf("Compact = %q", got)
	}
}

// fakeTXT answers from a map and counts queries.
type fakeTXT struct {
	mu    sync.Mutex
	recs  map[string][]string
	asked map[string]int
}

func (f *fakeTXT) lookup(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked[name]++
	r, ok := f.recs[name]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return r, nil
}

func TestLookups(t *testing.T) {
	f := &fakeTXT{asked: map[string]int{}, recs: map[string][]string{
		"1.0.18.198.origin.asn.cymru.com":                       {"garbage", "64501 | 198.18.0.0/24 | ZZ | other | 2020-02-02"},
		"AS64501.asn.cymru.com":                                 {"64501 | ZZ | other | 2020-02-02 | LAB-CARRIER-1"},
		"2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.origin6.asn.cymru.com": {"64502 | 2001:db8:1::/48 | ZZ | other | "},
		"3.0.18.198.origin.asn.cymru.com":                       {"64503 | 198.18.0.0/24"},
	}}
	l := New(f.lookup, "", "", time.Second, true)
	defer l.Close()
	a := netip.MustParseAddr("198.18.0.1")
	b := netip.MustParseAddr("2001:db8:1:2::1")
	c := netip.MustParseAddr("198.18.0.2") // no record
	d := netip.MustParseAddr("198.18.0.3") // no name record
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.Wait(ctx, []netip.Addr{a, b, c, d, a})

	if got, ok := l.Info(a); !ok || got != (Info{AS: "64501", Prefix: "198.18.0.0/24", Country: "ZZ", Registry: "other", Allocated: "2020-02-02", Name: "LAB-CARRIER-1"}) {
		t.Errorf("Info(%s) = %+v, %v", a, got, ok)
	}
	if got, ok := l.Info(b); !ok || got.AS != "64502" || got.Prefix != "2001:db8:1::/48" || got.Name != "" {
		t.Errorf("Info(%s) = %+v, %v", b, got, ok)
	}
	if got, ok := l.Info(c); ok {
		t.Errorf("Info(%s) = %+v, want unknown", c, got)
	}
	if got, ok := l.Info(d); !ok || got.AS != "64503" || got.Name != "" {
		t.Errorf("Info(%s) = %+v, %v", d, got, ok)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Asked once each however often they were wanted: cached and deduplicated.
	for _, n := range []string{"1.0.18.198.origin.asn.cymru.com", "AS64501.asn.cymru.com", "2.0.18.198.origin.asn.cymru.com"} {
		if f.asked[n] != 1 {
			t.Errorf("%s asked %d times, want 1", n, f.asked[n])
		}
	}
	if f.asked["AS64502.asn.cymru.com"] != 1 {
		t.Errorf("IPv6 AS name asked %d times, want 1 (in asn.cymru.com)", f.asked["AS64502.asn.cymru.com"])
	}
}

// A custom provider without the origin convention gets no AS-name queries.
func TestLookupsCustomProvider(t *testing.T) {
	f := &fakeTXT{asked: map[string]int{}, recs: map[string][]string{
		"1.0.18.198.as.example.net": {"64500 | 198.18.0.0/15"},
	}}
	l := New(f.lookup, "as.example.net", "as6.example.net", time.Second, true)
	defer l.Close()
	a := netip.MustParseAddr("198.18.0.1")
	l.Wait(context.Background(), []netip.Addr{a})
	if got, ok := l.Info(a); !ok || got.Number() != 64500 {
		t.Errorf("Info = %+v, %v", got, ok)
	}
	if len(f.asked) != 1 {
		t.Errorf("asked %v, want only the origin", f.asked)
	}
}

func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{
		"23028 | 216.90.108.0/24 | US | arin | 1998-09-25",
		"64500 64501|2001:db8::/32|ZZ|other|",
		"64500 | ZZ | other | 2002-01-04 | NAME \x1b[31m",
		"", "|||||||||||||||||||||", "4294967295",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, err := ParseOrigin(s)
		if err != nil {
			return
		}
		if i.Number() == 0 && !strings.HasPrefix(i.AS, "0") {
			t.Fatalf("accepted AS field %q without a number", i.AS)
		}
		for k := range NumFields {
			v := i.Field(k)
			if len([]rune(v)) > maxField || strings.ContainsAny(v, "|\x00\x1b\n\r\t") {
				t.Fatalf("field %d = %q", k, v)
			}
			if strings.ContainsAny(Format(i, true, k), "|\x1b") {
				t.Fatalf("format %d", k)
			}
		}
		if name, err := ParseName(s); err == nil && (len([]rune(name)) > maxField || strings.ContainsAny(name, "|\x1b\n")) {
			t.Fatalf("name %q", name)
		}
		if got, ok := decode(strings.Join([]string{i.AS, i.Prefix, i.Country, i.Registry, i.Allocated, ""}, "|")); !ok || got != i {
			t.Fatalf("cache round trip: %+v, want %+v", got, i)
		}
	})
}

// Without names only the origin is asked.
func TestLookupsWithoutNames(t *testing.T) {
	f := &fakeTXT{asked: map[string]int{}, recs: map[string][]string{
		"1.0.18.198.origin.asn.cymru.com": {"64501 | 198.18.0.0/24"},
		"AS64501.asn.cymru.com":           {"64501 | ZZ | other | | LAB-CARRIER-1"},
	}}
	l := New(f.lookup, "", "", time.Second, false)
	defer l.Close()
	a := netip.MustParseAddr("198.18.0.1")
	l.Wait(context.Background(), []netip.Addr{a})
	if got, ok := l.Info(a); !ok || got.AS != "64501" || got.Name != "" {
		t.Errorf("Info = %+v, %v", got, ok)
	}
	if len(f.asked) != 1 {
		t.Errorf("asked %v, want only the origin", f.asked)
	}
}

func BenchmarkParseOrigin(b *testing.B) {
	for b.Loop() {
		if _, err := ParseOrigin("23028 | 216.90.108.0/24 | US | arin | 1998-09-25"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInfoCached is the live view's cost per row per frame once an address is known.
func BenchmarkInfoCached(b *testing.B) {
	f := &fakeTXT{asked: map[string]int{}, recs: map[string][]string{
		"1.0.18.198.origin.asn.cymru.com": {"64501 | 198.18.0.0/24 | ZZ | other | 2026-01-01"},
	}}
	l := New(f.lookup, "", "", time.Second, false)
	defer l.Close()
	a := netip.MustParseAddr("198.18.0.1")
	l.Wait(context.Background(), []netip.Addr{a})
	for b.Loop() {
		if _, ok := l.Info(a); !ok {
			b.Fatal("unknown")
		}
	}
}
