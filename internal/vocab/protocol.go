package vocab

import (
	"fmt"
	"strings"
)

// Protocol is the kind of packet a probe is.
type Protocol uint8

// The probe protocols (mtr's default, -u, -T and -S).
const (
	ICMPProbes Protocol = iota // ICMP / ICMPv6 echo requests
	UDPProbes                  // UDP datagrams; the destination answers port unreachable
	TCPProbes                  // TCP SYNs; the destination answers SYN-ACK or RST
	SCTPProbes                 // SCTP INIT chunks; the destination answers INIT-ACK, ABORT or protocol unreachable
)

// String returns "ICMP", "UDP", "TCP" or "SCTP".
func (p Protocol) String() string {
	switch p {
	case ICMPProbes:
		return "ICMP"
	case UDPProbes:
		return "UDP"
	case TCPProbes:
		return "TCP"
	case SCTPProbes:
		return "SCTP"
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// Protocols lists every probe protocol, in mtr's order.
var Protocols = []Protocol{ICMPProbes, UDPProbes, TCPProbes, SCTPProbes}

// ParseProtocol reads a protocol's name as users and wire formats spell it ("icmp", "UDP", ...;
// any case). The one parser, so a protocol added here reaches every place that names them.
func ParseProtocol(s string) (Protocol, bool) {
	for _, p := range Protocols {
		if strings.EqualFold(s, p.String()) {
			return p, true
		}
	}
	return 0, false
}

// ProtocolNames is the protocols' lower-case names for messages: "icmp, udp, tcp or sctp".
func ProtocolNames() string {
	var b strings.Builder
	for i, p := range Protocols {
		switch {
		case i == len(Protocols)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(strings.ToLower(p.String()))
	}
	return b.String()
}
