package main

import (
	"math"
	"strings"
	"testing"
)

func TestRawAvgs(t *testing.T) {
	// mtr -l: hop from 0, RTT in µs; other lines are not answers.
	out := "x 0 33000\nh 0 198.18.0.2\np 0 21 33000\nx 1 33001\np 1 30 33001\np 0 24 33002\nd 0 r1.lab.test\n"
	got, err := rawAvgs(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || math.Abs(got[1]-0.0225) > 1e-12 || math.Abs(got[2]-0.030) > 1e-12 {
		t.Errorf("got %v; want hop 1 0.0225 ms, hop 2 0.030 ms", got)
	}
	for _, bad := range []string{"p x 21 1\n", "p 0 -5 1\n", "p 300 5 1\n", "p 0 2.5 1\n"} {
		if _, err := rawAvgs(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestJSONAvgs(t *testing.T) {
	doc := `{"report": {"mtr": {}, "hubs": [
		{"count": 1, "host": "198.18.0.2", "Avg": 0.0213},
		{"count": 2, "host": "???", "Avg": 0.0},
		{"count": 3, "host": "198.18.2.2", "Avg": 0.05}]}}`
	got, err := jsonAvgs([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != 0.0213 || got[3] != 0.05 {
		t.Errorf("got %v; want hops 1 and 3, the silent hop left out", got)
	}
	if _, err := jsonAvgs([]byte("Start: ...")); err == nil {
		t.Error("text report: no error")
	}
}

func FuzzRawAvgs(f *testing.F) {
	f.Add("x 0 33000\np 0 21 33000\np 5 100 33001\n")
	f.Fuzz(func(t *testing.T, s string) {
		avgs, err := rawAvgs(strings.NewReader(s))
		if err != nil {
			return
		}
		for hop, a := range avgs {
			if hop < 1 || hop > 256 || a < 0 || math.IsNaN(a) {
				t.Fatalf("hop %d avg %v from %q", hop, a, s)
			}
		}
	})
}
