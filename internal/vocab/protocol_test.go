package vocab

import "testing"

func TestParseProtocol(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Protocol
		ok   bool
	}{
		{"icmp", ICMPProbes, true}, {"UDP", UDPProbes, true}, {"Tcp", TCPProbes, true}, {"sctp", SCTPProbes, true},
		{"", 0, false}, {"gre", 0, false}, {"icmp ", 0, false},
	} {
		if got, ok := ParseProtocol(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if got := ProtocolNames(); got != "icmp, udp, tcp or sctp" {
		t.Errorf("ProtocolNames() = %q", got)
	}
}
