package cli

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestServeOptions(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(*Config) bool
	}{
		{"defaults", []string{"--serve", "127.0.0.1:9116", "h"}, func(c *Config) bool {
			s := c.Serve
			return s.Addr == "127.0.0.1:9116" && s.Allow == nil && s.LossWindow == 100 && s.MaxCount == 100 && s.MaxProbes == 4 &&
				slices.Equal(c.Targets, []string{"h"})
		}},
		{"no target is /probe only, not localhost", []string{"--serve", "[::1]:9116"}, func(c *Config) bool { return len(c.Targets) == 0 }},
		{"every interface when the host is left out", []string{"--serve", ":9116"}, func(c *Config) bool { return c.Serve.Addr == ":9116" }},
		{"a target given twice is traced once", []string{"--serve", ":1", "a", "b", "a"}, func(c *Config) bool { return slices.Equal(c.Targets, []string{"a", "b"}) }},
		{"allow list of prefixes and addresses", []string{"--serve", ":1", "--serve-allow", "198.18.0.0/15, 2001:db8::/32,192.0.2.7,::ffff:198.51.100.0/120"}, func(c *Config) bool {
			return slices.Equal(c.Serve.Allow, []netip.Prefix{
				netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("2001:db8::/32"),
				netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("198.51.100.0/24"),
			})
		}},
		{"allow prefix with host bits is masked", []string{"--serve", ":1", "--serve-allow", "198.18.1.1/16"}, func(c *Config) bool {
			return c.Serve.Allow[0] == netip.MustParsePrefix("198.18.0.0/16")
		}},
		{"knobs", []string{"--serve", ":1", "--serve-loss-window", "30", "--serve-max-count", "20", "--serve-max-probes", "2"}, func(c *Config) bool {
			return c.Serve.LossWindow == 30 && c.Serve.MaxCount == 20 && c.Serve.MaxProbes == 2
		}},
		{"probe options still apply", []string{"--serve", ":1", "-u", "-i", "2", "h"}, func(c *Config) bool { return c.Serve.Addr == ":1" && c.Interval == 2e9 }},
		{"not serving", []string{"h"}, func(c *Config) bool { return c.Serve.Addr == "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("", tc.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("got %+v", cfg)
			}
		})
	}
}

func TestServeErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--serve", "9116"}, "--serve: want HOST:PORT"},
		{[]string{"--serve", ""}, "--serve: want HOST:PORT"},
		{[]string{"--serve", "localhost:http"}, `--serve: port "http" is not a number`},
		{[]string{"--serve", "bad host!:80"}, "is neither an IP address nor a host name"},
		{[]string{"--serve", ":1", "-c", "5"}, "-c does not apply"},
		{[]string{"--serve", ":1", "-r"}, "--serve is a view of its own"},
		{[]string{"-j", "--serve", ":1"}, "--serve is a view of its own"},
		{[]string{"--serve", ":1", "-w"}, "--serve is a view of its own"},
		{[]string{"--serve", ":1", "--displaymode", "1"}, "--serve is a view of its own"},
		{[]string{"--serve", ":1", "--serve-allow", "10.0.0.0/33"}, `--serve-allow: not an address or CIDR prefix: "10.0.0.0/33"`},
		{[]string{"--serve", ":1", "--serve-allow", "example.com"}, "--serve-allow: not an address or CIDR prefix"},
		{[]string{"--serve", ":1", "--serve-allow", "fe80::1%eth0"}, "--serve-allow: not an address or CIDR prefix"},
		{[]string{"--serve", ":1", "--serve-allow", ","}, "--serve-allow: no prefix given"},
		{[]string{"--serve", ":1", "--serve-allow", "::ffff:0:0/90"}, "mixes IPv4-mapped and IPv6"},
		{[]string{"--serve", ":1", "--serve-loss-window", "201"}, "--serve-loss-window: value out of range (1-200): 201"},
		{[]string{"--serve", ":1", "--serve-max-count", "0"}, "--serve-max-count: value out of range (1-10000): 0"},
		{[]string{"--serve", ":1", "--serve-max-probes", "0"}, "--serve-max-probes: value out of range (1-1000): 0"},
		{[]string{"--serve-allow", "198.18.0.0/15"}, "--serve-allow needs --serve"},
		{[]string{"--serve-max-count", "5"}, "--serve-max-count needs --serve"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := Parse("", append([]string{"h"}, tc.args...), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// FuzzParseAllow: whatever --serve-allow holds (it may come from a unit file or a script), it
// is refused in one line or read as valid, masked prefixes of unmapped addresses.
func FuzzParseAllow(f *testing.F) {
	for _, s := range []string{"198.18.0.0/15,2001:db8::/32", "192.0.2.7", "::ffff:198.51.100.0/120", ",", "fe80::1%eth0/64", "::ffff:0:0/90"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseAllow(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("%q: error on two lines: %q", s, err)
			}
			return
		}
		if len(ps) == 0 {
			t.Errorf("%q: accepted with no prefix", s)
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Errorf("%q: accepted %v", s, p)
			}
		}
	})
}
