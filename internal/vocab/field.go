package vocab

import (
	"fmt"
	"strings"

	"github.com/mtr-go/mtr-go/stats"
)

// DefaultFields is mtr's default column order (-o): Loss%, Snt, a spacer, Last, Avg, Best, Wrst, StDev.
const DefaultFields = "LS NABWV"

// JitterFields is the column set mtr's `j` key switches to.
const JitterFields = "DR AGJMXI"

// maxFields is mtr's limit on the length of -o (its field array holds 20 entries).
const maxFields = 20

// allowedKeys lists every letter -o accepts, in mtr's order; it is quoted in error messages.
const allowedKeys = " LDRSNBAWVGJMXI_"

// Kind says what a field's value is, so machine formats can print it the way mtr does (%d for
// counts, %.2f for times and loss in CSV, reals in JSON) without knowing each letter.
type Kind uint8

const (
	// Blank is the spacer column. Its Value is the Drop count, because mtr's CSV prints that
	// number under the blank title and scripts parse it.
	Blank Kind = iota
	// Count is a number of probes (Drop, Rcv, Snt); Value is a whole number.
	Count
	// Millis is a time in milliseconds (Last, Best, Avg, Wrst, StDev, Gmean and the jitters).
	Millis
	// Percent is the loss percentage.
	Percent
)

// Field is one statistics column: the letter that selects it in -o, its title, the width and
// printf format of the text report (leading space included, as mtr's table), and its value.
type Field struct {
	Key    byte
	Title  string
	Width  int    // minimum width of the column in the text report, separator space included
	Format string // printf format of one value in the text report; "" for the spacer
	Kind   Kind
	Value  func(h *stats.Hop) float64 // counts as whole numbers, times in ms, loss in percent
}

// Text formats the field's value for h as mtr's report does. It may be wider than Width (100.0%
// loss, times of a second or more); the text writer widens the column instead of cutting it.
func (f Field) Text(h *stats.Hop) string {
	switch f.Kind {
	case Blank:
		return strings.Repeat(" ", f.Width)
	case Count:
		return fmt.Sprintf(f.Format, int(f.Value(h)))
	default:
		return fmt.Sprintf(f.Format, f.Value(h))
	}
}

func drop(h *stats.Hop) float64 { return float64(h.Drop()) }

// fieldTable is mtr 0.95's data_fields[] (titles, widths, formats), reference §3.1.
var fieldTable = []Field{
	{Key: ' ', Title: " ", Width: 1, Kind: Blank, Value: drop},
	{Key: 'L', Title: "Loss%", Width: 6, Format: " %4.1f%%", Kind: Percent,
		Value: func(h *stats.Hop) float64 { return h.Loss() }},
	{Key: 'D', Title: "Drop", Width: 5, Format: " %4d", Kind: Count, Value: drop},
	{Key: 'R', Title: "Rcv", Width: 6, Format: " %5d", Kind: Count,
		Value: func(h *stats.Hop) float64 { return float64(h.Recv) }},
	{Key: 'S', Title: "Snt", Width: 6, Format: " %5d", Kind: Count,
		Value: func(h *stats.Hop) float64 { return float64(h.Sent) }},
	{Key: 'N', Title: "Last", Width: 6, Format: " %5.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return stats.Ms(h.Last) }},
	{Key: 'B', Title: "Best", Width: 6, Format: " %5.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return stats.Ms(h.Best) }},
	{Key: 'A', Title: "Avg", Width: 6, Format: " %5.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return h.Avg() }},
	{Key: 'W', Title: "Wrst", Width: 6, Format: " %5.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return stats.Ms(h.Worst) }},
	{Key: 'V', Title: "StDev", Width: 6, Format: " %5.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return h.StDev() }},
	{Key: 'G', Title: "Gmean", Width: 6, Format: " %5.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return h.Gmean() }},
	{Key: 'J', Title: "Jttr", Width: 5, Format: " %4.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return h.Jitter() }},
	{Key: 'M', Title: "Javg", Width: 5, Format: " %4.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return h.JitterMean() }},
	{Key: 'X', Title: "Jmax", Width: 5, Format: " %4.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return h.JitterMax() }},
	// mtr 0.95 prints its estimator still scaled by 16; we print the RFC 3550 value in ms, which
	// is what the title promises and what users compare with other tools.
	{Key: 'I', Title: "Jint", Width: 5, Format: " %4.1f", Kind: Millis,
		Value: func(h *stats.Hop) float64 { return h.JitterInt() }},
}

// ParseFields turns an -o string into its columns, in order. The spacer ' ' is a column; '_' is
// accepted and skipped, as in mtr. An empty order gives no columns.
func ParseFields(order string) ([]Field, error) {
	if len(order) > maxFields {
		return nil, fmt.Errorf("too many fields in -o: %d (at most %d)", len(order), maxFields)
	}
	out := make([]Field, 0, len(order))
	for _, c := range order {
		if c == '_' {
			continue
		}
		f, ok := fieldByKey(c)
		if !ok {
			return nil, fmt.Errorf("unknown field identifier %q in -o (allowed: '%s')", c, allowedKeys)
		}
		out = append(out, f)
	}
	return out, nil
}

func fieldByKey(c rune) (Field, bool) {
	for _, f := range fieldTable {
		if rune(f.Key) == c {
			return f, true
		}
	}
	return Field{}, false
}
