package probe

import (
	"reflect"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// mplsError builds what an MPLS router sends: a time exceeded quoting a probe, with an RFC 4950
// label stack object in an RFC 4884 extension structure, as x/net marshals it.
func mplsError(t testing.TB, v6 bool, labels []icmp.MPLSLabel) []byte {
	t.Helper()
	quote := make([]byte, 28)
	quote[0] = 0x45
	if v6 {
		quote = make([]byte, 48)
		quote[0] = 0x60
	}
	ext := []icmp.Extension{&icmp.MPLSLabelStack{Class: 1, Type: 1, Labels: labels}}
	var m icmp.Message
	if v6 {
		m = icmp.Message{Type: ipv6.ICMPTypeTimeExceeded, Body: &icmp.TimeExceeded{Data: quote, Extensions: ext}}
	} else {
		m = icmp.Message{Type: ipv4.ICMPTypeTimeExceeded, Body: &icmp.TimeExceeded{Data: quote, Extensions: ext}}
	}
	b, err := m.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMPLS(t *testing.T) {
	two := []icmp.MPLSLabel{{Label: 16005, TC: 0, S: false, TTL: 1}, {Label: 1048575, TC: 7, S: true, TTL: 255}}
	want := []MPLSLabel{{Label: 16005, TC: 0, S: false, TTL: 1}, {Label: 1048575, TC: 7, S: true, TTL: 255}}
	for _, v6 := range []bool{false, true} {
		b := mplsError(t, v6, two)
		if got := parseMPLS(b, v6); !reflect.DeepEqual(got, want) {
			t.Errorf("v6=%v: got %+v, want %+v", v6, got, want)
		}
		// A router from before RFC 4884 leaves the length at 0 and puts the structure after a
		// 128-byte quote: still found.
		legacy := append([]byte(nil), b...)
		if v6 {
			legacy[4] = 0
		} else {
			legacy[5] = 0
		}
		if got := parseMPLS(legacy, v6); !reflect.DeepEqual(got, want) {
			t.Errorf("v6=%v legacy: got %+v", v6, got)
		}
		bad := append([]byte(nil), b...)
		bad[len(bad)-1] ^= 0xff // breaks the extension checksum
		if got := parseMPLS(bad, v6); got != nil {
			t.Errorf("v6=%v: bad checksum accepted: %+v", v6, got)
		}
		if got := parseMPLS(b[:len(b)-2], v6); got != nil {
			t.Errorf("v6=%v: truncated object accepted: %+v", v6, got)
		}
	}
	// An error without extensions (a short quote) has no labels.
	plain := mplsError(t, false, two)[:8+28]
	plain[5] = 0
	if got := parseMPLS(plain, false); got != nil {
		t.Errorf("no extensions: got %+v", got)
	}
}

func FuzzParseMPLS(f *testing.F) {
	f.Add(mplsError(f, false, []icmp.MPLSLabel{{Label: 100, TC: 1, S: true, TTL: 5}}), false)
	f.Add(mplsError(f, true, []icmp.MPLSLabel{{Label: 7, S: true, TTL: 1}}), true)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		labels := parseMPLS(b, v6)
		for _, l := range labels {
			if l.Label >= 1<<20 || l.TC > 7 {
				t.Fatalf("out-of-range label %+v from % x", l, b)
			}
		}
	})
}
