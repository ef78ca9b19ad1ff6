package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// unsafeText finds what could act on a terminal or a reader of a file: a control character other
// than newline and tab (raw, or as UTF-8 C1), DEL, or the same written as an escape that a
// later decoder (JSON, HTML, XML) turns back into one.
var unsafeText = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f]|\u0080|\u009b|\u009d|" +
	`\\u00[01][0-9a-fA-F]|\\u007[fF]|\\u009[0-9a-fA-F]|&#(x0*1[bB]|0*27|x0*7|0*7|x0*9[bB]|0*155);`)

// TestLabUntrustedNamesAreInert: the lab's DNS serves hop 1 a PTR name and an AS name full of
// terminal escape sequences and control characters (netlab.HostilePTR, HostileASName). No
// output format, and not the live view, lets one of them through: nothing clears the screen or
// sets the terminal's title, and every format still shows the path.
func TestLabUntrustedNamesAreInert(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 3, DNS: true, HostileNames: true})
	target := lab.Target4.String()
	// The records are there, byte for byte: the AS name as a TXT record, and a PTR record that
	// Go's resolver refuses to pass on as a host name.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if txt, err := lab.Resolver().LookupTXT(ctx, fmt.Sprintf("AS%d.asn.cymru.com", lab.AS[lab.Hops4[0]])); err != nil || len(txt) != 1 || !strings.HasSuffix(txt[0], netlab.HostileASName) {
		t.Fatalf("hostile AS record: %q, %v", txt, err)
	}
	if names, err := lab.Resolver().LookupAddr(ctx, lab.Hops4[0].String()); err == nil || !strings.Contains(err.Error(), "invalid names") {
		t.Fatalf("hostile PTR record: %q, %v", names, err)
	}
	base := []string{"-c", "2", "-i", "0.2", "-z"}
	for _, f := range [][]string{
		{"-r", "--analyze"}, {"-r", "-w", "-b", "--analyze"}, {"-j", "--analyze"}, {"-x", "--analyze"}, {"-C"},
		{"--markdown", "--analyze"}, {"--html", "--analyze"}, {"-p"}, {"-l"},
	} {
		t.Run(strings.Join(f, " "), func(t *testing.T) {
			args := append(append(append([]string{}, f...), base...), target)
			out, errOut, err := runErr(lab, binary(t), args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", args, err, errOut)
			}
			for name, text := range map[string]string{"stdout": out, "stderr": errOut} {
				if m := unsafeText.FindStringIndex(text); m != nil {
					t.Errorf("%s holds %q at byte %d:\n%s", name, text[m[0]:m[1]], m[0], text)
				}
			}
			// The path is still shown: hop 2's name arrived from the same server.
			if f[0] != "-l" && f[0] != "-p" && !strings.Contains(out, lab.Names[lab.Hops4[1]]) {
				t.Errorf("no %s in the output:\n%s", lab.Names[lab.Hops4[1]], out)
			}
		})
	}

	t.Run("live view", func(t *testing.T) {
		p := newPane(t, fmt.Sprintf("ip netns exec %s %s -i 0.2 %s; sleep 600", lab.Client, binary(t), target))
		s := p.waitScreen("hop 2's name and the target", func(s string) bool {
			return strings.Contains(s, lab.Names[lab.Hops4[1]]) && strings.Contains(s, "dest.lab.test")
		})
		s = p.sntRises("with hop 1 named by a hostile record", s)
		if title := strings.TrimSpace(p.tmux("display-message", "-p", "#{pane_title}")); strings.Contains(title, "pwned") {
			t.Errorf("the terminal's title was set to %q", title)
		}
		if !strings.Contains(s, "My traceroute") {
			t.Errorf("the screen lost its header:\n%s", s)
		}
		if m := unsafeText.FindString(p.tmux("capture-pane", "-p", "-e")); m != "" && !strings.HasPrefix(m, "\x1b") {
			t.Errorf("screen holds %q", m)
		}
	})
}
