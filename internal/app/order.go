package app

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"
)

// stagger is when target i of n starts, after the first: spread evenly over the first interval,
// so n targets' first probes leave in n small groups instead of one burst, and stay spread since
// every target keeps the same interval.
func stagger(i, n int, interval time.Duration) time.Duration {
	if n <= 1 || i <= 0 {
		return 0
	}
	return time.Duration(int64(interval) / int64(n) * int64(i))
}

// spillAt is how much of one target's output is kept in memory while it waits for its turn;
// beyond it the output goes to an unlinked temporary file, so waiting targets hold at most
// spillAt bytes of memory each however long the target before them streams (split mode without
// -c runs until q). A -r report or a JSON document of 30 hops is a few KB and never spills.
const spillAt = 32 << 10

// ordered interleaves the outputs of targets that run at once into command-line order: the
// first unfinished target in order writes straight through, the others are buffered and flushed
// when every target before them has finished. Writes and the flushes hold one lock, so a
// blocked stdout holds up the waiting targets' writes too, as it held up the one target
// before.
type ordered struct {
	mu    sync.Mutex
	w     io.Writer
	cur   int
	slots []*slot
	err   error // the first error writing flushed output
}

// slot is one target's output. Its Write never blocks on other targets.
type slot struct {
	o      *ordered
	i      int
	mem    bytes.Buffer
	spill  *os.File // the output beyond spillAt, once there is that much
	closed bool
	turn   chan struct{} // closed when the slot writes straight through
}

func newOrdered(w io.Writer, n int) *ordered {
	o := &ordered{w: w, slots: make([]*slot, n)}
	for i := range o.slots {
		o.slots[i] = &slot{o: o, i: i, turn: make(chan struct{})}
	}
	if n > 0 {
		close(o.slots[0].turn)
	}
	return o
}

// slot returns the writer of target i; Close it when the target's output is complete.
func (o *ordered) slot(i int) *slot { return o.slots[i] }

// Err is the first error met writing a waiting target's output once its turn came.
func (o *ordered) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

func (s *slot) Write(p []byte) (int, error) {
	o := s.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cur == s.i {
		return o.w.Write(p)
	}
	if s.spill == nil && s.mem.Len()+len(p) > spillAt {
		f, err := os.CreateTemp("", "mtr-go-output")
		if err != nil {
			return 0, err
		}
		// Unlinked at once: the file goes away with the process, however it ends.
		_ = os.Remove(f.Name())
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			f.Close()
			return 0, err
		}
		s.mem = bytes.Buffer{}
		s.spill = f
	}
	if s.spill != nil {
		return s.spill.Write(p)
	}
	return s.mem.Write(p)
}

// base is the stream the slot's output ends up on (csvDoc keys its header on it).
func (s *slot) base() io.Writer { return s.o.w }

// waitTurn returns once the slot writes straight through: for outputs written in one go at the
// end, so that what they decide from the stream's history (one CSV header) is decided in
// command-line order.
func (s *slot) waitTurn() { <-s.turn }

// Close marks the target's output complete; when it was the one writing through, the next
// targets' buffered output follows, up to the first target still running.
func (s *slot) Close() error {
	o := s.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if o.cur != s.i {
		return nil
	}
	for o.cur++; o.cur < len(o.slots); o.cur++ {
		n := o.slots[o.cur]
		if err := n.flush(o.w); err != nil && o.err == nil {
			o.err = err
		}
		close(n.turn)
		if !n.closed {
			break
		}
	}
	return nil
}

func (s *slot) flush(w io.Writer) error {
	if s.spill == nil {
		if s.mem.Len() == 0 {
			return nil
		}
		_, err := w.Write(s.mem.Bytes())
		s.mem = bytes.Buffer{}
		return err
	}
	defer func() { s.spill.Close(); s.spill = nil }()
	if _, err := s.spill.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, s.spill)
	return err
}
