package tui

import (
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/stats"
)

// BenchmarkFrame draws one frame of a 6-hop table on a 100x30 simulation screen and shows it.
func BenchmarkFrame(b *testing.B) {
	u := testUI(&fakeControl{}, Options{DNS: true})
	s := tcell.NewSimulationScreen("")
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	s.SetSize(100, 30)
	defer s.Fini()
	snap := path(6)
	for b.Loop() {
		u.draw(s, snap)
		s.Show()
	}
}

// BenchmarkFrameTerminal is one live frame as the user's terminal gets it: tcell's terminfo
// screen for xterm-256color at 120x40 writing to a tty, with three of six hops having new
// probes since the last frame (a 6-hop path at -i 0.2 between two frames 100 ms apart).
func BenchmarkFrameTerminal(b *testing.B) {
	ti, err := tcell.LookupTerminfo("xterm-256color")
	if err != nil {
		b.Fatal(err)
	}
	tty := newFakeTty(120, 40)
	s, err := tcell.NewTerminfoScreenFromTtyTerminfo(tty, ti)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	defer s.Fini()
	u := testUI(&fakeControl{}, Options{DNS: true})
	p := stats.NewPath(target, 1, 30)
	seq := uint16(0)
	probe := func() {
		seq++
		ttl := int(seq)%6 + 1
		p.Sent(ttl, seq)
		p.Reply(ttl, seq, netip.AddrFrom4([4]byte{198, 18, byte(ttl - 1), 2}), time.Duration(ttl)*time.Millisecond+time.Duration(seq%7)*time.Microsecond, "")
	}
	for range 60 {
		probe()
	}
	u.draw(s, p.Snapshot())
	s.Show()
	tty.reset()
	b.ReportAllocs()
	for b.Loop() {
		for range 3 {
			probe()
		}
		u.draw(s, p.Snapshot())
		s.Show()
	}
	b.ReportMetric(float64(tty.written())/float64(b.N), "B/frame")
}

// fakeTty is a terminal of a fixed size that swallows output and never has input.
type fakeTty struct {
	w, h   int
	mu     sync.Mutex
	n      int
	closed chan struct{}
	once   sync.Once
}

func newFakeTty(w, h int) *fakeTty { return &fakeTty{w: w, h: h, closed: make(chan struct{})} }

func (t *fakeTty) Start() error        { return nil }
func (t *fakeTty) Stop() error         { return nil }
func (t *fakeTty) Drain() error        { return t.Close() } // wakes the reader
func (t *fakeTty) NotifyResize(func()) {}
func (t *fakeTty) Close() error        { t.once.Do(func() { close(t.closed) }); return nil }
func (t *fakeTty) Read([]byte) (int, error) {
	<-t.closed
	return 0, io.EOF
}
func (t *fakeTty) Write(b []byte) (int, error) {
	t.mu.Lock()
	t.n += len(b)
	t.mu.Unlock()
	return len(b), nil
}
func (t *fakeTty) WindowSize() (tcell.WindowSize, error) {
	return tcell.WindowSize{Width: t.w, Height: t.h}, nil
}
func (t *fakeTty) reset() { t.mu.Lock(); t.n = 0; t.mu.Unlock() }
func (t *fakeTty) written() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// BenchmarkFramePane is a frame of the 6-hop faulty path with the analysis pane open: with
// "analyse" every frame analyses the path again (the most a changing path can cost, which the
// view allows four times a second), with "unchanged" the path is the same and is not analysed;
// "closed" is the same frame without the pane.
func BenchmarkFramePane(b *testing.B) {
	for _, tc := range []struct {
		name    string
		analyse bool
		closed  bool
	}{{"analyse", true, false}, {"unchanged", false, false}, {"closed", false, true}} {
		b.Run(tc.name, func(b *testing.B) {
			u := testUI(&fakeControl{}, Options{DNS: true, Analyze: !tc.closed})
			now := time.Now()
			u.clock = func() time.Time { return now }
			s := tcell.NewSimulationScreen("")
			if err := s.Init(); err != nil {
				b.Fatal(err)
			}
			s.SetSize(120, 40)
			defer s.Fini()
			snaps := []stats.Snapshot{faultyPath(100), faultyPath(101)}
			i := 0
			for b.Loop() {
				if tc.analyse {
					i++
					now = now.Add(analyzeEvery)
				}
				u.draw(s, snaps[i%2])
				s.Show()
			}
		})
	}
}
