package probe

import (
	"encoding/binary"
	"testing"
)

func TestParseExtErr(t *testing.T) {
	// sock_extended_err (errno 113, origin ICMP, type 11, code 0) + sockaddr_in 192.0.2.1.
	v4 := make([]byte, sizeofExtErr+16)
	v4[4], v4[5], v4[6] = eeOriginICMP, v4TimeExceeded, 0
	v4[sizeofExtErr] = 2 // AF_INET, little-endian hosts; NativeEndian below for others
	putFamily(v4[sizeofExtErr:], 2)
	copy(v4[sizeofExtErr+4:], []byte{192, 0, 2, 1})
	from, kind, code, ok := parseExtErr(v4)
	if !ok || from != router4 || kind != TimeExceeded || code != 0 {
		t.Errorf("v4: %v %v %v %v", from, kind, code, ok)
	}
	v6 := make([]byte, sizeofExtErr+28)
	v6[4], v6[5], v6[6] = eeOriginICMP6, v6Unreachable, 4
	putFamily(v6[sizeofExtErr:], 10)
	a := router6.As16()
	copy(v6[sizeofExtErr+8:], a[:])
	from, kind, code, ok = parseExtErr(v6)
	if !ok || from != router6 || kind != Unreachable || code != 4 {
		t.Errorf("v6: %v %v %v %v", from, kind, code, ok)
	}
	local := append([]byte(nil), v4...)
	local[4] = 1 // SO_EE_ORIGIN_LOCAL: e.g. EMSGSIZE, not an answer
	if _, _, _, ok := parseExtErr(local); ok {
		t.Error("local error accepted")
	}
	if _, _, _, ok := parseExtErr(v4[:sizeofExtErr+5]); ok {
		t.Error("truncated sockaddr accepted")
	}
}

func FuzzParseExtErr(f *testing.F) {
	f.Add([]byte{113, 0, 0, 0, 2, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 192, 0, 2, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		from, kind, _, ok := parseExtErr(b)
		if ok && (!from.IsValid() || (kind != TimeExceeded && kind != Unreachable)) {
			t.Fatalf("accepted %v %v from % x", from, kind, b)
		}
		parseErrCmsgs(b) // must not panic on arbitrary control data either
	})
}

func TestMatchUDPAndEcho(t *testing.T) {
	p := probePayload(36, 0, 0xbeef, 4242)
	for _, tc := range []struct {
		name    string
		payload []byte
		port    uint16
		cookie  uint16
		classic bool
		seq     uint16
		ok      bool
	}{
		{"fixed port, payload", p, 53, 0xbeef, false, 4242, true},
		{"classic, payload and its port", p, udpBasePort + 4242, 0xbeef, true, 4242, true},
		{"someone else's cookie", p, 53, 0x1234, false, 0, false},
		{"classic, payload naming another port's sequence", p, udpBasePort + 4243, 0xbeef, true, 0, false},
		{"classic, 8-byte quote: the port names the probe", nil, udpBasePort + 777, 0xbeef, true, 777, true},
		{"classic, highest port", nil, 65535, 0xbeef, true, udpSeqs - 1, true},
		{"classic, port below the range", nil, udpBasePort - 1, 0xbeef, true, 0, false},
		{"Paris mode without payload", nil, udpBasePort, 0xbeef, false, 0, false},
	} {
		seq, ok := matchUDP(tc.payload, tc.port, tc.cookie, tc.classic)
		if ok != tc.ok || (ok && seq != tc.seq) {
			t.Errorf("%s: %d %v, want %d %v", tc.name, seq, ok, tc.seq, tc.ok)
		}
	}
	echo := buildEcho(false, 0xc371, 99, probePayload(20, 0, 0xbeef, 99))
	if seq, ok := matchEcho(echo, 0xbeef); !ok || seq != 99 {
		t.Errorf("echo: %d %v", seq, ok)
	}
	if _, ok := matchEcho(buildEcho(false, 1, 99, probePayload(20, 0, 0xbeef, 98)), 0xbeef); ok {
		t.Error("echo whose payload names another sequence accepted")
	}
}

func FuzzMatchUDP(f *testing.F) {
	f.Add(probePayload(36, 0, 0xbeef, 4242), uint16(33434))
	f.Fuzz(func(t *testing.T, payload []byte, port uint16) {
		if seq, ok := matchUDP(payload, port, 0xbeef, false); ok && len(payload) < udpCookieLen {
			t.Fatalf("matched %d with no payload outside classic mode", seq)
		}
		if seq, ok := matchUDP(payload, port, 0xbeef, true); ok && int(seq)%udpSeqs != int(port)-udpBasePort {
			t.Fatalf("classic match %d disagrees with port %d", seq, port)
		}
		matchEcho(payload, 0xbeef)
	})
}

// putFamily writes a sockaddr family in host order, as the kernel does.
func putFamily(b []byte, fam uint16) {
	b[0], b[1] = 0, 0
	binary.NativeEndian.PutUint16(b, fam)
}
