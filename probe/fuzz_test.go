package probe

import (
	"reflect"
	"testing"
)

// The fuzzers feed arbitrary bytes to the matchers: they must never panic,
// and whatever they accept must be a well-formed answer to us. Seeds are the
// table cases plus the corpus in testdata/fuzz.

func FuzzParseV4(f *testing.F) {
	for _, c := range v4Cases() {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := parseV4(b, router4, ourID, target4)
		checkParsed(t, b, r, ok)
		// The same bytes behind an IPv4 header, as the socket reads them.
		if inner := stripIPv4Header(b); inner != nil {
			r, ok = parseV4(inner, router4, ourID, target4)
			checkParsed(t, inner, r, ok)
		}
	})
}

func FuzzParseV6(f *testing.F) {
	for _, c := range v6Cases() {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := parseV6(b, router6, ourID, target6)
		checkParsed(t, b, r, ok)
	})
}

func checkParsed(t *testing.T, b []byte, r Reply, ok bool) {
	t.Helper()
	if !ok {
		if !reflect.DeepEqual(r, Reply{}) {
			t.Fatalf("rejected but returned %+v", r)
		}
		return
	}
	if r.Kind < EchoReply || r.Kind > Unreachable {
		t.Fatalf("accepted with kind %v: % x", r.Kind, b)
	}
	if r.From != router4 && r.From != router6 {
		t.Fatalf("accepted with From %v", r.From)
	}
	if r.Code != b[1] || !r.At.IsZero() {
		t.Fatalf("accepted %+v from % x", r, b)
	}
}
