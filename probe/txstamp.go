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
// Each probe is sent with its own timestamp key (the per-packet OPT_ID of SCM_TS_OPT_ID, equal
// to the sequence), so the kernel's stamp names its probe whatever happened to earlier sends.
// The socket-wide OPT_ID counter would need us to know which failed sends still advanced it,
// which the kernel does not say. Use: expect before the send, stamp as stamps are read from the
// error queue (before any answer read after them is delivered), sent when the answer is matched.
//
// A prober that cannot get a stamp for a probe simply gets no Sent time, and the scheduler
// falls back to the user-space time Send returned. Any prober with a socket that takes
// SO_TIMESTAMPING (the raw TCP SYN prober, for one) can use it the same way: enableTxStamps at
// open, expect and txKeyCmsg for each send, serveQueues (or txStampOf on its own error-queue
// reads) to feed stamp, and Reply.Sent from sent.
type txStamps struct {
	mu      sync.Mutex
	slots   [txSlots]txSlot
	pending int // probes expected whose stamp has not come
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

// expect records that probe seq is about to be sent, at user time now.
func (s *txStamps) expect(seq uint16, now time.Time) {
	s.mu.Lock()
	s.drop(&s.slots[seq%txSlots])
	s.slots[seq%txSlots] = txSlot{seq: seq, used: true, user: now}
	s.pending++
	s.mu.Unlock()
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

// forget drops the probe seq whose send failed: whatever stamp comes for that key is not ours.
func (s *txStamps) forget(seq uint16) {
	s.mu.Lock()
	if sl := &s.slots[seq%txSlots]; sl.used && sl.seq == seq {
		s.drop(sl)
	}
	s.mu.Unlock()
}

// maxTxLead is how far a kernel stamp may seem to precede its probe's user-space time: both
// are read from the clock within a microsecond, so more than this is a stale key or a step
// of the wall clock.
const maxTxLead = time.Millisecond

// stamp records the kernel's transmit stamp for key, read from the error queue at now (which
// carries the monotonic reading the stamp is re-based on). Stamps for keys that are not an
// expected probe, or that contradict its user-space time, are dropped.
func (s *txStamps) stamp(key uint32, kernel, now time.Time) {
	at, ok := rebase(now, kernel)
	if !ok || key > 0xffff {
		return
	}
	seq := uint16(key)
	s.mu.Lock()
	defer s.mu.Unlock()
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
