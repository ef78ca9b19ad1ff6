package asinfo

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestSystemResolverWithFakeServer runs the standard library's DNS client, the path production
// uses, against an in-process server whose records a hostile or broken provider could send:
// a record split over several character-strings, escape sequences, a SERVFAIL.
func TestSystemResolverWithFakeServer(t *testing.T) {
	txt := map[string][][]string{
		// Go joins the character-strings of one record.
		"1.0.18.198.origin.asn.cymru.com.": {{"64501 | 198.18.", "0.0/24 | ZZ | other | 2026-01-01"}},
		"AS64501.asn.cymru.com.":           {{"64501 | ZZ | other | 2026-01-01 | EVIL\x1b]0;owned\x07-NET"}},
		// Garbage first, then a usable record.
		"2.0.18.198.origin.asn.cymru.com.": {{"<html>"}, {"64502 | 198.18.0.0/24 | Z\x1b[2JZ"}},
		"3.0.18.198.origin.asn.cymru.com.": nil, // SERVFAIL
	}
	res := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveTXT(t, server, txt)
			return client, nil
		},
	}
	l := New(res.LookupTXT, "", "", 2*time.Second, true)
	defer l.Close()
	a, b, c, d := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2"),
		netip.MustParseAddr("198.18.0.3"), netip.MustParseAddr("198.18.0.4")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.Wait(ctx, []netip.Addr{a, b, c, d})

	if got, ok := l.Info(a); !ok || got != (Info{AS: "64501", Prefix: "198.18.0.0/24", Country: "ZZ", Registry: "other", Allocated: "2026-01-01", Name: "EVIL]0;owned-NET"}) {
		t.Errorf("Info(%v) = %+v, %v", a, got, ok)
	}
	if got, ok := l.Info(b); !ok || got.AS != "64502" || got.Country != "Z[2JZ" {
		t.Errorf("Info(%v) = %+v, %v", b, got, ok)
	}
	for _, x := range []netip.Addr{c, d} {
		if got, ok := l.Info(x); ok {
			t.Errorf("Info(%v) = %+v, want unknown", x, got)
		}
	}
}

// serveTXT answers length-prefixed queries on c: the TXT records of txt (SERVFAIL for a nil
// entry), NXDOMAIN for other names.
func serveTXT(t *testing.T, c net.Conn, txt map[string][][]string) {
	defer c.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp, err := answerTXT(q, txt)
		if err != nil {
			t.Errorf("fake DNS server: %v", err)
			return
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...)); err != nil {
			return
		}
	}
}

func answerTXT(query []byte, txt map[string][][]string) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	recs, found := txt[q.Name.String()]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true}
	switch {
	case !found || q.Type != dnsmessage.TypeTXT:
		rh.RCode = dnsmessage.RCodeNameError
	case recs == nil:
		rh.RCode = dnsmessage.RCodeServerFailure
	}
	b := dnsmessage.NewBuilder(nil, rh)
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, r := range recs {
		if err := b.TXTResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.TXTResource{TXT: r}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
