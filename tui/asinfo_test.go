package tui

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/asinfo"
)

// fakeAS knows hop 1 only.
type fakeAS struct{}

func (fakeAS) Info(a netip.Addr) (asinfo.Info, bool) {
	if a == hop1 {
		return asinfo.Info{AS: "64501", Prefix: "198.18.0.0/24", Country: "ZZ", Registry: "other", Allocated: "2026-01-01"}, true
	}
	return asinfo.Info{}, false
}
func (fakeAS) Updates() <-chan struct{} { return nil }

func TestIPInfoKeysAndRows(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DNS: true, IPInfo: -1, AS: fakeAS{}})
	row := func() (string, string) {
		_, got := render(t, u, path(2), 100, 30)
		return got[5], got[6]
	}
	steps := []struct {
		key        string
		hop1, hop2 string
		status     string
	}{
		{"", " 1. r1.lab.test", " 2. 198.18.1.2", ""},
		{"z", " 1. AS64501  r1.lab.test", " 2. AS???    198.18.1.2", "IP information: AS numbers"},
		{"y", " 1. 198.18.0.0/24      r1.lab.test", " 2. ???                198.18.1.2", "IP information: IP prefixes"},
		{"y", " 1. ZZ  r1.lab.test", " 2. ???", "countries"},
		{"y", " 1. other   r1.lab.test", " 2. ???", "registries"},
		{"y", " 1. 2026-01-01 r1.lab.test", " 2. ???", "allocation dates"},
		{"y", " 1. r1.lab.test", " 2. 198.18.1.2", "IP information off"},
		{"y", " 1. AS64501  r1.lab.test", " 2. AS???", "AS numbers"},
		{"y", " 1. 198.18.0.0/24", " 2. ???", "prefixes"},
		{"z", " 1. AS64501  r1.lab.test", " 2. AS???", "AS numbers"},
		{"z", " 1. r1.lab.test", " 2. 198.18.1.2", "off"},
	}
	for i, s := range steps {
		if s.key != "" {
			press(u, s.key)
		}
		h1, h2 := row()
		if !strings.HasPrefix(h1, s.hop1) || !strings.HasPrefix(h2, s.hop2) || !strings.Contains(u.status, s.status) {
			t.Errorf("step %d (%q): rows %q, %q, status %q; want %q, %q, %q", i, s.key, h1, h2, u.status, s.hop1, s.hop2, s.status)
		}
	}
	if got := u.result().IPInfo; got != -1 {
		t.Errorf("result IPInfo %d, want -1", got)
	}
}

func TestIPInfoFromTheCommandLine(t *testing.T) {
	u := testUI(&fakeControl{}, Options{IPInfo: asinfo.FieldCountry, AS: fakeAS{}})
	_, got := render(t, u, path(2), 100, 30)
	if !strings.HasPrefix(got[5], " 1. ZZ  198.18.0.2") || u.result().IPInfo != asinfo.FieldCountry {
		t.Errorf("row %q, result %+v", got[5], u.result())
	}
	// Without lookups the keys say so and nothing changes.
	u = testUI(&fakeControl{}, Options{IPInfo: 0})
	press(u, "z")
	if _, got := render(t, u, path(2), 100, 30); !strings.HasPrefix(got[5], " 1. 198.18.0.2") || !strings.Contains(u.status, "not available") {
		t.Errorf("row %q, status %q", got[5], u.status)
	}
}
