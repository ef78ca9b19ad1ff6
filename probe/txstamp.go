package probe

import (
	"sync"
	"time"
)

// txStamps pairs the kernel's transmit timestamps with the probes they stamp. A probe's time
// taken in user space before sendmsg is early by however long the kernel then takes to build
// and route the packet (and by any preemption in between); the kernel's software stamp is taken
// as the packet is handed to the device, where a capture on the interface sees it leave.
//
// The kernel names each stamp by a key (OPT_ID). Since Linux 6.13 a probe can carry its own
// (SCM_TS_OPT_ID; we use the sequence), and the stamp names its probe whatever happened to
// earlier sends. Older kernels number the socket's packets with a counter instead, and a send
// that fails may or may not have taken a number (depending on where it failed and on the
// kernel's version): counterKeys follows the counter and finds it again after a failure.
//
// Use: expect before the send (a stamp can be read before sendmsg returns), failed if it
// failed, stamp as stamps are read from the error queue, and sent (or withSent) when the
// answer is matched. A probe without a stamp simply gets no Sent time, and the scheduler falls
// back to the user-space time Send returned. Any prober whose socket takes SO_TIMESTAMPING (the
// raw TCP SYN prober, for one) can use it through txStamper: enableTxStamps at open, write for
// each send, serveQueues (or txStampOf on its own error-queue reads) to feed the stamps, and
// withSent on each answer.
type txStamps struct {
	mu      sync.Mutex
	slots   [txSlots]txSlot // by sequence
	keys    [txSlots]txKey  // by key: the probe a key stamps
	pending int             // probes expected whose stamp has not come
	counter *counterKeys    // nil while probes carry their own keys
}

// txSlots bounds how many probes can wait for their answer and still get their kernel send
// time; the scheduler numbers probes in order, so an answer only misses its stamp when more
// than this many probes left after its own.
const txSlots = 1024

type txSlot struct {
	seq    uint16
	used   bool
	user   time.Time // the user-space time taken before the send
	kernel time.Time // the kernel's stamp re-based on the monotonic clock; zero until it comes
}

// txKey is the probe a key stamps: its sequence, or on a socket shared by many targets (Mux)
// the target's slot and its sequence, slot<<16 | seq.
type txKey struct {
	key   uint32
	probe uint32
	used  bool
}

// useCounter switches to the socket's counter for keys; the socket has sent nothing stamped
// yet, so its counter is at 0.
func (s *txStamps) useCounter() {
	s.mu.Lock()
	s.counter = &counterKeys{}
	s.mu.Unlock()
}

// expect records that probe seq is about to be sent, at user time now. Sends must not overlap
// while the counter is in use (its keys follow the order of the sends).
func (s *txStamps) expect(seq uint16, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop(&s.slots[seq%txSlots])
	s.slots[seq%txSlots] = txSlot{seq: seq, used: true, user: now}
	s.pending++
	if s.counter == nil {
		s.keys[seq%txSlots] = txKey{key: uint32(seq), probe: uint32(seq), used: true}
	} else if key, ok := s.counter.sent(uint32(seq)); ok {
		s.keys[key%txSlots] = txKey{key: key, probe: uint32(seq), used: true}
	}
}

// failed drops probe seq, whose send failed: it gets no stamp.
func (s *txStamps) failed(seq uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := &s.slots[seq%txSlots]; sl.used && sl.seq == seq {
		s.drop(sl)
	}
	if s.counter != nil {
		s.counter.failed()
	}
}

// drop empties a slot; s.mu is held.
func (s *txStamps) drop(sl *txSlot) {
	if sl.used && sl.kernel.IsZero() {
		s.pending--
	}
	*sl = txSlot{}
}

// waiting reports whether a stamp is still to come (false for a nil table).
func (s *txStamps) waiting() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending > 0
}

// maxTxLead is how far a kernel stamp may seem to precede its probe's user-space time. It is
// taken after that time, on the same clock; re-basing on the monotonic clock errs by the slew
// of the wall clock over microseconds. More than this is a key that named the wrong probe (an
// earlier send's) or a step of the wall clock.
const maxTxLead = 10 * time.Microsecond

// stamp records the kernel's transmit stamp for key, read from the error queue at now (which
// carries the monotonic reading the stamp is re-based on). Stamps for keys that are not an
// expected probe, or that contradict its user-space time, are dropped. A nil table drops them all.
func (s *txStamps) stamp(key uint32, kernel, now time.Time) {
	if s == nil {
		return
	}
	at, ok := rebase(now, kernel)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counter != nil {
		for _, k := range s.counter.resolve(key) {
			s.keys[k.key%txSlots] = k
		}
	}
	k := s.keys[key%txSlots]
	if !k.used || k.key != key {
		return
	}
	seq := uint16(k.probe)
	sl := &s.slots[seq%txSlots]
	if !sl.used || sl.seq != seq || !sl.kernel.IsZero() {
		return
	}
	if d := at.Sub(sl.user); d < -maxTxLead || d > time.Second {
		return
	}
	sl.kernel = at
	s.pending--
}

// sent returns the kernel's send time of probe seq, or false when its stamp has not come.
func (s *txStamps) sent(seq uint16) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := &s.slots[seq%txSlots]
	if !sl.used || sl.seq != seq || sl.kernel.IsZero() {
		return time.Time{}, false
	}
	return sl.kernel, true
}

// withSent fills r.Sent with the kernel's send time of its probe, when known and not after
// the answer (an answer timed in user space for want of a receive stamp can be).
func (s *txStamps) withSent(r Reply) Reply {
	if s == nil {
		return r
	}
	if at, ok := s.sent(r.Seq); ok && !at.After(r.At) {
		r.Sent = at
	}
	return r
}

// rebase moves a kernel stamp (wall clock only) onto now's monotonic reading, so that times
// from the kernel and from time.Now subtract correctly across clock steps. A stamp from the
// future or more than a second old means the wall clock moved under us: not usable.
func rebase(now, kernel time.Time) (time.Time, bool) {
	if kernel.IsZero() {
		return time.Time{}, false
	}
	d := kernel.Sub(now.Round(0))
	if d < -time.Second || d > 0 {
		return time.Time{}, false
	}
	return now.Add(d), true
}

// counterKeys follows the OPT_ID counter of a socket whose packets cannot carry their own keys:
// the kernel gives each packet it stamps the next number. A send that fails may or may not have
// taken one, so the sends after a failure are kept in limbo until the first stamp beyond every
// known key comes: stamps come in the order of the sends, so it is the first limbo send's, and
// the sends up to the next failure follow it.
type counterKeys struct {
	next   uint32      // key of the next packet, when no failure has made it uncertain
	unsure bool        // a send failed since the last send
	limbo  []limboSend // sends whose keys are not known yet, in order
}

type limboSend struct {
	probe uint32 // as txKey.probe
	after bool   // a failed send came just before this one
}

// sent records the send of probe (as txKey.probe), about to happen; it returns the key the send
// will take, when known.
func (c *counterKeys) sent(probe uint32) (uint32, bool) {
	if !c.unsure && len(c.limbo) == 0 {
		c.next++
		return c.next - 1, true
	}
	c.limbo = append(c.limbo, limboSend{probe: probe, after: c.unsure})
	c.unsure = false
	return 0, false
}

// failed records that the last send failed: it made no packet, but may have taken a key.
func (c *counterKeys) failed() {
	if n := len(c.limbo); n > 0 {
		c.limbo = c.limbo[:n-1]
	} else {
		c.next--
	}
	c.unsure = true
}

// resolve learns from the key of a stamp: beyond every known key, it is the first limbo
// send's. It returns the keys that became known.
func (c *counterKeys) resolve(key uint32) []txKey {
	if key < c.next || len(c.limbo) == 0 {
		return nil
	}
	var known []txKey
	n := 0
	for n < len(c.limbo) && (n == 0 || !c.limbo[n].after) {
		known = append(known, txKey{key: key + uint32(n), probe: c.limbo[n].probe, used: true})
		n++
	}
	c.limbo = c.limbo[n:]
	c.next = key + uint32(n)
	return known
}
