package vocab

import "fmt"

// Protocol is the kind of packet a probe is.
type Protocol uint8

// The probe protocols (mtr's default, -u and -T).
const (
	ICMPProbes Protocol = iota // ICMP / ICMPv6 echo requests
	UDPProbes                  // UDP datagrams; the destination answers port unreachable
	TCPProbes                  // TCP SYNs; the destination answers SYN-ACK or RST
)

// String returns "ICMP", "UDP" or "TCP".
func (p Protocol) String() string {
	switch p {
	case ICMPProbes:
		return "ICMP"
	case UDPProbes:
		return "UDP"
	case TCPProbes:
		return "TCP"
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}
