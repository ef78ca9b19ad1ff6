package app

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/stats"
)

func TestEveryModeHasAView(t *testing.T) {
	for m := cli.ModeDefault; m <= cli.ModeHTML; m++ {
		if views[m] == nil {
			t.Errorf("mode %d has no view", m)
		}
	}
}

func TestWarnUnsentNamesTheHopsAndReason(t *testing.T) {
	p := stats.NewPath(netip.MustParseAddr("198.18.9.9"), 1, 30)
	for ttl := 1; ttl <= 4; ttl++ {
		p.Sent(ttl, uint16(ttl))
		p.Reply(ttl, uint16(ttl), netip.AddrFrom4([4]byte{198, 18, byte(ttl), 2}), time.Millisecond, "")
	}
	p.SendFailed(2, 12, "no route to host")
	p.SendFailed(3, 13, "no route to host")
	p.SendFailed(4, 14, "operation not permitted")
	var b strings.Builder
	warnUnsent(&b, p.Snapshot())
	want := "mtr-go: probes could not be sent (hops 2, 3): no route to host\n" +
		"mtr-go: probes could not be sent (hop 4): operation not permitted\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	q := stats.NewPath(netip.MustParseAddr("198.18.9.9"), 1, 30)
	q.Sent(1, 1)
	warnUnsent(&b, q.Snapshot())
	if b.Len() != 0 {
		t.Errorf("a path without send errors warned: %q", b.String())
	}
}
