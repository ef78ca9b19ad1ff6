package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/internal/vocab"
)

func TestReverseOptions(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tok := file("token", "  s3cret-token\n")
	tests := []struct {
		name string
		args []string
		want func(*Config) bool
		err  string
	}{
		{"client", []string{"--reverse", "https://far.example:9816", "--token-file", tok, "-r", "h"}, func(c *Config) bool {
			return c.Reverse == reverse.Options{URL: "https://far.example:9816", Token: "s3cret-token", Request: reverse.Request{Count: 10}}
		}, ""},
		{"the request follows the forward options", []string{"--reverse", "http://127.0.0.1:1", "--token-file", tok, "--tls-ca", "ca.pem", "-T", "-P", "443", "-c", "50", "-i", "2", "-s", "100", "h"}, func(c *Config) bool {
			return c.Reverse.CAFile == "ca.pem" && c.Reverse.Request == reverse.Request{Protocol: vocab.TCPProbes, Port: 443, Count: 50, Interval: 2 * time.Second, Size: 100}
		}, ""},
		{"no faster than a second backwards", []string{"--reverse", "http://127.0.0.1:1", "--token-file", tok, "-i", "0.2", "h"}, func(c *Config) bool {
			return c.Interval == 200*time.Millisecond && c.Reverse.Request.Interval == time.Second
		}, ""},
		{"server", []string{"--serve", "198.18.5.2:9816", "--token-file", tok, "--tls-cert", "c.pem", "--tls-key", "k.pem"}, func(c *Config) bool {
			return c.Serve.Token == "s3cret-token" && c.Serve.TLSCert == "c.pem" && c.Serve.TLSKey == "k.pem" && !c.Serve.Insecure && c.Reverse.URL == ""
		}, ""},
		{"server over plain HTTP", []string{"--serve", ":9816", "--token-file", tok, "--serve-insecure"}, func(c *Config) bool { return c.Serve.Insecure }, ""},
		{"no reverse", []string{"h"}, func(c *Config) bool { return c.Reverse == reverse.Options{} && c.Serve.Token == "" }, ""},
		{"client without a token", []string{"--reverse", "https://x", "h"}, nil, "--reverse needs --token-file FILE"},
		{"bad URL", []string{"--reverse", "x:9816", "--token-file", tok, "h"}, nil, "--reverse: want http(s)://HOST[:PORT]"},
		{"URL with a path", []string{"--reverse", "https://x/probe?target=192.0.2.1", "--token-file", tok, "h"}, nil, "--reverse: want http(s)://HOST[:PORT]"},
		{"missing token file", []string{"--reverse", "https://x", "--token-file", filepath.Join(dir, "none"), "h"}, nil, "--token-file: open"},
		{"empty token", []string{"--serve", ":1", "--token-file", file("empty", " \n")}, nil, "empty"},
		{"token of two words", []string{"--serve", ":1", "--token-file", file("two", "a b")}, nil, "one word of printable ASCII"},
		{"token with a control character", []string{"--serve", ":1", "--token-file", file("ctl", "a\x1bb")}, nil, "one word of printable ASCII"},
		{"huge token", []string{"--serve", ":1", "--token-file", file("huge", strings.Repeat("a", 2000))}, nil, "longer than 1024 bytes"},
		{"certificate without key", []string{"--serve", ":1", "--tls-cert", "c.pem"}, nil, "--tls-cert and --tls-key go together"},
		{"tls-cert without serve", []string{"--tls-cert", "c.pem", "h"}, nil, "--tls-cert needs --serve"},
		{"serve-insecure without serve", []string{"--serve-insecure", "h"}, nil, "--serve-insecure needs --serve"},
		{"tls-ca without reverse", []string{"--tls-ca", "ca.pem", "h"}, nil, "--tls-ca needs --reverse URL"},
		{"token-file alone", []string{"--token-file", tok, "h"}, nil, "--token-file needs --reverse URL"},
		{"reverse and serve", []string{"--serve", ":1", "--reverse", "https://x"}, nil, "--reverse and --tls-ca are the client's"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("", tc.args, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(cfg) {
				t.Errorf("got reverse %+v serve %+v", cfg.Reverse, cfg.Serve)
			}
		})
	}
}
