package tui

import (
	"testing"

	"github.com/gdamore/tcell/v2"
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
