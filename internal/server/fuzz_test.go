package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzProbeRequest feeds /probe's query string and scrape-timeout header, both from the
// network, to their parsers: no panic, and what they accept is within the limits.
func FuzzProbeRequest(f *testing.F) {
	for _, s := range [][2]string{
		{"target=198.18.5.2&protocol=udp&count=3&port=53", "10"},
		{"target=lab.example&count=100", "0.25"},
		{"target=a&target=b", "-1"},
		{"target=%00&count=1e3", "NaN"},
		{"target=h&protocol=TCP&port=65535", "1e309"},
		{"target=a%C2%85b", "1"},
		{"target=fe80::1%25%FF", "1"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, query, timeout string) {
		const maxCount = 50
		q, err := url.ParseQuery(query)
		if err == nil {
			req, err := parseProbe(q, maxCount)
			if err == nil {
				if req.count < 1 || req.count > maxCount || req.port < 0 || req.port > 65535 {
					t.Errorf("%q: accepted %+v", query, req)
				}
				if req.target == "" || len(req.target) > maxTargetLen || strings.ContainsFunc(req.target, unicode.IsControl) || !utf8.ValidString(req.target) {
					t.Errorf("%q: accepted target %q", query, req.target)
				}
			} else if strings.ContainsAny(err.Error(), "\n\r") && !strings.ContainsAny(query, "\n\r%") {
				t.Errorf("%q: error on two lines: %q", query, err)
			}
		}
		h := http.Header{}
		h.Set(scrapeTimeoutHeader, timeout)
		if d, err := scrapeBudget(h); err == nil && (d <= 0 || d > maxBudget) {
			t.Errorf("header %q: budget %v", timeout, d)
		}
	})
}
