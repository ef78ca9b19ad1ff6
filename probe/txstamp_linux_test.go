package probe

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// extErrCmsg builds the extended-error control message of an error-queue message, as the
// kernel puts it: sock_extended_err with nothing behind it (no offender for a stamp).
func extErrCmsg(level, typ int32, errno uint32, origin uint8, info, data uint32) []byte {
	var e [sizeofExtErr]byte
	binary.NativeEndian.PutUint32(e[0:], errno)
	e[4] = origin
	binary.NativeEndian.PutUint32(e[8:], info)
	binary.NativeEndian.PutUint32(e[12:], data)
	return rawCmsg(level, typ, e[:])
}

// stampingCmsg builds SCM_TIMESTAMPING: the software stamp then two empty hardware ones.
func stampingCmsg(sw time.Time) []byte {
	var ts unix.ScmTimestamping
	if !sw.IsZero() {
		ts.Ts[0] = unix.NsecToTimespec(sw.UnixNano())
	}
	return rawCmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPING, unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts)))
}

func rawCmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestTxStampOf(t *testing.T) {
	at := time.Unix(1700000000, 987654321)
	enomsg := uint32(unix.ENOMSG)
	tsV4 := extErrCmsg(unix.IPPROTO_IP, unix.IP_RECVERR, enomsg, unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SND, 4242)
	tsV6 := extErrCmsg(unix.IPPROTO_IPV6, unix.IPV6_RECVERR, enomsg, unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SND, 7)
	for _, tc := range []struct {
		name string
		oob  []byte
		key  uint32
		ok   bool
	}{
		{"IPv4, stamp first (the kernel's order)", cat(stampingCmsg(at), tsV4), 4242, true},
		{"IPv6, error first", cat(tsV6, stampingCmsg(at)), 7, true},
		{"with SCM_TIMESTAMPNS too", cat(tsCmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, unix.NsecToTimespec(at.UnixNano()+5)), stampingCmsg(at), tsV4), 4242, true},
		{"ICMP error with a stamp", cat(stampingCmsg(at), extErrCmsg(unix.IPPROTO_IP, unix.IP_RECVERR, uint32(unix.EHOSTUNREACH), eeOriginICMP, 0, 0)), 0, false},
		{"scheduler stamp, not the send", cat(stampingCmsg(at), extErrCmsg(unix.IPPROTO_IP, unix.IP_RECVERR, enomsg, unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SCHED, 1)), 0, false},
		{"other errno", cat(stampingCmsg(at), extErrCmsg(unix.IPPROTO_IP, unix.IP_RECVERR, 0, unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SND, 1)), 0, false},
		{"no stamp", tsV4, 0, false},
		{"only hardware stamps (software one empty)", cat(stampingCmsg(time.Time{}), tsV4), 0, false},
		{"no extended error", stampingCmsg(at), 0, false},
		{"truncated extended error", cat(stampingCmsg(at), rawCmsg(unix.IPPROTO_IP, unix.IP_RECVERR, make([]byte, sizeofExtErr-1))), 0, false},
		{"truncated message", cat(stampingCmsg(at), tsV4)[:20], 0, false},
		{"nothing", nil, 0, false},
	} {
		key, got, ok := txStampOf(tc.oob)
		if ok != tc.ok || key != tc.key || (ok && !got.Equal(at)) || (!ok && !got.IsZero()) {
			t.Errorf("%s: got %d %v %v; want %d %v %v", tc.name, key, got, ok, tc.key, at, tc.ok)
		}
	}
}

func TestParseTimespec(t *testing.T) {
	at := time.Unix(1700000000, 5)
	ts := unix.NsecToTimespec(at.UnixNano())
	one := unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))
	if got := parseTimespec(one); !got.Equal(at) {
		t.Errorf("one timespec: %v", got)
	}
	if got := parseTimespec(cat(one, make([]byte, 2*len(one)))); !got.Equal(at) {
		t.Errorf("three: %v", got)
	}
	bad := unix.Timespec{Sec: 1, Nsec: 1e9}
	for name, b := range map[string][]byte{
		"short":        one[:len(one)-1],
		"ragged":       cat(one, []byte{0}),
		"zero":         make([]byte, len(one)),
		"nsec too big": unsafe.Slice((*byte)(unsafe.Pointer(&bad)), unsafe.Sizeof(bad)),
	} {
		if got := parseTimespec(b); !got.IsZero() {
			t.Errorf("%s: got %v", name, got)
		}
	}
}

func FuzzTxStampOf(f *testing.F) {
	at := time.Unix(1700000000, 987654321)
	f.Add(cat(stampingCmsg(at), extErrCmsg(unix.IPPROTO_IP, unix.IP_RECVERR, uint32(unix.ENOMSG), unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SND, 3)))
	f.Add(cat(extErrCmsg(unix.IPPROTO_IPV6, unix.IPV6_RECVERR, uint32(unix.ENOMSG), unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SND, 3), stampingCmsg(at)))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, got, ok := txStampOf(b)
		if !ok && (key != 0 || !got.IsZero()) {
			t.Fatalf("rejected but returned %d %v", key, got)
		}
		if ok && got.IsZero() {
			t.Fatalf("accepted with no time from % x", b)
		}
		if ts := parseTimespec(b); !ts.IsZero() && (ts.Nanosecond() < 0 || ts.Nanosecond() >= 1e9) {
			t.Fatalf("bad time %v", ts)
		}
	})
}

func TestTxStamps(t *testing.T) {
	now := time.Now() // with a monotonic reading, like every time the probers take
	user := now.Add(-300 * time.Microsecond)
	kernel := now.Round(0).Add(-290 * time.Microsecond) // wall clock only, 10 µs after user
	var s txStamps
	s.expect(7, user)
	if _, ok := s.sent(7); ok {
		t.Fatal("sent before the stamp came")
	}
	s.stamp(7, kernel, now)
	got, ok := s.sent(7)
	if !ok || got.Sub(user) != 10*time.Microsecond || !strings.Contains(got.String(), "m=") {
		t.Fatalf("sent = %v %v; want 10µs after the user time, on the monotonic clock", got, ok)
	}
	// The answer's RTT is measured from the kernel's stamp.
	r := s.withSent(Reply{Seq: 7, At: now})
	if r.Sent != got || r.At.Sub(r.Sent) != 290*time.Microsecond {
		t.Errorf("withSent: %+v", r)
	}
	// An answer timed before the stamp (no receive stamp) keeps the user-space time.
	if r := s.withSent(Reply{Seq: 7, At: user}); !r.Sent.IsZero() {
		t.Errorf("Sent after At: %+v", r)
	}

	for _, tc := range []struct {
		name   string
		key    uint32
		kernel time.Time
	}{
		{"key of no probe", 8, kernel},
		{"key beyond 16 bits", 7 + 1<<16, kernel},
		{"stamp before the send (an earlier probe's, or a clock step)", 7, user.Round(0).Add(-50 * time.Microsecond)},
		{"stamp from the future", 7, now.Round(0).Add(time.Millisecond)},
		{"no stamp", 7, time.Time{}},
	} {
		var s txStamps
		s.expect(7, user)
		s.stamp(tc.key, tc.kernel, now)
		if at, ok := s.sent(7); ok {
			t.Errorf("%s: took %v", tc.name, at)
		}
	}

	// A failed send leaves nothing to find; a slot reused by a later probe is that probe's.
	s.failed(7)
	if _, ok := s.sent(7); ok {
		t.Error("forgotten probe still has a stamp")
	}
	s.expect(3, user)
	s.stamp(3, kernel, now)
	s.expect(3+txSlots, now)
	if _, ok := s.sent(3); ok {
		t.Error("probe 3 found in the slot of a later probe")
	}
	if r := (*txStamps)(nil).withSent(Reply{Seq: 1, At: now}); !r.Sent.IsZero() {
		t.Error("no table, yet a send time")
	}
}

// TestCounterKeys follows a socket's OPT_ID counter through failed sends that did or did not
// take a key, as kernels before 6.13 number the packets.
func TestCounterKeys(t *testing.T) {
	type step struct {
		send  int  // send this sequence (0: none)
		fail  bool // and it fails
		stamp int  // a stamp with this key comes (-1: none)
		want  int  // the sequence it names (-1: none)
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"no failures", []step{
			{send: 10, stamp: -1}, {send: 11, stamp: 0, want: 10}, {stamp: 1, want: 11}, {send: 12, stamp: 2, want: 12},
		}},
		{"a failure that took no key", []step{
			{send: 10, stamp: 0, want: 10}, {send: 11, fail: true, stamp: -1},
			{send: 12, stamp: -1}, {send: 13, stamp: 1, want: 12}, {stamp: 2, want: 13}, {send: 14, stamp: 3, want: 14},
		}},
		{"a failure that took a key", []step{
			{send: 10, stamp: -1}, {send: 11, fail: true, stamp: -1}, {send: 12, stamp: 0, want: 10},
			{send: 13, stamp: 2, want: 12}, {stamp: 3, want: 13}, {send: 14, stamp: 4, want: 14},
		}},
		{"failures in limbo", []step{
			{send: 10, fail: true, stamp: -1}, {send: 11, stamp: -1}, {send: 12, fail: true, stamp: -1}, {send: 13, stamp: -1},
			{send: 14, stamp: 1, want: 11}, // 10 took key 0, 11 key 1; 12 is after a failure again
			{stamp: 3, want: 13}, {stamp: 4, want: 14},
		}},
		{"two failures in a row", []step{
			{send: 10, fail: true, stamp: -1}, {send: 11, fail: true, stamp: -1}, {send: 12, stamp: 2, want: 12}, {send: 13, stamp: 3, want: 13},
		}},
		{"a stray key", []step{
			{send: 10, stamp: 5, want: -1}, {stamp: 0, want: 10},
		}},
	} {
		now := time.Now()
		var s txStamps
		s.useCounter()
		for i, st := range tc.steps {
			if st.send != 0 {
				s.expect(uint16(st.send), now)
				if st.fail {
					s.failed(uint16(st.send))
				}
			}
			if st.stamp < 0 {
				continue
			}
			s.stamp(uint32(st.stamp), now.Round(0), now)
			got := -1
			for _, seq := range []uint16{10, 11, 12, 13, 14} {
				if at, ok := s.sent(seq); ok && at.Equal(now) {
					if got != -1 {
						t.Fatalf("%s step %d: two probes stamped", tc.name, i)
					}
					got = int(seq)
					s.slots[seq%txSlots].kernel = now.Add(-time.Hour) // seen: does not count again
				}
			}
			if got != st.want {
				t.Errorf("%s step %d: key %d named probe %d; want %d", tc.name, i, st.stamp, got, st.want)
			}
		}
	}
}

// TestLoopbackTxStamps: every prober that can has each answer's Sent from the kernel, between
// the user-space time Send returned and the answer's receive stamp.
func TestLoopbackTxStamps(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name string
		open func(Config) (Prober, error)
		cfg  Config
	}{
		{"raw ICMPv4", func(c Config) (Prober, error) { return Open(c) }, Config{Target: netip.MustParseAddr("127.0.0.1")}},
		{"raw ICMPv6", func(c Config) (Prober, error) { return Open(c) }, Config{Target: netip.IPv6Loopback()}},
		{"UDPv4", func(c Config) (Prober, error) { return OpenUDP(c) }, Config{Target: netip.MustParseAddr("127.0.0.1"), Protocol: UDPProbes}},
		{"UDPv6", func(c Config) (Prober, error) { return OpenUDP(c) }, Config{Target: netip.IPv6Loopback(), Protocol: UDPProbes}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.open(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			checkTxStamps(t, p, 20)
		})
	}
	// As on kernels before 6.13: the keys come from the socket's counter.
	for _, target := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()} {
		t.Run("counted "+target.String(), func(t *testing.T) {
			p, err := Open(Config{Target: target})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.counted.Store(true)
			p.stamps.useCounter()
			checkTxStamps(t, p, 20)
		})
	}
}

// checkTxStamps sends n probes through p and checks the Sent of every answer.
func checkTxStamps(t *testing.T, p Prober, n int) {
	t.Helper()
	sent := map[uint16]time.Time{}
	for seq := uint16(1); seq <= uint16(n); seq++ {
		at, err := p.Send(seq, 64)
		if err != nil {
			t.Fatal(err)
		}
		sent[seq] = at
	}
	deadline := time.After(3 * time.Second)
	for len(sent) > 0 {
		select {
		case r := <-p.Replies():
			user, ok := sent[r.Seq]
			if !ok {
				t.Fatalf("unexpected reply %+v", r)
			}
			delete(sent, r.Seq)
			if r.Sent.IsZero() {
				t.Errorf("seq %d: no kernel send time", r.Seq)
				continue
			}
			if d := r.Sent.Sub(user); d < 0 || d > time.Second {
				t.Errorf("seq %d: kernel send time %v after the user-space one", r.Seq, d)
			}
			if rtt := r.At.Sub(r.Sent); rtt < 0 || rtt > time.Second {
				t.Errorf("seq %d: RTT %v", r.Seq, rtt)
			}
		case <-deadline:
			t.Fatalf("no reply for %d probes", len(sent))
		}
	}
}
