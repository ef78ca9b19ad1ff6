package tui

import (
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
)

// Display mode 3 on path(4), hand-checked: the RTTs on screen run 1..20 ms, so quarters are
// 1-5.75, 5.75-10.5, 10.5-15.25 and 15.25-20 ms; two probes per cell, the newest at the right.
func TestBrailleMode(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DisplayMode: ModeBraille})
	s, got := render(t, u, path(4), 100, 30)
	chart := func(row string) string { return strings.TrimLeft(string([]rune(row)[min(len([]rune(row)), 25):]), " ") }
	for _, tc := range []struct {
		row  int
		host string
		want string
	}{
		// 4 answers of 1 ms and one in flight (blank): the first cell has only its right probe.
		{5, " 1. 198.18.0.2", "⢀⣀⡀"},
		// Three answers of 2 ms, then a loss (top dot alone) beside the probe in flight.
		{6, " 2. 198.18.1.2", "⢀⣀⠁"},
		{7, " 3. (waiting for reply)", "⠉⠁"},
		{8, " 4. 198.18.3.2", "⣶⣶"}, // 12 ms: third quarter, three dots a column
		{9, " 5. 198.18.4.2", "⣿⣿"}, // 20 ms: full height
	} {
		if !strings.HasPrefix(got[tc.row], tc.host) || chart(got[tc.row]) != tc.want {
			t.Errorf("row %d: %q, want host %q chart %q", tc.row, got[tc.row], tc.host, tc.want)
		}
	}
	if !strings.Contains(got[4], "Last 148 pings, 2 per cell") {
		t.Errorf("header %q", got[4])
	}
	if want := "Scale:  ⣀:≤5.7 ms  ⣤:≤10 ms  ⣶:≤15 ms  ⣿:≤20 ms  ⠉:no answer"; got[11] != want {
		t.Errorf("legend\n got %q\nwant %q", got[11], want)
	}
	// The newest cell is at column 98, as in the other charts; one with a loss is red.
	if r, _, _ := s.Get(98, 6); r != "⠁" {
		t.Errorf("newest cell of hop 2 at column 98 is %q", r)
	}
	if fg, _, _ := styleAt(s, 98, 6).Decompose(); fg != tcell.ColorRed {
		t.Errorf("a cell with a lost probe is %v, want red", fg)
	}
	if fg, _, _ := styleAt(s, 98, 5).Decompose(); fg == tcell.ColorRed {
		t.Errorf("a cell without loss is red")
	}
	press(u, "d")
	if u.mode != ModeTable || !strings.Contains(u.status, "table") {
		t.Errorf("d after the braille graph: mode %d, status %q", u.mode, u.status)
	}
}

// c drops the key line and the "Packets Pings" row (and the chart's blank line before the
// legend): the hops start two rows higher, and on a 10-row screen two more hops show.
func TestCompactMode(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DNS: true})
	_, got := render(t, u, path(4), 100, 10)
	if !strings.HasPrefix(got[2], "Keys:") || !strings.HasPrefix(got[5], " 1. r1.lab.test") || got[9] != "" {
		t.Fatalf("normal mode:\n%s", strings.Join(got, "\n"))
	}
	shown := func(rows []string) int {
		n := 0
		for _, r := range rows {
			if len(r) > 3 && r[2] == '.' {
				n++
			}
		}
		return n
	}
	before := shown(got)
	press(u, "c")
	if !u.compact || u.status != "Compact mode on" {
		t.Fatalf("c: compact %v, status %q", u.compact, u.status)
	}
	_, got = render(t, u, path(4), 100, 10)
	if !strings.HasPrefix(got[2], " Host") || !strings.Contains(got[2], "Loss%") || !strings.HasPrefix(got[3], " 1. r1.lab.test") {
		t.Errorf("compact mode:\n%s", strings.Join(got, "\n"))
	}
	for _, r := range got {
		if strings.Contains(r, "Keys:") || strings.Contains(r, "Packets") {
			t.Errorf("compact mode keeps %q", r)
		}
	}
	if after := shown(got); before != 3 || after != 5 {
		// 10 rows: normally hops 1-3 (and hop 2's second address), compact all five.
		t.Errorf("hops shown: %d normal, %d compact; want 3 and 5", before, after)
	}
	// The chart: the legend follows the last hop directly.
	u.mode = ModeStrip
	_, got = render(t, u, path(4), 100, 30)
	if !strings.HasPrefix(got[7], " 5. 198.18.4.2") || !strings.HasPrefix(got[8], "Scale:") {
		t.Errorf("compact chart:\n%s", strings.Join(got[:10], "\n"))
	}
	press(u, "c")
	_, got = render(t, u, path(4), 100, 30)
	if !strings.HasPrefix(got[2], "Keys:") || !strings.HasPrefix(got[11], "Scale:") {
		t.Errorf("c again: not back to normal:\n%s", strings.Join(got[:12], "\n"))
	}
}

// -E 1 shows only the latest responder of hop 2; the default (8) shows both.
func TestMaxDisplayPathInTheTable(t *testing.T) {
	u := testUI(&fakeControl{}, Options{MaxPath: 1})
	_, got := render(t, u, path(4), 100, 30)
	if !strings.HasPrefix(got[6], " 2. 198.18.1.2") || !strings.HasPrefix(got[7], " 3. ") {
		t.Errorf("-E 1:\n%s", strings.Join(got[5:10], "\n"))
	}
	if n := u.tableRows(path(4).Hops); n != 5 {
		t.Errorf("-E 1: the table needs %d rows, want 5", n)
	}
	u = testUI(&fakeControl{}, Options{})
	_, got = render(t, u, path(4), 100, 30)
	if got[7] != "    198.18.1.3" {
		t.Errorf("default -E: row 7 %q", got[7])
	}
}

// BenchmarkFrameModes draws one frame per display mode, and the hop details, of a path with
// 200 rounds of history (a full chart) on a 200x50 simulation screen.
func BenchmarkFrameModes(b *testing.B) {
	snap := path(200)
	for _, m := range []struct {
		name    string
		mode    int
		details bool
	}{{"table", ModeTable, false}, {"scale", ModeScale, false}, {"braille", ModeBraille, false}, {"details", ModeTable, true}} {
		b.Run(m.name, func(b *testing.B) {
			u := testUI(&fakeControl{}, Options{DNS: true, DisplayMode: m.mode})
			s := tcell.NewSimulationScreen("")
			if err := s.Init(); err != nil {
				b.Fatal(err)
			}
			s.SetSize(200, 50)
			defer s.Fini()
			u.draw(s, snap)
			if m.details {
				press(u, "<Down>", "<Down>", "<Enter>")
			}
			for b.Loop() {
				u.draw(s, snap)
				s.Show()
			}
		})
	}
}
