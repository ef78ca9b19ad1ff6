package vocab

import (
	"net/netip"
	"strings"
	"unicode"
)

// TimeLayout is mtr's strftime "%Y-%m-%dT%H:%M:%S%z": the report's Start line and the live
// view's clock.
const TimeLayout = "2006-01-02T15:04:05-0700"

// HostText is how every view names a responder: its reverse name, the name and the address with
// showIPs (mtr's -b), or the address when it has no name.
func HostText(a netip.Addr, name string, showIPs bool) string {
	switch {
	case IsMasked(a):
		return Hidden
	case name == "":
		return a.String()
	case showIPs:
		return name + " (" + a.String() + ")"
	default:
		return name
	}
}

// StripControl drops control characters from text that came from the network or a file (names,
// AS names, findings quoting them), so it cannot move a terminal's cursor or clear its screen,
// and format characters (Unicode Cf: right-to-left overrides and the like), so it cannot make an
// address read as another.
func StripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
}
