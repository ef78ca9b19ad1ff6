package app

import (
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/probe"
)

// The Markdown and HTML headers print Meta.Options as is, so what they say about the protocol
// is what meta puts there.
func TestMetaOptionsNameTheProtocol(t *testing.T) {
	base := cli.Config{Count: 4, Interval: time.Second, Size: 64, First: 1, Max: 30}
	for _, tc := range []struct {
		name string
		edit func(*cli.Config)
		want string
	}{
		{"icmp", func(*cli.Config) {}, "ICMP, 4 rounds, interval 1s, 64-byte packets, TTL 1-30"},
		{"udp", func(c *cli.Config) { c.Protocol = probe.UDPProbes },
			"UDP, 4 rounds, interval 1s, 64-byte packets, TTL 1-30"},
		{"udp port", func(c *cli.Config) { c.Protocol, c.Port = probe.UDPProbes, 53 },
			"UDP port 53, 4 rounds, interval 1s, 64-byte packets, TTL 1-30"},
		{"udp local port paris", func(c *cli.Config) {
			c.Protocol, c.Port, c.LocalPort, c.Paris = probe.UDPProbes, 33434, 5000, true
		}, "UDP port 33434 from port 5000 (Paris, one flow), 4 rounds, interval 1s, 64-byte packets, TTL 1-30"},
		{"tcp default port", func(c *cli.Config) { c.Protocol = probe.TCPProbes },
			"TCP port 80, 4 rounds, interval 1s, 64-byte packets, TTL 1-30"},
		{"tcp port", func(c *cli.Config) { c.Protocol, c.Port = probe.TCPProbes, 443 },
			"TCP port 443, 4 rounds, interval 1s, 64-byte packets, TTL 1-30"},
		{"sctp default port paris", func(c *cli.Config) { c.Protocol, c.Paris = probe.SCTPProbes, true },
			"SCTP port 80 (Paris, one flow), 4 rounds, interval 1s, 64-byte packets, TTL 1-30"},
		{"tos no dns", func(c *cli.Config) { c.Protocol, c.TOS, c.NoDNS = probe.TCPProbes, 0x10, true },
			"TCP port 80, 4 rounds, interval 1s, 64-byte packets, TTL 1-30, TOS 0x10, no DNS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			s := &session{cfg: &c, name: "dest"}
			if got := s.meta(time.Time{}, time.Time{}).Options; got != tc.want {
				t.Errorf("Options = %q\nwant      %q", got, tc.want)
			}
		})
	}
}
