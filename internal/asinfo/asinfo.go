// Package asinfo looks up the origin AS, prefix, country, registry and allocation date of
// addresses through Team Cymru's DNS TXT zones, as mtr's -z and -y do, with the AS's name for
// the analysis. Lookups run in the background through internal/resolve's bounded, expiring
// cache, so views never wait on them.
package asinfo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mtr-go/mtr-go/internal/resolve"
)

// The providers mtr 0.96 asks unless --ipinfo_provider4/6 name others.
const (
	DefaultProvider4 = "origin.asn.cymru.com"
	DefaultProvider6 = "origin6.asn.cymru.com"
)

// Fields are the -y values' titles, in mtr's order: -y N shows Field(N).
const (
	FieldAS = iota
	FieldPrefix
	FieldCountry
	FieldRegistry
	FieldAllocated
	NumFields
)

// Widths are mtr 0.95's column widths of the fields (a value and its trailing space); the AS
// field is printed after "AS", so it takes two more.
var Widths = [NumFields]int{7, 19, 4, 8, 11}

// Unknown is what mtr shows for a field it has no value for.
const Unknown = "???"

// Info is what the provider says about one address. Every text has passed sanitize.
type Info struct {
	AS        string // the origin AS numbers, e.g. "64500" or "64500 64501" (several origins)
	Prefix    string // the announced prefix containing the address
	Country   string
	Registry  string
	Allocated string
	Name      string // the first origin AS's name, from AS<n>.<zone>; "" when not known
}

// Field returns field n (0..4) as mtr shows it, "" when the provider gave none.
func (i Info) Field(n int) string {
	switch n {
	case FieldAS:
		return i.AS
	case FieldPrefix:
		return i.Prefix
	case FieldCountry:
		return i.Country
	case FieldRegistry:
		return i.Registry
	case FieldAllocated:
		return i.Allocated
	}
	return ""
}

// Number returns the first origin AS number, 0 when there is none.
func (i Info) Number() uint32 {
	first, _, _ := strings.Cut(i.AS, " ")
	n, err := strconv.ParseUint(first, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// Format returns field n as mtr's report and live view print it: "AS" and the number for
// field 0, the value otherwise, ??? when unknown, padded to the field's width. A value as wide
// as its column keeps one space after it, where mtr 0.95 would run it into the host name.
func Format(i Info, ok bool, n int) string {
	if n < 0 || n >= NumFields {
		n = FieldAS
	}
	v := Unknown
	if ok && i.Field(n) != "" {
		v = i.Field(n)
	}
	if n == FieldAS {
		v = "AS" + v
	}
	return pad(v, Widths[n]+len("AS")*b2i(n == FieldAS))
}

// Compact is field n without padding ("AS64500", "AS???"), for CSV and JSON.
func Compact(i Info, ok bool, n int) string {
	return strings.TrimRight(Format(i, ok, n), " ")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func pad(s string, w int) string {
	return s + strings.Repeat(" ", max(1, w-utf8.RuneCountInString(s)))
}

// Bounds on text from the network. A Cymru origin record is about 50 bytes; a TXT record may
// carry kilobytes, none of which should reach a terminal or a report.
const (
	maxRecord = 512 // longer records are refused, not cut, so a field never ends mid-word
	maxField  = 64  // runes of one field, names included
	maxFields = 16  // mtr's ITEMSMAX is 15 plus the last
)

// ErrRecord is returned for a TXT record that is not a provider's answer.
var ErrRecord = errors.New("malformed AS record")

// ParseOrigin parses an origin record, "ASN | prefix | country | registry | allocated" (later
// fields may be missing, extra ones are ignored). The AS field must be decimal AS numbers and
// the prefix, when present, a prefix; every field is stripped of control characters.
func ParseOrigin(txt string) (Info, error) {
	f, err := split(txt)
	if err != nil {
		return Info{}, err
	}
	var i Info
	i.AS, err = asList(f[0])
	if err != nil {
		return Info{}, err
	}
	get := func(k int) string {
		if k < len(f) {
			return f[k]
		}
		return ""
	}
	if p := get(1); p != "" {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return Info{}, fmt.Errorf("%w: prefix %q", ErrRecord, p)
		}
		i.Prefix = pfx.String()
	}
	i.Country, i.Registry, i.Allocated = get(2), get(3), get(4)
	return i, nil
}

// ParseName parses an AS record, "ASN | country | registry | allocated | name", and returns
// the name ("" when the record has none).
func ParseName(txt string) (string, error) {
	f, err := split(txt)
	if err != nil {
		return "", err
	}
	if _, err := asList(f[0]); err != nil {
		return "", err
	}
	if len(f) < 5 {
		return "", nil
	}
	return f[4], nil
}

// split cuts a record at '|' into at most maxFields sanitized, trimmed fields.
func split(txt string) ([]string, error) {
	if len(txt) > maxRecord {
		return nil, fmt.Errorf("%w: %d bytes", ErrRecord, len(txt))
	}
	parts := strings.SplitN(txt, "|", maxFields)
	for k, p := range parts {
		parts[k] = sanitize(p)
	}
	return parts, nil
}

// sanitize drops control and invalid characters, collapses runs of spaces and cuts to maxField.
func sanitize(s string) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range strings.ToValidUTF8(s, "") {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' || r == '|' {
			continue
		}
		if r == ' ' {
			space = b.Len() > 0
			continue
		}
		if n >= maxField {
			break
		}
		if space {
			if n+1 >= maxField {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// asList checks that f is one or more decimal AS numbers separated by spaces.
func asList(f string) (string, error) {
	if f == "" {
		return "", fmt.Errorf("%w: no AS number", ErrRecord)
	}
	for _, n := range strings.Split(f, " ") {
		if _, err := strconv.ParseUint(n, 10, 32); err != nil {
			return "", fmt.Errorf("%w: AS %q", ErrRecord, f)
		}
	}
	return f, nil
}

// QueryName returns the TXT name to ask for a's origin: its octets reversed under provider4,
// or for IPv6 the nibbles of its top 64 bits reversed under provider6 (as mtr does: the zone
// holds no longer prefixes). A NAT64 address (64:ff9b::/32, as mtr tests it) is asked as the
// IPv4 address it embeds.
func QueryName(a netip.Addr, provider4, provider6 string) string {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		if b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b {
			return fmt.Sprintf("%d.%d.%d.%d.%s", b[15], b[14], b[13], b[12], provider4)
		}
		var s strings.Builder
		for k := 7; k >= 0; k-- {
			fmt.Fprintf(&s, "%x.%x.", b[k]&0xf, b[k]>>4)
		}
		return s.String() + provider6
	}
	b := a.As4()
	return fmt.Sprintf("%d.%d.%d.%d.%s", b[3], b[2], b[1], b[0], provider4)
}

// nameZone is where AS names are asked for a provider: "asn.cymru.com" for
// "origin.asn.cymru.com"; "" when the provider follows no such convention.
func nameZone(provider string) string {
	for _, p := range []string{"origin.", "origin6."} {
		if z, ok := strings.CutPrefix(provider, p); ok && z != "" {
			return z
		}
	}
	return ""
}

// TXT looks up the TXT records of a name; it has the shape of net.Resolver.LookupTXT.
type TXT func(ctx context.Context, name string) ([]string, error)

// Lookups resolves addresses to Info in the background. Its methods are safe for concurrent use;
// Info and Prefetch never block on DNS.
type Lookups struct {
	r *resolve.Resolver
}

// New starts lookups through txt (nil: the system resolver) at the given providers ("": the
// defaults), each address's queries bounded by timeout (≤ 0: 2 s). With names each address's
// AS name is asked for too (a second query; only the analysis uses it).
func New(txt TXT, provider4, provider6 string, timeout time.Duration, names bool) *Lookups {
	if txt == nil {
		txt = (&net.Resolver{}).LookupTXT
	}
	if provider4 == "" {
		provider4 = DefaultProvider4
	}
	if provider6 == "" {
		provider6 = DefaultProvider6
	}
	fetch := func(ctx context.Context, a netip.Addr) (string, error) {
		return lookup(ctx, txt, a, provider4, provider6, names)
	}
	return &Lookups{r: resolve.NewFunc(fetch, timeout, 4)}
}

// lookup asks for a's origin and then its AS's name, and encodes them for the cache: fields
// joined by '|', which sanitize never lets through.
func lookup(ctx context.Context, txt TXT, a netip.Addr, p4, p6 string, names bool) (string, error) {
	recs, err := txt(ctx, QueryName(a, p4, p6))
	if err != nil {
		return "", err
	}
	var info Info
	found := false
	for _, rec := range recs {
		if info, err = ParseOrigin(rec); err == nil {
			found = true
			break
		}
	}
	if !found {
		return "", nil // nothing usable: cached as unknown, like a name that does not exist
	}
	zone := nameZone(p4)
	if a.Unmap().Is6() && !isNAT64(a) {
		zone = nameZone(p6)
	}
	if n := info.Number(); names && zone != "" && n != 0 {
		// A failed name lookup leaves the origin known: the name only adorns the analysis.
		if recs, err := txt(ctx, fmt.Sprintf("AS%d.%s", n, zone)); err == nil {
			for _, rec := range recs {
				if name, err := ParseName(rec); err == nil {
					info.Name = name
					break
				}
			}
		}
	}
	return strings.Join([]string{info.AS, info.Prefix, info.Country, info.Registry, info.Allocated, info.Name}, "|"), nil
}

func isNAT64(a netip.Addr) bool {
	b := a.As16()
	return a.Is6() && b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b
}

func decode(s string) (Info, bool) {
	f := strings.Split(s, "|")
	if len(f) != 6 || f[0] == "" {
		return Info{}, false
	}
	return Info{AS: f[0], Prefix: f[1], Country: f[2], Registry: f[3], Allocated: f[4], Name: f[5]}, true
}

// Info returns what is known of a; ok is false while it is looked up or when the provider has
// nothing. A miss starts a lookup; Updates signals when it brings something.
func (l *Lookups) Info(a netip.Addr) (Info, bool) { return decode(l.r.Name(a)) }

// Prefetch starts a lookup of a unless it is cached or under way.
func (l *Lookups) Prefetch(a netip.Addr) { l.r.Prefetch(a) }

// Wait returns once every address of addrs is looked up, or when ctx ends.
func (l *Lookups) Wait(ctx context.Context, addrs []netip.Addr) { l.r.Wait(ctx, addrs) }

// Updates signals after new information arrived; a live view redraws on it.
func (l *Lookups) Updates() <-chan struct{} { return l.r.Updates() }

// Close aborts lookups in flight; what is cached stays readable.
func (l *Lookups) Close() { l.r.Close() }
