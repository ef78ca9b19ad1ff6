package vocab

import (
	"strings"
	"testing"
)

func TestParseFields(t *testing.T) {
	tests := []struct {
		name    string
		order   string
		keys    string // keys of the columns returned
		wantErr string // substring of the error, "" for success
	}{
		{"mtr default", DefaultFields, "LS NABWV", ""},
		{"jitter view", JitterFields, "DR AGJMXI", ""},
		{"every letter", "LDRSNBAWVGJMXI", "LDRSNBAWVGJMXI", ""},
		{"underscore is ignored", "L_S__N", "LSN", ""},
		{"letters may repeat", "LLL", "LLL", ""},
		{"empty order, no columns", "", "", ""},
		{"twenty characters is the limit", strings.Repeat("L", 20), strings.Repeat("L", 20), ""},
		{"underscores count toward the limit", strings.Repeat("_", 21), "", "too many fields in -o: 21 (at most 20)"},
		{"twenty-one is too many", strings.Repeat("S", 21), "", "too many fields"},
		{"unknown letter", "LSZ", "", "unknown field identifier 'Z' in -o (allowed: ' LDRSNBAWVGJMXI_')"},
		{"lower case is not accepted", "ls", "", "unknown field identifier 'l'"},
		{"non-ascii", "Lé", "", "unknown field identifier 'é'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFields(tc.order)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseFields(%q) error = %v, want %q", tc.order, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFields(%q): %v", tc.order, err)
			}
			var keys []byte
			for _, f := range got {
				keys = append(keys, f.Key)
			}
			if string(keys) != tc.keys {
				t.Errorf("ParseFields(%q) = %q, want %q", tc.order, keys, tc.keys)
			}
		})
	}
}

// TestFieldTable pins mtr 0.95's titles, widths and formats (reference §3.1): scripts parse the
// header by title and the machine formats reuse these.
func TestFieldTable(t *testing.T) {
	want := []struct {
		key    byte
		title  string
		width  int
		format string
		kind   Kind
	}{
		{' ', " ", 1, "", Blank},
		{'L', "Loss%", 6, " %4.1f%%", Percent},
		{'D', "Drop", 5, " %4d", Count},
		{'R', "Rcv", 6, " %5d", Count},
		{'S', "Snt", 6, " %5d", Count},
		{'N', "Last", 6, " %5.1f", Millis},
		{'B', "Best", 6, " %5.1f", Millis},
		{'A', "Avg", 6, " %5.1f", Millis},
		{'W', "Wrst", 6, " %5.1f", Millis},
		{'V', "StDev", 6, " %5.1f", Millis},
		{'G', "Gmean", 6, " %5.1f", Millis},
		{'J', "Jttr", 5, " %4.1f", Millis},
		{'M', "Javg", 5, " %4.1f", Millis},
		{'X', "Jmax", 5, " %4.1f", Millis},
		{'I', "Jint", 5, " %4.1f", Millis},
	}
	fields, err := ParseFields(" LDRSNBAWVGJMXI")
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		f := fields[i]
		if f.Key != w.key || f.Title != w.title || f.Width != w.width || f.Format != w.format || f.Kind != w.kind {
			t.Errorf("field %q = {%q %d %q %v}, want {%q %d %q %v}",
				w.key, f.Title, f.Width, f.Format, f.Kind, w.title, w.width, w.format, w.kind)
		}
	}
}
