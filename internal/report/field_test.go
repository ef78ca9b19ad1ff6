package report

import (
	"testing"

	"github.com/mtr-go/mtr-go/internal/vocab"
)

func TestFieldText(t *testing.T) {
	snap := unreachable().snapshot()
	silent := &snap.Hops[2]
	tests := []struct {
		name, key, want string
	}{
		{"loss of a silent hop is wider than its column", "L", " 100.0%"},
		{"sent", "S", "     3"},
		{"drop", "D", "    3"},
		{"no answers, zero time", "N", "   0.0"},
		{"spacer", " ", " "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := vocab.ParseFields(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if got := f[0].Text(silent); got != tc.want {
				t.Errorf("Text = %q, want %q", got, tc.want)
			}
		})
	}
	// The spacer carries the Drop count for CSV, as mtr's does.
	f, _ := vocab.ParseFields(" ")
	if got := f[0].Value(silent); got != 3 {
		t.Errorf("spacer Value = %v, want the Drop count 3", got)
	}
}
