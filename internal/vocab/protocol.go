package vocab

import "fmt"

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
