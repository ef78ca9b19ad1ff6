package probe

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpErr is an ICMP error from a UDP socket's error queue about our probe seq to dst.
func udpErr(dst netip.Addr, classic bool, cookie, seq uint16, quoted int) queuedErr {
	port := uint16(53)
	if classic {
		port = uint16(udpBasePort + int(seq)%udpSeqs)
	}
	return queuedErr{from: router4, kind: TimeExceeded, dst: netip.AddrPortFrom(dst, port), payload: probePayload(36, 0, cookie, seq)[:quoted]}
}

func TestDemuxUDP(t *testing.T) {
	const n = 2000
	for _, classic := range []bool{false, true} {
		f := &demuxFixture{stats: &muxStats{}}
		f.tab = newDemuxTable(f.stats)
		var ids idAlloc
		for i := range n {
			a := netip.AddrFrom4([4]byte{198, 18, byte(i / 250), byte(i % 250)})
			id, _ := ids.alloc(0)
			tg := &muxTarget{addr: a, id: id, classic: classic, q: make(chan Reply, 8)}
			if err := f.tab.add(tg, UDPProbes); err != nil {
				t.Fatal(err)
			}
			f.targets = append(f.targets, tg)
		}
		// A second target at an address of the socket needs another socket.
		if err := f.tab.add(&muxTarget{addr: f.targets[7].addr, id: 1, q: make(chan Reply, 1)}, UDPProbes); err != errAddrTaken {
			t.Fatalf("second target at one address: %v", err)
		}
		for _, tg := range f.targets {
			for _, seq := range wrapSeqs {
				f.tab.udpError(udpErr(tg.addr, classic, tg.id, seq, udpCookieLen), time.Now(), nil)
			}
			// Another cookie (another program's, or a target since closed): not ours.
			f.tab.udpError(udpErr(tg.addr, classic, tg.id+1, 3, udpCookieLen), time.Now(), nil)
		}
		// An 8-byte quote (no payload) names the probe by its port alone, in classic mode.
		f.tab.udpError(udpErr(f.targets[3].addr, classic, 0, 99, 0), time.Now(), nil)
		f.tab.udpError(udpErr(netip.MustParseAddr("192.0.2.99"), classic, f.targets[3].id, 1, udpCookieLen), time.Now(), nil)
		for i := range f.targets {
			got := f.take(i)
			want := len(wrapSeqs)
			if i == 3 && classic {
				want++
			}
			if len(got) != want {
				t.Fatalf("classic %v target %d: %+v; want %d answers", classic, i, got, want)
			}
			for k, seq := range wrapSeqs {
				if got[k].Seq != seq && !(classic && int(seq) >= udpSeqs) {
					t.Fatalf("classic %v target %d answer %d: %+v; want seq %d", classic, i, k, got[k], seq)
				}
			}
		}
		wantForeign := uint64(n + 1)
		if !classic {
			wantForeign++
		}
		if fo := f.stats.foreign.Load(); fo != wantForeign {
			t.Errorf("classic %v: foreign %d; want %d", classic, fo, wantForeign)
		}
	}
}

// ovflCmsg is an SO_RXQ_OVFL control message with drop count n.
func ovflCmsg(n uint32) []byte {
	b := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SO_RXQ_OVFL
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], n)
	return b
}

func TestRxCmsgs(t *testing.T) {
	ts := unix.Timespec{Sec: 1_700_000_000, Nsec: 5}
	stamp := tsCmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts)
	for _, tc := range []struct {
		name  string
		oob   []byte
		at    time.Time
		drops uint32
	}{
		{"stamp only", stamp, time.Unix(1_700_000_000, 5), 0},
		{"stamp and drops", append(append([]byte{}, stamp...), ovflCmsg(17)...), time.Unix(1_700_000_000, 5), 17},
		{"drops first", append(ovflCmsg(3), stamp...), time.Unix(1_700_000_000, 5), 3},
		{"nothing", nil, time.Time{}, 0},
		{"truncated", stamp[:10], time.Time{}, 0},
	} {
		at, drops := rxCmsgs(tc.oob)
		if !at.Equal(tc.at) || drops != tc.drops {
			t.Errorf("%s: %v, %d; want %v, %d", tc.name, at, drops, tc.at, tc.drops)
		}
	}
}

func FuzzRxCmsgs(f *testing.F) {
	f.Add(ovflCmsg(5))
	f.Add(append(ovflCmsg(1), tsCmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, unix.Timespec{Sec: 1, Nsec: 2})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		at, _ := rxCmsgs(b)
		if !at.IsZero() && (at.Nanosecond() < 0 || at.Nanosecond() >= 1e9) {
			t.Fatalf("stamp %v from % x", at, b)
		}
	})
}

// FuzzDemux feeds arbitrary bytes to a table of ICMP, and one of raw TCP, targets: nothing may
// panic, and a target gets only what its own single-target parser accepts from those bytes.
func FuzzDemux(f *testing.F) {
	f.Add(echoAnswer(false, 1, 2), false)
	f.Add(icmpErrorQuoting(false, addr4(1), 1, 2), false)
	f.Add(icmpErrorQuoting(true, addr6(1), 1, 2), true)
	f.Add(icmpMsg(v4TimeExceeded, 0, ipv4Hdr(protoTCP, source4, addr4(1), 0, 0, synQuote(tcpFlow{target: addr4(1), port: 80, cookie: 1}, 2))), false)
	f.Add(synReply(tcpFlow{target: addr4(1), port: 80, cookie: 1}, 2, tcpFlagSYN|tcpFlagACK), false)
	f.Add(icmpMsg(v4TimeExceeded, 0, ipv4Hdr(protoSCTP, source4, addr4(1), 0, 0, initOf(tcpFlow{target: addr4(1), port: 80, cookie: 1}, 2))), false)
	f.Add(icmpMsg(v6ParamProblem, 1, ipv6Hdr(protoSCTP, source6, addr6(1), initOf(tcpFlow{target: addr6(1), port: 80, cookie: 1}, 2))), true)
	f.Add(sctpAnswer(initOf(tcpFlow{target: addr4(1), port: 80, cookie: 1}, 2), sctpChunkAbort, 0, 0), false)
	f.Fuzz(func(t *testing.T, b []byte, is6 bool) {
		addrOf := addr4
		if is6 {
			addrOf = addr6
		}
		for _, proto := range []Protocol{ICMPProbes, TCPProbes, SCTPProbes} {
			fx := &demuxFixture{stats: &muxStats{}}
			fx.tab = newDemuxTable(fx.stats)
			for i := range 4 {
				// Small identifiers, which the seeds name; targets 1 and 2 share an address.
				a := addrOf(min(i, 2))
				tg := &muxTarget{addr: a, is6: is6, id: uint16(i + 1), q: make(chan Reply, 4),
					flow: tcpFlow{target: a, port: 80, cookie: uint16(i + 1)}}
				if err := fx.tab.add(tg, proto); err != nil {
					t.Fatal(err)
				}
				fx.targets = append(fx.targets, tg)
			}
			echoIDOf(b, is6)
			tcpKeyOf(b, is6)
			sctpKeyOf(b, is6)
			for _, from := range []netip.Addr{addrOf(1), addrOf(2), router4, router6} {
				switch proto {
				case ICMPProbes:
					fx.tab.icmp(b, from, is6, time.Time{}, nil)
				case SCTPProbes:
					fx.tab.sctpPacket(b, from, time.Time{}, nil)
					fx.tab.sctpError(b, from, is6, time.Time{}, nil)
				default:
					fx.tab.tcpSegment(b, from, time.Time{}, nil)
					fx.tab.tcpError(b, from, is6, time.Time{}, nil)
				}
				for i, tg := range fx.targets {
					for _, r := range fx.take(i) {
						var want []Reply
						switch proto {
						case SCTPProbes:
							if w, ok := parseSCTPPacket(b, from, tg.flow); ok {
								want = append(want, w)
							}
							w, ok := parseSCTPErrV4(b, from, tg.flow)
							if is6 {
								w, ok = parseSCTPErrV6(b, from, tg.flow)
							}
							if ok {
								if w.Kind != Reached {
									w.MPLS = parseMPLS(b, is6)
								}
								want = append(want, w)
							}
						case ICMPProbes:
							w, ok := parseV4(b, from, tg.id, tg.addr)
							if is6 {
								w, ok = parseV6(b, from, tg.id, tg.addr)
							}
							if ok {
								if w.Kind != EchoReply {
									w.MPLS = parseMPLS(b, is6)
								}
								want = append(want, w)
							}
						default:
							if w, ok := parseTCPSegment(b, from, tg.flow); ok {
								want = append(want, w)
							}
							w, ok := parseTCPErrV4(b, from, tg.flow)
							if is6 {
								w, ok = parseTCPErrV6(b, from, tg.flow)
							}
							if ok {
								w.MPLS = parseMPLS(b, is6)
								want = append(want, w)
							}
						}
						found := false
						for _, w := range want {
							found = found || reflect.DeepEqual(r, w)
						}
						if !found {
							t.Fatalf("target %d (%v, id %d) got %+v from %v; its own parser says %+v", i, tg.addr, tg.id, r, from, want)
						}
					}
				}
			}
		}
	})
}

// TestMuxOpenBadConfig: what a Mux refuses before it touches a socket, with one-line errors.
func TestMuxOpenBadConfig(t *testing.T) {
	m := NewMux(MuxOptions{})
	defer m.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no target", Config{}, "probe: no target address"},
		{"unknown protocol", Config{Target: target4, Protocol: 9}, "probe: unknown protocol"},
		{"TCP port", Config{Target: target4, Protocol: TCPProbes, Port: 70000}, "probe: TCP port 70000 out of range 1..65535"},
		{"SCTP port", Config{Target: target6, Protocol: SCTPProbes, Port: -1}, "probe: SCTP port -1 out of range 1..65535"},
		{"families", Config{Target: target4, Source: source6}, "not the same address family"},
		{"TOS", Config{Target: target6, TOS: 256}, "probe: TOS 256 out of range 0..255"},
	} {
		p, err := m.Open(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, %v; want an error with %q", tc.name, p, err, tc.want)
		}
	}
}
