package probe

import (
	"net/netip"
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
	for _, c := range v4EchoCases() {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, from := range []netip.Addr{router4, target4} {
			r, ok := parseV4(b, from, ourID, target4)
			checkParsed(t, b, r, ok, from, target4)
			// The same bytes behind an IPv4 header, as the socket reads them.
			if inner := stripIPv4Header(b); inner != nil {
				r, ok = parseV4(inner, from, ourID, target4)
				checkParsed(t, inner, r, ok, from, target4)
			}
		}
	})
}

func FuzzParseV6(f *testing.F) {
	for _, c := range v6Cases() {
		f.Add(c.b)
	}
	for _, c := range v6EchoCases() {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, from := range []netip.Addr{router6, target6} {
			r, ok := parseV6(b, from, ourID, target6)
			checkParsed(t, b, r, ok, from, target6)
		}
	})
}

func checkParsed(t *testing.T, b []byte, r Reply, ok bool, from, target netip.Addr) {
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
	if r.From != from {
		t.Fatalf("accepted with From %v, sent by %v", r.From, from)
	}
	if r.Kind == EchoReply && from != target {
		t.Fatalf("accepted an echo reply from %v, not the target %v: % x", from, target, b)
	}
	if r.Code != b[1] || !r.At.IsZero() {
		t.Fatalf("accepted %+v from % x", r, b)
	}
}
