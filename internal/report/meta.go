package report

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Meta describes one run for the machine formats: what mtr puts in its JSON "mtr" object, XML
// <MTR> attributes and CSV columns, plus what mtr-go adds (target address, start and end).
type Meta struct {
	Target   string     // the target as the user typed it (mtr's "dst")
	TargetIP netip.Addr // the address probed
	Start    time.Time  // when probing began
	End      time.Time  // when the results were taken
	Tests    int        // -c rounds asked for
	Size     int        // -s packet size
	Pattern  int        // -B fill byte; above 255 a random byte per round
	TOS      int        // -Q
	Options  string     // the probing options in words, for the Markdown and HTML headers
}

// bitPattern is mtr's text for -B: two hex digits, or the random range.
func (m Meta) bitPattern() string {
	if m.Pattern > 255 {
		return "rand(0x00-FF)"
	}
	return fmt.Sprintf("0x%02X", m.Pattern)
}

// fields parses the -o order of o, defaulting to mtr's.
func (o Options) fields() ([]vocab.Field, error) {
	order := o.Fields
	if order == "" {
		order = vocab.DefaultFields
	}
	return vocab.ParseFields(order)
}

// columns drops the spacer: it is a gap in the text table, not data, in JSON, XML and the
// ticket formats (mtr skips it there too; only CSV keeps it).
func columns(fields []vocab.Field) []vocab.Field {
	out := make([]vocab.Field, 0, len(fields))
	for _, f := range fields {
		if f.Kind != vocab.Blank {
			out = append(out, f)
		}
	}
	return out
}

// lossMilli is mtr's loss as it keeps it: thousandths of a percent, truncated. The epsilon keeps
// values like 0.8% (100/125, not exact in binary) from losing a thousandth to rounding.
func lossMilli(h *stats.Hop) int64 { return int64(math.Floor(h.Loss()*1000 + 1e-6)) }

// number is f's value for h as mtr's machine formats carry it: loss truncated to thousandths of
// a percent (mtr's integer ×1000), times rounded to whole microseconds (mtr's unit), counts whole.
func number(f vocab.Field, h *stats.Hop) float64 {
	v := f.Value(h)
	switch f.Kind {
	case vocab.Percent:
		return float64(lossMilli(h)) / 1000
	case vocab.Millis:
		return math.Round(v*1000) / 1000
	default:
		return math.Round(v)
	}
}

// fixed formats v with two decimals (mtr's CSV "%.2f").
func fixed(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// targetText names the target as typed, with its address when that is not what was typed:
// "dest.lab.test (198.18.6.2)".
func (m Meta) targetText() string {
	if m.TargetIP.IsValid() && m.TargetIP.String() != m.Target {
		return m.Target + " (" + m.TargetIP.String() + ")"
	}
	return m.Target
}
