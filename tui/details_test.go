package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/stats"
)

func TestHistogram(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x*float64(time.Millisecond)))
		}
		return out
	}
	// 1..10 ms in three bins of 3 ms: [1,4) [4,7) [7,10]; 10 ms falls in the last, not a fourth.
	got := histogram(ms(1, 2, 3, 4, 10), 3)
	want := []bin{{ms(1)[0], ms(4)[0], 3}, {ms(4)[0], ms(7)[0], 1}, {ms(7)[0], ms(10)[0], 1}}
	if !slices.Equal(got, want) {
		t.Errorf("histogram = %v, want %v", got, want)
	}
	if got := histogram(ms(5, 5, 5), 8); len(got) != 1 || got[0].n != 3 {
		t.Errorf("equal RTTs: %v, want one bin of 3", got)
	}
	if got := histogram(nil, 8); got != nil {
		t.Errorf("no answers: %v", got)
	}
}

func TestStrip(t *testing.T) {
	r := func(ms int) stats.Result { return stats.Result{RTT: time.Duration(ms) * time.Millisecond} }
	lost := stats.Result{Pending: true}
	// 1..8 ms spread over the eight blocks; a lost probe is '?', the newest in flight blank.
	hist := []stats.Result{r(1), r(8), lost, r(4), r(1), lost}
	if got, want := strip(hist, true), "▁█?▄▁ "; got != want {
		t.Errorf("strip = %q, want %q", got, want)
	}
	if got, want := strip(hist, false), "▁█?▄▁?"; got != want {
		t.Errorf("strip, nothing in flight = %q, want %q", got, want)
	}
}

// The arrows put a cursor on a hop (its host in reverse video), Enter opens its details: every
// address that answered with its count and share, the RTT histogram and the latest results,
// drawn from each snapshot so that they follow the probes; Esc goes back.
func TestHopDetails(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DNS: true})
	render(t, u, path(4), 100, 30)
	press(u, "<Down>", "<Down>")
	if u.cursor != 2 {
		t.Fatalf("two Downs: cursor on hop %d, want 2", u.cursor)
	}
	s, _ := render(t, u, path(4), 100, 30)
	if _, _, a := styleAt(s, 4, 6).Decompose(); a&tcell.AttrReverse == 0 {
		t.Errorf("hop 2's host is not highlighted")
	}
	if _, _, a := styleAt(s, 4, 5).Decompose(); a&tcell.AttrReverse != 0 {
		t.Errorf("hop 1's host is highlighted too")
	}
	press(u, "<Enter>")
	_, got := render(t, u, path(4), 100, 30)
	want := []string{
		"Hop 2   Enter or Esc: back to the table; arrows: the other hops",
		"Sent 5  Received 3  Loss 25.0%  Last 2.0  Avg 2.0  Best 2.0  Wrst 2.0  StDev 0.0 ms",
		"",
		"Answered by          Count  Share",
		"  198.18.1.2              2  66.7%",
		"  198.18.1.3              1  33.3%",
		"",
		"RTTs of the last 3 answers",
		"      2.0 - 2.0 ms         3 " + strings.Repeat("#", 70),
		"",
		"Latest results, newest at the right (▁ fastest .. █ slowest, ? no answer)",
		"  ▁▁▁?",
	}
	for i, w := range want {
		if got[2+i] != w {
			t.Errorf("row %d:\n got %q\nwant %q", 2+i, got[2+i], w)
		}
	}
	// Live: more rounds, more answers; Up goes to hop 1 with its name.
	_, got = render(t, u, path(8), 100, 30)
	if !strings.HasPrefix(got[3], "Sent 9  Received 7") {
		t.Errorf("details did not follow the probes: %q", got[3])
	}
	press(u, "<Up>")
	_, got = render(t, u, path(8), 100, 30)
	if got[2] != "Hop 1   Enter or Esc: back to the table; arrows: the other hops" || got[6] != "  198.18.0.2              8 100.0%  r1.lab.test" {
		t.Errorf("Up in the details:\n%s", strings.Join(got[2:8], "\n"))
	}
	press(u, "<Esc>")
	_, got = render(t, u, path(8), 100, 30)
	if u.details || !strings.HasPrefix(got[4], " Host") {
		t.Errorf("Esc did not go back to the table:\n%s", strings.Join(got[:6], "\n"))
	}
	// A hop that never answered says so.
	press(u, "<Down>", "<Down>", "<Enter>")
	_, got = render(t, u, path(8), 100, 30)
	if got[2] != "Hop 3   Enter or Esc: back to the table; arrows: the other hops" || got[5] != "No answer yet." {
		t.Errorf("silent hop:\n%s", strings.Join(got[2:7], "\n"))
	}
}

// The cursor keeps its hop on screen: on a short screen, Down past the last row scrolls.
func TestCursorScrolls(t *testing.T) {
	u := testUI(&fakeControl{}, Options{})
	render(t, u, path(4), 100, 9) // rows 5-7 for hops: hop 1, hop 2 and its second address
	press(u, "<Down>", "<Down>", "<Down>")
	_, got := render(t, u, path(4), 100, 9)
	if u.cursor != 3 || u.scroll == 0 || !strings.Contains(strings.Join(got, "\n"), " 3. (waiting for reply)") {
		t.Errorf("cursor %d scroll %d:\n%s", u.cursor, u.scroll, strings.Join(got, "\n"))
	}
}

// The details show what is known of an address beyond the table: its AS and name (with -y/-z
// lookups), its MPLS labels even with e off, and the ICMP error; names arrive control-free.
func TestHopDetailsASMPLSAndError(t *testing.T) {
	p := stats.NewPath(target, 1, 30)
	p.Sent(1, 1)
	p.Reply(1, 1, hop1, time.Millisecond, "")
	p.MPLS(1, hop1, []stats.Label{{Label: 24001, TTL: 1}, {Label: 16, TC: 5, S: true, TTL: 1}})
	p.Sent(2, 2)
	p.Reply(2, 2, hop2, time.Millisecond, "no route to host")
	u := newUI(&fakeControl{}, fakeNames{hop1: "r1\x1b[2J.lab.test"}, Options{DNS: true, AS: fakeAS{}, Now: time.Now})
	render(t, u, p.Snapshot(), 100, 30)
	press(u, "<Enter>")
	_, got := render(t, u, p.Snapshot(), 100, 30)
	want := map[int]string{
		6: "  198.18.0.2              1 100.0%  r1[2J.lab.test  AS64501",
		7: "      [MPLS: Lbl 24001 TC 0 S 0 TTL 1]",
		8: "      [MPLS: Lbl 16 TC 5 S 1 TTL 1]",
	}
	for y, w := range want {
		if got[y] != w {
			t.Errorf("hop 1, row %d:\n got %q\nwant %q", y, got[y], w)
		}
	}
	press(u, "<Down>")
	_, got = render(t, u, p.Snapshot(), 100, 30)
	if got[4] != "Error: no route to host" {
		t.Errorf("hop 2, row 4: %q", got[4])
	}
}

// TestHopDetailsHidden: with hops hidden (--privacy), a hidden hop's details show "(hidden)",
// never its address or its name.
func TestHopDetailsHidden(t *testing.T) {
	u := testUI(&fakeControl{}, Options{DNS: true, Privacy: 1})
	render(t, u, path(8), 100, 30)
	press(u, "<Down>", "<Enter>")
	_, got := render(t, u, path(8), 100, 30)
	screen := strings.Join(got, "\n")
	if got[2] != "Hop 1   Enter or Esc: back to the table; arrows: the other hops" || !strings.Contains(got[6], "(hidden)") {
		t.Errorf("hidden hop's details:\n%s", screen)
	}
	if strings.Contains(screen, "198.18.0.2") || strings.Contains(screen, "r1.lab.test") {
		t.Errorf("the hidden hop's address or name shows:\n%s", screen)
	}
}
