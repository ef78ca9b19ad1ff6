package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// JSON writes mtr 0.95's --json document: {"report": {"mtr": {...}, "hubs": [...]}}, 4-space
// indent, a hub per hop with "count", "host" and one key per -o field named by its title (the
// spacer skipped), counts as integers and loss and times as reals. mtr-go only adds keys, so
// consumers of mtr's document keep working: "dst_ip", "start" and "end" (RFC 3339) in "mtr";
// "ip" (null for a hop that never answered) and "addrs" (every address that answered the hop,
// latest first, with its answer count, name and, with -e, its MPLS label stack as "mpls":
// [{"label", "tc", "s", "ttl"}]) in each hub. A path without hops gives "hubs": []. With
// --reverse a "reverse" object follows (jsonReverse), and "both" holds the joint conclusion's
// lines when there is one.
func JSON(w io.Writer, s stats.Snapshot, names Names, m Meta, o Options) error {
	fields, err := o.fields()
	if err != nil {
		return err
	}
	fields = columns(fields)
	head := object{
		{"src", o.LocalHost},
		{"dst", m.Target},
		{"tos", m.TOS},
		{"tests", m.Tests},
		{"psize", strconv.Itoa(m.Size)},
		{"bitpattern", m.bitPattern()},
		{"dst_ip", addrOrNull(cmp.Or(m.TargetIP, s.Target))},
		{"start", timeOrNull(m.Start)},
		{"end", timeOrNull(m.End)},
	}
	hubs := jsonHubs(s, names, o, fields)
	rep := object{{"mtr", head}, {"hubs", hubs}}
	if o.Analysis != nil {
		rep = append(rep, member{"analysis", jsonAnalysis(o.Analysis)})
	}
	if o.Reverse != nil {
		rep = append(rep, member{"reverse", jsonReverse(o, fields)})
	}
	if len(o.Joint) > 0 {
		rep = append(rep, member{"both", o.Joint})
	}
	doc := object{{"report", rep}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// jsonHubs is the "hubs" array of one direction's hops.
func jsonHubs(s stats.Snapshot, names Names, o Options, fields []vocab.Field) []object {
	hubs := make([]object, 0, len(s.Hops))
	for i := range s.Hops {
		h := &s.Hops[i]
		hub := object{{"count", h.TTL}, {"host", hostText(h, names, o.ShowIPs)}}
		if o.IPInfo.asnColumn() {
			hub = append(hub, member{"ASN", o.IPInfo.asn(h.Addr())})
		}
		for _, f := range fields {
			v := number(f, h)
			if f.Kind == vocab.Count {
				hub = append(hub, member{f.Title, int64(v)})
			} else {
				hub = append(hub, member{f.Title, real(v)})
			}
		}
		hub = append(hub, member{"ip", addrOrNull(h.Addr())})
		addrs := make([]object, 0, len(h.Addrs))
		for _, a := range h.Addrs {
			e := object{{"ip", vocab.AddrText(a.IP)}, {"count", a.Count}}
			if names != nil {
				if n := names(a.IP); n != "" {
					e = append(e, member{"name", n})
				}
			}
			if o.MPLS && len(a.MPLS) > 0 {
				e = append(e, member{"mpls", mplsObjects(a.MPLS)})
			}
			addrs = append(addrs, e)
		}
		hub = append(hub, member{"addrs", addrs})
		hubs = append(hubs, hub)
	}
	return hubs
}

// jsonReverse is the "reverse" object: where the reverse trace ran from, the address it traced
// to, its hubs as the forward's, its analysis with --analyze, and "error": why it is missing or
// stopped early, null when it is complete.
func jsonReverse(o Options, fields []vocab.Field) object {
	r := o.Reverse
	ro := reverseOptions(o)
	var errText any
	if r.Err != "" {
		errText = r.reason()
	}
	out := object{
		{"responder", r.responder()},
		{"target", addrOrNull(r.Target)},
		{"hubs", jsonHubs(r.Snapshot, r.Names, ro, fields)},
		{"error", errText},
	}
	if r.Analysis != nil {
		out = append(out, member{"analysis", jsonAnalysis(r.Analysis)})
	}
	return out
}

func addrOrNull(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return vocab.AddrText(a)
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

// member and object keep keys in mtr's order, which a Go map would not.
// mplsObjects is a label stack as JSON objects, outermost label first.
func mplsObjects(labels []stats.Label) []object {
	out := make([]object, len(labels))
	for i, l := range labels {
		out[i] = object{{"label", l.Label}, {"tc", l.TC}, {"s", l.SBit()}, {"ttl", l.TTL}}
	}
	return out
}

type member struct {
	key string
	val any
}

type object []member

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// real is a JSON number that always reads as a real, as jansson writes mtr's: 0.0, not 0, so a
// consumer that types the value by its first sample does not take Loss% for an integer.
type real float64

func (r real) MarshalJSON() ([]byte, error) {
	f := float64(r)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	b := strconv.AppendFloat(nil, f, 'f', -1, 64)
	if !bytes.ContainsAny(b, ".e") {
		b = append(b, '.', '0')
	}
	return b, nil
}
