package probe

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// The demultiplexer without sockets: tables of many targets fed the bytes a shared socket reads.

// demuxFixture is a table with n targets of one protocol and family. Target i gets identifier
// ids[i] from an idAlloc (as the Mux allocates) and the address addrOf(i), so addresses repeat.
type demuxFixture struct {
	tab     *demuxTable
	stats   *muxStats
	targets []*muxTarget
}

func newDemuxFixture(t testing.TB, n int, proto Protocol, is6 bool, addrOf func(int) netip.Addr) *demuxFixture {
	t.Helper()
	f := &demuxFixture{stats: &muxStats{}}
	f.tab = newDemuxTable(f.stats)
	var ids idAlloc
	for i := range n {
		id, err := ids.alloc(0)
		if err != nil {
			t.Fatal(err)
		}
		a := addrOf(i)
		tg := &muxTarget{addr: a, is6: is6, id: id, q: make(chan Reply, 4)}
		if proto == TCPProbes || proto == SCTPProbes {
			tg.flow = tcpFlow{target: a, port: 80, cookie: id, offset: portOffset(id)}
		}
		if err := f.tab.add(tg, proto); err != nil {
			t.Fatalf("target %d: %v", i, err)
		}
		f.targets = append(f.targets, tg)
	}
	return f
}

// take returns what target i received, draining its queue.
func (f *demuxFixture) take(i int) []Reply {
	var got []Reply
	for {
		select {
		case r := <-f.targets[i].q:
			got = append(got, r)
		default:
			return got
		}
	}
}

// addr4 and addr6 give target i one of 200 addresses: every address has many targets.
func addr4(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 200)}) }
func addr6(i int) netip.Addr {
	a := target6.As16()
	a[15] = byte(i % 200)
	return netip.AddrFrom16(a)
}

// wrapSeqs are the sequences each target answers in the big tests: around the wrap of 16 bits.
var wrapSeqs = []uint16{65534, 65535, 0, 1}

func TestDemuxICMPThousandsOfTargets(t *testing.T) {
	const n = 3000
	for _, is6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("is6=%v", is6), func(t *testing.T) {
			addrOf, router := addr4, router4
			if is6 {
				addrOf, router = addr6, router6
			}
			f := newDemuxFixture(t, n, ICMPProbes, is6, addrOf)
			at := time.Unix(1e9, 0)
			for i, tg := range f.targets {
				for k, seq := range wrapSeqs {
					// Alternate echo replies and routers' errors quoting the echo request.
					var b []byte
					from := tg.addr
					if k%2 == 0 {
						b = echoAnswer(is6, tg.id, seq)
					} else {
						b, from = icmpErrorQuoting(is6, tg.addr, tg.id, seq), router
					}
					f.tab.icmp(b, from, is6, at, nil)
				}
				if i%500 == 0 {
					// Foreign: an identifier no target has, and one of ours about another address.
					f.tab.icmp(echoAnswer(is6, 0, 1), tg.addr, is6, at, nil)
					f.tab.icmp(echoAnswer(is6, tg.id, 1), addrOf(i+1), is6, at, nil)
					f.tab.icmp(icmpErrorQuoting(is6, addrOf(i+1), tg.id, 1), router, is6, at, nil)
				}
			}
			for i, tg := range f.targets {
				got := f.take(i)
				if len(got) != len(wrapSeqs) {
					t.Fatalf("target %d (id %d, %v): %d answers %+v; want %d", i, tg.id, tg.addr, len(got), got, len(wrapSeqs))
				}
				for k, r := range got {
					wantFrom, wantKind := tg.addr, EchoReply
					if k%2 == 1 {
						wantFrom, wantKind = router, TimeExceeded
					}
					if r.Seq != wrapSeqs[k] || r.From != wantFrom || r.Kind != wantKind || !r.At.Equal(at) {
						t.Fatalf("target %d answer %d: %+v; want seq %d from %v (%v)", i, k, r, wrapSeqs[k], wantFrom, wantKind)
					}
				}
			}
			if d, fo := f.stats.demuxed.Load(), f.stats.foreign.Load(); d != n*uint64(len(wrapSeqs)) || fo != 3*n/500 {
				t.Errorf("demuxed %d, foreign %d; want %d, %d", d, fo, n*len(wrapSeqs), 3*n/500)
			}
		})
	}
}

// echoAnswer is an echo reply (after any IPv4 header).
func echoAnswer(is6 bool, id, seq uint16) []byte {
	if is6 {
		return echoMsg(v6EchoReply, id, seq, pattern(8, 0))
	}
	return echoMsg(v4EchoReply, id, seq, pattern(8, 0))
}

// icmpErrorQuoting is a time exceeded quoting our echo request to dst.
func icmpErrorQuoting(is6 bool, dst netip.Addr, id, seq uint16) []byte {
	if is6 {
		return icmpMsg(v6TimeExceeded, 0, ipv6Hdr(protoICMPv6, source6, dst, echoMsg(v6Echo, id, seq, nil)))
	}
	return icmpMsg(v4TimeExceeded, 0, ipv4Hdr(protoICMP, source4, dst, 0, 0, echoMsg(v4Echo, id, seq, nil)))
}

// synTo is the first 8 bytes of our SYN as a router quotes it.
func synQuote(f tcpFlow, seq uint16) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b, f.srcPort(seq))
	binary.BigEndian.PutUint16(b[2:], f.port)
	binary.BigEndian.PutUint32(b[4:], f.isn(seq))
	return b
}

// synReply is the destination's answer to our SYN (flags SYN|ACK or RST|ACK).
func synReply(f tcpFlow, seq uint16, flags byte) []byte {
	b := make([]byte, tcpHdrLen)
	binary.BigEndian.PutUint16(b, f.port)
	binary.BigEndian.PutUint16(b[2:], f.srcPort(seq))
	binary.BigEndian.PutUint32(b[8:], f.isn(seq)+1)
	b[12], b[13] = 5<<4, flags
	return b
}

func TestDemuxTCPThousandsOfTargets(t *testing.T) {
	const n = 2000
	for _, is6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("is6=%v", is6), func(t *testing.T) {
			addrOf, router := addr4, router4
			if is6 {
				addrOf, router = addr6, router6
			}
			f := newDemuxFixture(t, n, TCPProbes, is6, addrOf)
			at := time.Unix(1e9, 0)
			for _, tg := range f.targets {
				for k, seq := range wrapSeqs {
					if k%2 == 0 {
						f.tab.tcpSegment(synReply(tg.flow, seq, tcpFlagRST|tcpFlagACK), tg.addr, at, nil)
						continue
					}
					var b []byte
					if is6 {
						b = icmpMsg(v6TimeExceeded, 0, ipv6Hdr(protoTCP, source6, tg.addr, synQuote(tg.flow, seq)))
					} else {
						b = icmpMsg(v4TimeExceeded, 0, ipv4Hdr(protoTCP, source4, tg.addr, 0, 0, synQuote(tg.flow, seq)))
					}
					f.tab.tcpError(b, router, is6, at, nil)
				}
			}
			// Foreign: another port, another cookie, another address for a cookie of ours.
			other := f.targets[0].flow
			other.port = 443
			f.tab.tcpSegment(synReply(other, 1, tcpFlagRST|tcpFlagACK), other.target, at, nil)
			other = f.targets[0].flow
			other.cookie = 0
			f.tab.tcpSegment(synReply(other, 1, tcpFlagRST|tcpFlagACK), other.target, at, nil)
			f.tab.tcpSegment(synReply(f.targets[0].flow, 1, tcpFlagRST|tcpFlagACK), addrOf(1), at, nil)
			for i, tg := range f.targets {
				got := f.take(i)
				if len(got) != len(wrapSeqs) {
					t.Fatalf("target %d: %d answers %+v; want %d", i, len(got), got, len(wrapSeqs))
				}
				for k, r := range got {
					wantFrom, wantKind := tg.addr, Reached
					if k%2 == 1 {
						wantFrom, wantKind = router, TimeExceeded
					}
					if r.Seq != wrapSeqs[k] || r.From != wantFrom || r.Kind != wantKind {
						t.Fatalf("target %d answer %d: %+v; want seq %d from %v (%v)", i, k, r, wrapSeqs[k], wantFrom, wantKind)
					}
				}
			}
			if fo := f.stats.foreign.Load(); fo != 3 {
				t.Errorf("foreign %d; want 3", fo)
			}
		})
	}
}

// TestDemuxCases: single answers against a table of three targets, two at one address.
func TestDemuxCases(t *testing.T) {
	addrs := []netip.Addr{target4, target4, other4}
	f := newDemuxFixture(t, 3, ICMPProbes, false, func(i int) netip.Addr { return addrs[i] })
	a, b, c := f.targets[0], f.targets[1], f.targets[2]
	tests := []struct {
		name string
		msg  []byte
		from netip.Addr
		want int // index of the target it reaches; -1 for none
		seq  uint16
	}{
		{"echo reply for A", echoAnswer(false, a.id, 7), target4, 0, 7},
		{"echo reply for B at A's address", echoAnswer(false, b.id, 7), target4, 1, 7},
		{"echo reply for C", echoAnswer(false, c.id, 65535), other4, 2, 65535},
		{"echo reply with A's id from C's address", echoAnswer(false, a.id, 7), other4, -1, 0},
		{"error quoting A", icmpErrorQuoting(false, target4, a.id, 9), router4, 0, 9},
		{"error quoting B's id towards C's address", icmpErrorQuoting(false, other4, b.id, 9), router4, -1, 0},
		{"error quoting an unknown id", icmpErrorQuoting(false, target4, otherID, 9), router4, -1, 0},
		{"echo request (not an answer)", echoMsg(v4Echo, a.id, 1, nil), target4, -1, 0},
		{"truncated error", icmpErrorQuoting(false, target4, a.id, 9)[:30], router4, -1, 0},
		{"empty", nil, router4, -1, 0},
		{"no sender", echoAnswer(false, a.id, 7), netip.Addr{}, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.stats.foreign.Load()
			f.tab.icmp(tt.msg, tt.from, false, time.Now(), nil)
			for i := range f.targets {
				got := f.take(i)
				switch {
				case i == tt.want && (len(got) != 1 || got[0].Seq != tt.seq):
					t.Errorf("target %d got %+v; want seq %d", i, got, tt.seq)
				case i != tt.want && len(got) != 0:
					t.Errorf("target %d got %+v; want nothing", i, got)
				}
			}
			if foreign := f.stats.foreign.Load() - before; (tt.want < 0) != (foreign == 1) {
				t.Errorf("foreign count +%d", foreign)
			}
		})
	}
}

func TestDemuxFullQueueDropsAndCounts(t *testing.T) {
	f := newDemuxFixture(t, 2, ICMPProbes, false, addr4)
	a, b := f.targets[0], f.targets[1]
	for seq := range uint16(10) {
		f.tab.icmp(echoAnswer(false, a.id, seq), a.addr, false, time.Now(), nil)
	}
	f.tab.icmp(echoAnswer(false, b.id, 1), b.addr, false, time.Now(), nil)
	if got := len(f.take(0)); got != cap(a.q) {
		t.Errorf("A got %d; want its queue's %d", got, cap(a.q))
	}
	if got := f.take(1); len(got) != 1 {
		t.Errorf("B got %+v behind A's full queue", got)
	}
	if q, d := f.stats.queueFull.Load(), f.stats.demuxed.Load(); q != 10-uint64(cap(a.q)) || d != uint64(cap(a.q))+1 {
		t.Errorf("queue full %d, demuxed %d", q, d)
	}
}

func TestDemuxRemoveAndReuse(t *testing.T) {
	f := newDemuxFixture(t, 2, ICMPProbes, false, addr4)
	a := f.targets[0]
	f.tab.remove(a, ICMPProbes)
	f.tab.remove(a, ICMPProbes) // twice: nothing
	if _, ok := <-a.q; ok {
		t.Fatal("queue open after remove")
	}
	f.tab.icmp(echoAnswer(false, a.id, 1), a.addr, false, time.Now(), nil)
	if f.stats.foreign.Load() != 1 {
		t.Error("answer for a removed target not counted foreign")
	}
	// The identifier and the stamp slot are free for a new target.
	n := &muxTarget{addr: a.addr, id: a.id, q: make(chan Reply, 1)}
	if err := f.tab.add(n, ICMPProbes); err != nil {
		t.Fatal(err)
	}
	if err := f.tab.add(&muxTarget{addr: a.addr, id: a.id, q: make(chan Reply, 1)}, ICMPProbes); err == nil {
		t.Error("a second target with one identifier was added")
	}
	f.tab.close()
	if _, ok := <-n.q; ok {
		t.Error("queue open after the table closed")
	}
	if err := f.tab.add(&muxTarget{id: 9, q: make(chan Reply, 1)}, ICMPProbes); err == nil {
		t.Error("added to a closed table")
	}
}

// TestDemuxStampsByTarget: a transmit stamp keyed slot<<16 | seq reaches that target's table
// only, though every target sends the same sequences.
func TestDemuxStampsByTarget(t *testing.T) {
	f := newDemuxFixture(t, 3, ICMPProbes, false, addr4)
	base := time.Now()
	for i, tg := range f.targets {
		tg.stamps = new(txStamps)
		tg.stamps.expect(5, base.Add(time.Duration(i)*time.Millisecond))
	}
	b := f.targets[1]
	kernel := base.Add(time.Millisecond + 20*time.Microsecond)
	f.tab.stamp(uint32(b.slot)<<16|5, kernel.Round(0), base.Add(5*time.Millisecond))
	for i, tg := range f.targets {
		at, ok := tg.stamps.sent(5)
		if ok != (i == 1) {
			t.Errorf("target %d: stamped %v", i, ok)
		}
		if ok && at.Sub(base) != time.Millisecond+20*time.Microsecond {
			t.Errorf("target %d: stamp %v after base", i, at.Sub(base))
		}
	}
	f.tab.stamp(uint32(0xfff0)<<16|5, kernel, base.Add(5*time.Millisecond)) // no such slot: ignored
	// The answer carries the stamp as its send time.
	f.tab.icmp(echoAnswer(false, b.id, 5), b.addr, false, base.Add(2*time.Millisecond), nil)
	if got := f.take(1); len(got) != 1 || got[0].Sent.Sub(base) != time.Millisecond+20*time.Microsecond {
		t.Errorf("answer %+v; want the kernel send time", got)
	}
}

func TestIDAlloc(t *testing.T) {
	var a idAlloc
	seen := map[uint16]bool{}
	for range 65535 {
		id, err := a.alloc(0)
		if err != nil {
			t.Fatal(err)
		}
		if id == 0 || seen[id] {
			t.Fatalf("identifier %d handed out twice (or 0)", id)
		}
		seen[id] = true
	}
	if _, err := a.alloc(0); err == nil {
		t.Fatal("a 65536th identifier")
	}
	a.release(77)
	if id, err := a.alloc(0); err != nil || id != 77 {
		t.Fatalf("after releasing 77: %d, %v", id, err)
	}
	if _, err := a.alloc(77); err == nil {
		t.Fatal("an identifier in use was handed out when asked for")
	}
	var b idAlloc
	if id, err := b.alloc(4242); err != nil || id != 4242 {
		t.Fatalf("asked for 4242: %d, %v", id, err)
	}
}

// fakeClock is a clock whose sleeps advance it.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestPacer(t *testing.T) {
	tests := []struct {
		name        string
		rate, burst int
		steps       []time.Duration // before each send, the clock advances this much
		want        []time.Duration // how long each send waits
	}{
		{"burst then the rate", 1000, 3, []time.Duration{0, 0, 0, 0, 0}, []time.Duration{0, 0, 0, time.Millisecond, 2 * time.Millisecond}},
		{"sends at the rate never wait", 1000, 1, []time.Duration{0, time.Millisecond, time.Millisecond, time.Millisecond}, []time.Duration{0, 0, 0, 0}},
		{"a quiet spell refills the burst only", 1000, 2, []time.Duration{0, 0, 0, time.Second, 0, 0, 0}, []time.Duration{0, 0, time.Millisecond, 0, 0, time.Millisecond, 2 * time.Millisecond}},
		{"defaults: 20,000/s, 200 at once", 0, 0, make([]time.Duration, 202), append(make([]time.Duration, 200), 50*time.Microsecond, 100*time.Microsecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClock{t: time.Unix(1e9, 0)}
			p := newPacer(tt.rate, tt.burst, c.now, c.sleep)
			for i, step := range tt.steps {
				c.advance(step)
				c.sleeps = nil
				p.wait()
				var got time.Duration
				if len(c.sleeps) > 0 {
					got = c.sleeps[0]
				}
				if got != tt.want[i] {
					t.Fatalf("send %d waits %v; want %v", i, got, tt.want[i])
				}
			}
		})
	}
}

// TestPacerConcurrent: senders on many goroutines share the rate: n sends reserve n slots, and
// the longest wait is the last slot's, whoever gets it.
func TestPacerConcurrent(t *testing.T) {
	c := &fakeClock{t: time.Unix(1e9, 0)}
	p := newPacer(10000, 10, c.now, c.sleep)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(p.wait)
	}
	wg.Wait()
	if len(c.sleeps) != 90 {
		t.Fatalf("%d sends waited; want 90", len(c.sleeps))
	}
	var longest time.Duration
	for _, d := range c.sleeps {
		longest = max(longest, d)
	}
	if longest != 90*100*time.Microsecond {
		t.Errorf("longest wait %v; want 9ms", longest)
	}
}

// BenchmarkDemux is the reader's cost per answer with 1,000 targets on the socket: an ICMP time
// exceeded quoting an echo request or a SYN, and a destination's RST.
func BenchmarkDemux(b *testing.B) {
	for _, bc := range []struct {
		name  string
		proto Protocol
		build func(tg *muxTarget) []byte
		feed  func(d *demuxTable, msg []byte, tg *muxTarget, at time.Time)
		alone bool // one target per address: an 8-byte quote names no cookie
	}{
		{"ICMP", ICMPProbes,
			func(tg *muxTarget) []byte { return icmpErrorQuoting(false, tg.addr, tg.id, 1) },
			func(d *demuxTable, msg []byte, tg *muxTarget, at time.Time) { d.icmp(msg, router4, false, at, nil) }, false},
		{"TCP-error", TCPProbes,
			func(tg *muxTarget) []byte {
				return icmpMsg(v4TimeExceeded, 0, ipv4Hdr(protoTCP, source4, tg.addr, 0, 0, synQuote(tg.flow, 1)))
			},
			func(d *demuxTable, msg []byte, tg *muxTarget, at time.Time) { d.tcpError(msg, router4, false, at, nil) }, false},
		{"TCP-RST", TCPProbes,
			func(tg *muxTarget) []byte { return synReply(tg.flow, 1, tcpFlagRST|tcpFlagACK) },
			func(d *demuxTable, msg []byte, tg *muxTarget, at time.Time) { d.tcpSegment(msg, tg.addr, at, nil) }, false},
		{"SCTP-error", SCTPProbes,
			func(tg *muxTarget) []byte {
				return icmpMsg(v4TimeExceeded, 0, ipv4Hdr(protoSCTP, source4, tg.addr, 0, 0, initOf(tg.flow, 1)))
			},
			func(d *demuxTable, msg []byte, tg *muxTarget, at time.Time) {
				d.sctpError(msg, router4, false, at, nil)
			}, false},
		{"SCTP-8-byte-quote", SCTPProbes,
			func(tg *muxTarget) []byte {
				return icmpMsg(v4TimeExceeded, 0, ipv4Hdr(protoSCTP, source4, tg.addr, 0, 0, initOf(tg.flow, 1)[:8]))
			},
			func(d *demuxTable, msg []byte, tg *muxTarget, at time.Time) {
				d.sctpError(msg, router4, false, at, nil)
			}, true},
		{"SCTP-INIT-ACK", SCTPProbes,
			func(tg *muxTarget) []byte { return sctpAnswer(initOf(tg.flow, 1), sctpChunkInitAck, 0, 0) },
			func(d *demuxTable, msg []byte, tg *muxTarget, at time.Time) { d.sctpPacket(msg, tg.addr, at, nil) }, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			addrOf := addr4
			if bc.alone {
				addrOf = func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}) }
			}
			f := newDemuxFixture(b, 1000, bc.proto, false, addrOf)
			msgs := make([][]byte, len(f.targets))
			for i, tg := range f.targets {
				msgs[i] = bc.build(tg)
			}
			at := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k := i % len(f.targets)
				bc.feed(f.tab, msgs[k], f.targets[k], at)
				<-f.targets[k].q
			}
		})
	}
}

// TestDemuxSCTP: answers to SCTP targets, four classic ones (A and B at one address, C alone, E
// beside the Paris D). An answer without a cookie (an 8-byte quote, an ABORT with the T bit) goes
// by address and port, so only to a classic target alone there: D's Paris port may be one of E's.
func TestDemuxSCTP(t *testing.T) {
	for _, is6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("is6=%v", is6), func(t *testing.T) {
			tgt, oth, rtr, third := target4, other4, router4, netip.MustParseAddr("198.51.100.9")
			if is6 {
				tgt, oth, rtr, third = target6, other6, router6, netip.MustParseAddr("2001:db8:7::9")
			}
			addrs := []netip.Addr{tgt, tgt, oth, third, third}
			f := newDemuxFixture(t, 5, SCTPProbes, is6, func(i int) netip.Addr { return addrs[i] })
			d, e := f.targets[3], f.targets[4]
			f.tab.remove(d, SCTPProbes)
			d.flow.paris = 20000
			d.q, d.closed = make(chan Reply, 4), false
			if err := f.tab.add(d, SCTPProbes); err != nil {
				t.Fatal(err)
			}
			quote := func(tg *muxTarget, seq uint16, n int) []byte {
				in := initOf(tg.flow, seq)[:n]
				if is6 {
					return icmpMsg(v6TimeExceeded, 0, ipv6Hdr(protoSCTP, source6, tg.addr, in))
				}
				return icmpMsg(v4TimeExceeded, 0, ipv4Hdr(protoSCTP, source4, tg.addr, 0, 0, in))
			}
			noSCTP := func(tg *muxTarget, seq uint16) []byte {
				in := initOf(tg.flow, seq)
				if is6 {
					b := icmpMsg(v6ParamProblem, v6UnknownNextHeader, ipv6Hdr(protoSCTP, source6, tg.addr, in))
					b[7] = v6NextHeaderOffset
					return b
				}
				return icmpMsg(v4Unreachable, v4ProtoUnreachable, ipv4Hdr(protoSCTP, source4, tg.addr, 0, 0, in))
			}
			answer := func(tg *muxTarget, seq uint16, chunk, flags byte) []byte {
				return sctpAnswer(initOf(tg.flow, seq), chunk, flags, 0)
			}
			a, b, c := f.targets[0], f.targets[1], f.targets[2]
			tests := []struct {
				name   string
				packet bool // read from the raw SCTP socket, else from the ICMP one
				msg    []byte
				from   netip.Addr
				want   int // target index; -1 for none
				seq    uint16
				kind   Kind
			}{
				{"INIT-ACK for A", true, answer(a, 7, sctpChunkInitAck, 0), tgt, 0, 7, Reached},
				{"ABORT for B at A's address", true, answer(b, 8, sctpChunkAbort, 0), tgt, 1, 8, Reached},
				{"ABORT for B from C's address", true, answer(b, 8, sctpChunkAbort, 0), oth, -1, 0, 0},
				{"ABORT with T at A's and B's address", true, answer(a, 7, sctpChunkAbort, sctpFlagT), tgt, -1, 0, 0},
				{"ABORT with T for C alone", true, answer(c, 9, sctpChunkAbort, sctpFlagT), oth, 2, 9, Reached},
				{"ABORT with T for Paris D", true, answer(d, 9, sctpChunkAbort, sctpFlagT), third, -1, 0, 0},
				{"INIT-ACK for D", true, answer(d, 65535, sctpChunkInitAck, 0), third, 3, 65535, Reached},
				{"whole quote for B", false, quote(b, 3, 32), rtr, 1, 3, TimeExceeded},
				{"whole quote for D", false, quote(d, 4, 32), rtr, 3, 4, TimeExceeded},
				{"8-byte quote for A, beside B", false, quote(a, 3, 8), rtr, -1, 0, 0},
				{"8-byte quote for C alone", false, quote(c, 5, 8), rtr, 2, 5, TimeExceeded},
				{"8-byte quote for Paris D", false, quote(d, 5, 8), rtr, -1, 0, 0},
				{"8-byte quote for E, classic beside Paris D", false, quote(e, 6, 8), rtr, -1, 0, 0},
				{"whole quote for E", false, quote(e, 6, 32), rtr, 4, 6, TimeExceeded},
				{"no SCTP at A", false, noSCTP(a, 11), tgt, 0, 11, Reached},
				{"no SCTP at C, said by a router", false, noSCTP(c, 11), rtr, map[bool]int{false: 2, true: -1}[is6], 11, Unreachable},
				{"truncated", false, quote(b, 3, 32)[:20], rtr, -1, 0, 0},
				{"empty", true, nil, tgt, -1, 0, 0},
			}
			for _, tt := range tests {
				before := f.stats.foreign.Load()
				if tt.packet {
					f.tab.sctpPacket(tt.msg, tt.from, time.Now(), nil)
				} else {
					f.tab.sctpError(tt.msg, tt.from, is6, time.Now(), nil)
				}
				for i := range f.targets {
					got := f.take(i)
					switch {
					case i == tt.want && (len(got) != 1 || got[0].Seq != tt.seq || got[0].Kind != tt.kind || got[0].From != tt.from):
						t.Errorf("%s: target %d got %+v; want seq %d %v from %v", tt.name, i, got, tt.seq, tt.kind, tt.from)
					case i != tt.want && len(got) != 0:
						t.Errorf("%s: target %d got %+v; want nothing", tt.name, i, got)
					}
				}
				if foreign := f.stats.foreign.Load() - before; (tt.want < 0) != (foreign == 1) {
					t.Errorf("%s: foreign count +%d", tt.name, foreign)
				}
			}
		})
	}
}
