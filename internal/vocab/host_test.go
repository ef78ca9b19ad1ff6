package vocab

import (
	"net/netip"
	"testing"
	"time"
)

func TestHostText(t *testing.T) {
	a := netip.MustParseAddr("198.18.1.2")
	for _, tc := range []struct {
		name    string
		rdns    string
		showIPs bool
		want    string
	}{
		{"no name", "", false, "198.18.1.2"},
		{"no name, -b", "", true, "198.18.1.2"},
		{"name", "r2.lab.test", false, "r2.lab.test"},
		{"name, -b", "r2.lab.test", true, "r2.lab.test (198.18.1.2)"},
	} {
		if got := HostText(a, tc.rdns, tc.showIPs); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestTimeLayoutIsMtrs(t *testing.T) {
	at := time.Date(2026, 11, 29, 21, 5, 9, 0, time.FixedZone("", 3600))
	if got := at.Format(TimeLayout); got != "2026-11-29T21:05:09+0100" {
		t.Errorf("%q, want mtr's %%Y-%%m-%%dT%%H:%%M:%%S%%z", got)
	}
}

func TestStripControl(t *testing.T) {
	for in, want := range map[string]string{
		"r2.lab.test":                 "r2.lab.test",
		"evil\x1b[2J\x1b]0;title\x07": "evil[2J]0;title",
		"tab\there\nnext\x7f":         "tabherenext",
		"LAB-CARRIER-3 é":             "LAB-CARRIER-3 é",
		"198.18.5.2\u202e1.0.0\u202c": "198.18.5.21.0.0",
		"zero\u200bwidth":             "zerowidth",
	} {
		if got := StripControl(in); got != want {
			t.Errorf("StripControl(%q) = %q, want %q", in, got, want)
		}
	}
}
