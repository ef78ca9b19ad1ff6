package tui

import "github.com/gdamore/tcell/v2"

// canvas is the frame being drawn. A frame paints it whole; flush then hands tcell only the cells
// that differ from the frame before. Clearing tcell's screen and painting it again would not do:
// tcell counts every cell written with a new value since the last Show as changed, even when the
// value is back to what the terminal shows, so each frame sent the whole screen to the terminal
// (about 1 KB and 400 cells a frame on a 6-hop table, against 50 or so that really change).
type canvas struct {
	w, h      int
	cur, prev []cell
	on        tcell.Screen // the screen prev was flushed to
	full      bool         // flush every cell next time (new size)
	cursor    bool
	cx, cy    int
	styles    []tcell.Style // cells refer to styles by index: comparing a Style is slow
	// dy moves what is drawn down by dy rows, so a table laid out for the top of the screen can
	// be drawn lower (the reverse table under the forward one).
	dy int
}

type cell struct {
	r  rune
	st uint16 // index in styles
}

// blank is an empty cell in the plain style, which style always gives index 0.
var blank = cell{' ', 0}

// style returns the index of st, adding it if it is new. A frame uses a handful of styles.
func (c *canvas) style(st tcell.Style) uint16 {
	if len(c.styles) == 0 {
		c.styles = append(c.styles, plain)
	}
	for i, s := range c.styles {
		if s == st {
			return uint16(i)
		}
	}
	c.styles = append(c.styles, st)
	return uint16(len(c.styles) - 1)
}

// begin starts a frame of w×h blank cells.
func (c *canvas) begin(w, h int) {
	w, h = max(w, 0), max(h, 0)
	if w != c.w || h != c.h {
		c.w, c.h = w, h
		c.cur, c.prev = make([]cell, w*h), make([]cell, w*h)
		c.full = true
	}
	for i := range c.cur {
		c.cur[i] = blank
	}
	c.cursor = false
	c.dy = 0
}

// Size is the frame's width and height.
func (c *canvas) Size() (int, int) { return c.w, c.h }

// set puts r at (x, y); cells off the frame are ignored.
func (c *canvas) set(x, y int, r rune, st tcell.Style) { c.setIndexed(x, y, r, c.style(st)) }

// setIndexed puts r at (x, y) in the style of index i; cells off the frame are ignored.
func (c *canvas) setIndexed(x, y int, r rune, i uint16) {
	y += c.dy
	if x >= 0 && y >= 0 && x < c.w && y < c.h {
		c.cur[y*c.w+x] = cell{r, i}
	}
}

// put writes str from (x, y) on, one cell per rune, clipped to the frame, and returns the column
// after it.
func (c *canvas) put(x, y int, str string, st tcell.Style) int {
	i := c.style(st)
	for _, r := range str {
		c.setIndexed(x, y, r, i)
		x++
	}
	return x
}

// ShowCursor places the cursor at (x, y) for this frame; by default it is hidden.
func (c *canvas) ShowCursor(x, y int) { c.cursor, c.cx, c.cy = true, x, y }

// flush copies the cells that changed since the last flush to s (all of them when s is another
// screen or the size changed) and places the cursor.
func (c *canvas) flush(s tcell.Screen) {
	full := c.full || s != c.on
	for i, v := range c.cur {
		if full || v != c.prev[i] {
			s.SetContent(i%c.w, i/c.w, v.r, nil, c.styles[v.st])
		}
	}
	c.cur, c.prev = c.prev, c.cur
	c.on, c.full = s, false
	if c.cursor {
		s.ShowCursor(c.cx, c.cy)
	} else {
		s.HideCursor()
	}
}
