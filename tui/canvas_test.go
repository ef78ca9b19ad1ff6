package tui

import (
	"testing"

	"github.com/gdamore/tcell/v2"
)

// countingScreen counts the cells written to it.
type countingScreen struct {
	tcell.Screen
	set int
}

func (c *countingScreen) SetContent(x, y int, r rune, comb []rune, st tcell.Style) {
	c.set++
	c.Screen.SetContent(x, y, r, comb, st)
}

func TestCanvasSendsOnlyChanges(t *testing.T) {
	sim := screen(t, 20, 3)
	s := &countingScreen{Screen: sim}
	var c canvas
	frame := func(lines ...string) {
		c.begin(s.Size())
		for y, l := range lines {
			c.put(0, y, l, plain)
		}
		c.flush(s)
		s.Show()
	}
	frame("hello world", "second")
	if s.set != 60 {
		t.Errorf("first frame wrote %d cells; want all 60", s.set)
	}
	s.set = 0
	frame("hello there", "second")
	if want := countDiff("hello world", "hello there"); s.set != want {
		t.Errorf("second frame wrote %d cells; want the %d that changed", s.set, want)
	}
	s.set = 0
	frame("hi")
	got := lines(sim)
	if got[0] != "hi" || got[1] != "" {
		t.Errorf("after a shorter frame the screen shows %q; want only \"hi\"", got)
	}
	s.set = 0
	frame("hi")
	if s.set != 0 {
		t.Errorf("an unchanged frame wrote %d cells", s.set)
	}
	// Another screen (or a new size) gets every cell.
	other := &countingScreen{Screen: screen(t, 20, 3)}
	c.begin(other.Size())
	c.put(0, 0, "hi", plain)
	c.flush(other)
	if other.set != 60 {
		t.Errorf("a new screen got %d cells; want 60", other.set)
	}
}

func countDiff(a, b string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func TestCanvasClipsAndPlacesCursor(t *testing.T) {
	sim := screen(t, 5, 2)
	var c canvas
	c.begin(sim.Size())
	if x := c.put(3, 0, "abcdef", bold); x != 9 {
		t.Errorf("put returned column %d; want 9", x)
	}
	c.put(-2, 1, "xyz", plain)
	c.set(7, 7, 'q', plain) // off the frame: ignored
	c.ShowCursor(1, 1)
	c.flush(sim)
	sim.Show()
	if got := lines(sim); got[0] != "   ab" || got[1] != "z" {
		t.Errorf("screen %q; want clipped text", got)
	}
	if x, y, visible := sim.GetCursor(); !visible || x != 1 || y != 1 {
		t.Errorf("cursor at %d,%d visible %v; want 1,1 shown", x, y, visible)
	}
	c.begin(sim.Size())
	c.flush(sim)
	if _, _, visible := sim.GetCursor(); visible {
		t.Error("cursor still shown on a frame that did not place it")
	}
}
