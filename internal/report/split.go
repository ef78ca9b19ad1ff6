package report

import (
	"fmt"
	"io"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Split writes mtr's split-UI line protocol (-p): a line per hop,
//
//	<hop> <host> <loss×1000> <rcv> <snt> <best ms> <avg ms> <worst ms>
//
// with -b the address as a further token after the host (the host is then the name, or the
// address again when there is none, so a -b line always has 9 tokens, as mtr's). Loss is an
// integer in thousandths of a percent and times are whole milliseconds, truncated, as in mtr.
// A hop's line is written only when it differs from the last one written for that hop; a hop
// that never answered is never written; "-<hop>" says a previously written hop is no longer on
// the path (the path got shorter). The protocol is fixed: -o does not change it.
type Split struct {
	w       io.Writer
	showIPs bool
	lines   map[int]string // last line written per TTL
	end     int            // highest TTL written and not deleted since
}

// NewSplit returns a split writer to w; showIPs is -b.
func NewSplit(w io.Writer, showIPs bool) *Split {
	return &Split{w: w, showIPs: showIPs, lines: make(map[int]string)}
}

// Update writes the lines of s that changed since the last Update.
func (p *Split) Update(s stats.Snapshot, names Names) error {
	last := s.First + len(s.Hops) - 1
	for i := range s.Hops {
		h := &s.Hops[i]
		if !h.Known() {
			continue
		}
		line := p.line(h, names)
		if p.lines[h.TTL] == line {
			continue
		}
		p.lines[h.TTL] = line
		p.end = max(p.end, h.TTL)
		if _, err := fmt.Fprintf(p.w, "%d %s\n", h.TTL, line); err != nil {
			return err
		}
	}
	for ttl := last + 1; ttl <= p.end; ttl++ {
		if _, ok := p.lines[ttl]; !ok {
			continue
		}
		delete(p.lines, ttl)
		if _, err := fmt.Fprintf(p.w, "-%d\n", ttl); err != nil {
			return err
		}
	}
	p.end = min(p.end, max(last, 0))
	return nil
}

// Reset forgets what was written, so the next Update writes every known hop again; used after
// the statistics are reset (key r), when every hop starts over.
func (p *Split) Reset() { clear(p.lines); p.end = 0 }

func (p *Split) line(h *stats.Hop, names Names) string {
	a := h.Addr()
	name := ""
	if vocab.IsMasked(a) {
		return fmt.Sprintf("%s %d %d %d %d %d %d", vocab.Hidden, lossMilli(h), h.Recv, h.Sent,
			wholeMs(h.Best), int64(h.Avg()), wholeMs(h.Worst))
	}
	if names != nil {
		name = names(a)
	}
	host := name
	switch {
	case p.showIPs && name == "":
		host = a.String() + " " + a.String()
	case p.showIPs:
		host = name + " " + a.String()
	case name == "":
		host = a.String()
	}
	return fmt.Sprintf("%s %d %d %d %d %d %d", host, lossMilli(h), h.Recv, h.Sent,
		wholeMs(h.Best), int64(h.Avg()), wholeMs(h.Worst))
}

func wholeMs(d time.Duration) int64 { return int64(d / time.Millisecond) }
