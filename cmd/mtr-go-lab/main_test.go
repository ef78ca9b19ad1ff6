package main

import (
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHopValues(t *testing.T) {
	tests := []struct {
		list    string
		want    map[int]time.Duration
		wantErr string
	}{
		{"", map[int]time.Duration{}, ""},
		{"2=1.5s", map[int]time.Duration{2: 1500 * time.Millisecond}, ""},
		{" 2 = 1.5s , 4=20ms,", map[int]time.Duration{2: 1500 * time.Millisecond, 4: 20 * time.Millisecond}, ""},
		{"2", nil, `-slow "2": want hop=delay`},
		{"2=1.5", nil, `-slow "2=1.5": want hop=delay`},
		{"x=1s", nil, `-slow "x=1s": want hop=delay`},
		{"2=1s,2=2s", nil, "-slow: hop 2 given twice"},
	}
	for _, tc := range tests {
		got, err := hopValues("-slow", "delay", tc.list, time.ParseDuration)
		switch {
		case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
			t.Errorf("%q: error %v, want %q", tc.list, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || !maps.Equal(got, tc.want)):
			t.Errorf("%q: %v, %v; want %v", tc.list, got, err, tc.want)
		}
	}
}

// FuzzHopValues: any flag text gives a map or a one-line error naming the flag, never a panic,
// and a map holds exactly the items of the list.
func FuzzHopValues(f *testing.F) {
	for _, s := range []string{"", "2=40", "1=5, 3=100,", "2==3", "=", ",,,", "99999999999999999999=1", "-1=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		m, err := hopValues("-throttle", "percent", list, strconv.Atoi)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "-throttle") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q", msg)
			}
			return
		}
		items := 0
		for _, kv := range strings.Split(list, ",") {
			if strings.TrimSpace(kv) != "" {
				items++
			}
		}
		if len(m) != items {
			t.Fatalf("%q: %d hops from %d items", list, len(m), items)
		}
	})
}

// TestUpRejectsBadSpec: a bad lab flag is refused before anything is built, naming what is wrong.
func TestUpRejectsBadSpec(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-throttle-dest", "101"}, "ThrottleDest = 101, want 0..100"},
		{[]string{"-throttle-dest", "-5"}, "ThrottleDest = -5, want 0..100"},
		{[]string{"-routers", "3", "-loss-from", "4"}, "LossFrom = 4"},
		{[]string{"-return-via", "1"}, "ReturnVia = 1, want 0 (off) or 2..6"},
		{[]string{"-return-loss", "20"}, "ReturnLoss needs ReturnVia"},
		{[]string{"-nat", "7"}, "NAT = 7"},
	} {
		err := up(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("up %q: error %v, want one containing %q", tc.args, err, tc.wantErr)
		}
	}
}
