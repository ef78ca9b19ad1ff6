package main

// mtr 0.96's additions and the hop details, on a lab path: the real binary in tmux, and -s -N
// read off the wire.

import (
	byteorder "encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// detailSent reads "Sent N" off the hop details.
var detailSent = regexp.MustCompile(`(?m)^Sent (\d+)  Received (\d+)`)

func TestLabLiveUIBrailleCompactDetails(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 3})
	target := lab.Target4.String()
	p := newPane(t, fmt.Sprintf("ip netns exec %s %s -n -i 0.2 --displaymode 3 %s; echo mtr-go-exit=$?; sleep 600", lab.Client, binary(t), target))

	// Display mode 3 from the command line: braille cells and their legend.
	p.waitScreen("the braille graph", func(s string) bool {
		return strings.Contains(s, "2 per cell") && strings.Contains(s, "Scale:") && strings.ContainsAny(s, "⣀⣤⣶⣿") &&
			strings.Contains(s, "⠉:no answer")
	})
	p.keys("d")
	p.waitScreen("the table", func(s string) bool { return len(liveHops(s)) == 4 })

	// c: no key line, no "Packets Pings" row, the hops two rows higher; Snt keeps rising.
	p.keys("c")
	s := p.waitScreen("compact mode", func(s string) bool {
		return !strings.Contains(s, "Keys:") && !strings.Contains(s, "Packets") && len(liveHops(s)) == 4
	})
	if rows := strings.Split(s, "\n"); len(rows) < 4 || !strings.HasPrefix(rows[3], "  1. ") && !strings.HasPrefix(rows[3], " 1. ") {
		t.Errorf("compact: hop 1 is not on row 3:\n%s", s)
	}
	p.sntRises("in compact mode", s)

	// Down Down Enter: hop 2's details, updating while probes go on; Esc back to the table.
	p.keys("Down", "Down", "Enter")
	s = p.waitScreen("hop 2's details", func(s string) bool {
		return strings.Contains(s, "Hop 2   Enter or Esc") && strings.Contains(s, lab.Hops4[1].String()) &&
			strings.Contains(s, "100.0%") && strings.Contains(s, "RTTs of the last")
	})
	m := detailSent.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no Sent line:\n%s", s)
	}
	was, _ := strconv.Atoi(m[1])
	p.waitScreen(fmt.Sprintf("Sent rising above %d in the details", was), func(s string) bool {
		m := detailSent.FindStringSubmatch(s)
		n := 0
		if m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		return n > was
	})
	p.keys("Escape")
	s = p.waitScreen("the table again", func(s string) bool { return len(liveHops(s)) == 4 && !strings.Contains(s, "Answered by") })
	p.sntRises("after the details", s)
	p.keys("q")
	p.waitScreen("exit code 0", func(s string) bool { return strings.Contains(s, "mtr-go-exit=0") })
}

// -s -120: every echo request leaves with its own size, from 28 to 120 bytes, and the report is
// whole. The sizes are read from the IPv4 total length of the captured probes.
func TestLabRandomSize(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 2})
	c, err := lab.Capture()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := run(t, lab, binary(t), "-r", "-n", "-c", "10", "-i", "0.1", "-s", "-120", lab.Target4.String())
	pkts, err := c.Take()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "|-- "+lab.Target4.String()) {
		t.Errorf("report lacks the target:\n%s", out)
	}
	sizes := map[int]int{}
	for _, p := range pkts {
		// Outgoing IPv4 ICMP echo requests only.
		if !p.Out || len(p.Data) < 28 || p.Data[0]>>4 != 4 || p.Data[9] != 1 || p.Data[20] != 8 {
			continue
		}
		n := int(byteorder.BigEndian.Uint16(p.Data[2:4]))
		if n < 28 || n > 120 {
			t.Errorf("echo request of %d bytes; want 28 to 120", n)
		}
		sizes[n]++
	}
	// At least 30 probes (10 rounds, 4 hops): all of one size would be a (93 sizes)^-29 chance.
	if len(sizes) < 5 {
		t.Errorf("echo request sizes %v: want many different ones", sizes)
	}
}
