package probe

import "encoding/binary"

// MPLSLabel is one label stack entry an MPLS router reports inside its ICMP error (RFC 4950):
// the label the probe carried when it expired there.
type MPLSLabel struct {
	Label uint32 // 20 bits
	TC    uint8  // traffic class (the old EXP bits), 3 bits
	S     bool   // bottom of stack
	TTL   uint8
}

// RFC 4884 extension structure constants.
const (
	extVersion      = 2
	extLegacyOffset = 128 // where pre-RFC 4884 routers put the extensions: after a 128-byte quote
	mplsClass       = 1   // MPLS label stack class
	mplsCType       = 1   // incoming MPLS label stack
)

// parseMPLS returns the MPLS label stack carried in an ICMP time exceeded or destination
// unreachable message b (ICMP header first; v6 says ICMPv6), or nil. It follows RFC 4884: the
// length field of the header says where the quoted datagram ends and the extension structure
// begins; a zero length (routers built before RFC 4884) means the structure, if any, follows a
// 128-byte quote. A structure with a wrong version or checksum, or malformed objects, yields nil.
func parseMPLS(b []byte, v6 bool) []MPLSLabel {
	if len(b) < 8 {
		return nil
	}
	var quoteLen int
	switch {
	case !v6 && (b[0] == v4TimeExceeded || b[0] == v4Unreachable):
		quoteLen = int(b[5]) * 4 // 32-bit words
	case v6 && (b[0] == v6TimeExceeded || b[0] == v6Unreachable):
		quoteLen = int(b[4]) * 8 // 64-bit words
	default:
		return nil
	}
	if quoteLen == 0 {
		quoteLen = extLegacyOffset
	} else if quoteLen < extLegacyOffset {
		return nil // RFC 4884: with extensions the quote is padded to at least 128 bytes
	}
	ext := b[8:]
	if len(ext) < quoteLen+4 {
		return nil
	}
	ext = ext[quoteLen:]
	if ext[0]>>4 != extVersion {
		return nil
	}
	if binary.BigEndian.Uint16(ext[2:]) != 0 && checksum(ext) != 0 {
		return nil
	}
	var labels []MPLSLabel
	for obj := ext[4:]; len(obj) > 0; {
		if len(obj) < 4 {
			return nil
		}
		n := int(binary.BigEndian.Uint16(obj))
		if n < 4 || n > len(obj) {
			return nil
		}
		if obj[2] == mplsClass && obj[3] == mplsCType {
			entries := obj[4:n]
			if len(entries)%4 != 0 {
				return nil
			}
			for ; len(entries) > 0; entries = entries[4:] {
				v := binary.BigEndian.Uint32(entries)
				labels = append(labels, MPLSLabel{
					Label: v >> 12,
					TC:    uint8(v>>9) & 0x7,
					S:     v&0x100 != 0,
					TTL:   uint8(v),
				})
			}
		}
		obj = obj[n:]
	}
	return labels
}
