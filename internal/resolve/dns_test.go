package resolve

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

// TestRealResolverWithFakeServer runs the standard library's DNS client against an in-process
// server: the path production uses, minus the network. net.Pipe is not a PacketConn, so the Go
// resolver speaks DNS-over-stream framing (2-byte length prefix) to it.
func TestRealResolverWithFakeServer(t *testing.T) {
	ptr := map[string]string{
		"1.2.0.192.in-addr.arpa.": "router1.test.example.",
		"3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.": "v6.test.example.",
	}
	res := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveDNS(t, server, ptr)
			return client, nil
		},
	}
	r := New(res.LookupAddr, 2*time.Second, 2)
	defer r.Close()

	named := netip.MustParseAddr("192.0.2.1")
	v6 := netip.MustParseAddr("2001:db8::3")
	nameless := netip.MustParseAddr("192.0.2.2") // NXDOMAIN
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.Wait(ctx, []netip.Addr{named, v6, nameless})

	tests := []struct {
		addr netip.Addr
		want string
	}{
		{named, "router1.test.example"},
		{v6, "v6.test.example"},
		{nameless, ""},
	}
	for _, tc := range tests {
		if got := r.Name(tc.addr); got != tc.want {
			t.Errorf("Name(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	// NXDOMAIN is an answer: trusted as long as a name, not retried like a failure.
	r.mu.Lock()
	e := r.cache[nameless]
	r.mu.Unlock()
	if left := time.Until(e.expires); left < answerTTL-retryAfter {
		t.Errorf("NXDOMAIN cached for %v, want an answer's %v, not a failure's retry", left, answerTTL)
	}
}

// serveDNS answers length-prefixed queries on c from ptr until the client hangs up: a PTR record
// for names in ptr, NXDOMAIN otherwise.
func serveDNS(t *testing.T, c net.Conn, ptr map[string]string) {
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
		resp, err := answer(q, ptr)
		if err != nil {
			t.Errorf("fake DNS server: %v", err)
			return
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

func answer(query []byte, ptr map[string]string) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	target, found := ptr[q.Name.String()]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true, RCode: dnsmessage.RCodeSuccess}
	if !found || q.Type != dnsmessage.TypePTR {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if rh.RCode == dnsmessage.RCodeSuccess {
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		name, err := dnsmessage.NewName(target)
		if err != nil {
			return nil, err
		}
		err = b.PTRResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.PTRResource{PTR: name})
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
