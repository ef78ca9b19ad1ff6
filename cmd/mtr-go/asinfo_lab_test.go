package main

// Lab tests of -z/-y: the lab's dnsmasq answers Team Cymru's TXT queries, and mtr-go's report,
// JSON and CSV must show each hop's AS and IP information as mtr 0.95 does on the same path.

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// ipinfoRowRE is a report row with -y/-z: " 1. AS64501  198.18.0.2   0.0% ...".
var ipinfoRowRE = regexp.MustCompile(`^ *(\d+)\. (\S+) +(\S+) +[\d.]+%`)

// ipinfoRows returns each row's hop field and line, and fails on any other line of a report.
func ipinfoRows(t *testing.T, out string) (fields, lines []string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "Start: "), strings.HasPrefix(l, "HOST: "):
			lines = append(lines, l)
		case ipinfoRowRE.MatchString(l):
			fields = append(fields, ipinfoRowRE.FindStringSubmatch(l)[2])
			lines = append(lines, l)
		default:
			t.Fatalf("unexpected report line %q in:\n%s", l, out)
		}
	}
	return fields, lines
}

func TestLabASLookupMatchesMtr(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 4, DNS: true})
	for _, fam := range []struct {
		name string
		hops []netip.Addr
		ys   []string
	}{
		{"IPv4", lab.Hops4, []string{"-z", "-y 1", "-y 2", "-y 3", "-y 4", "-z -w"}},
		{"IPv6", lab.Hops6, []string{"-z", "-y 1"}},
	} {
		for _, y := range fam.ys {
			t.Run(fam.name+" "+y, func(t *testing.T) {
				args := append([]string{"-r", "-c", "2", "-i", "0.2", "-G", "0.5"}, strings.Fields(y)...)
				if !strings.Contains(y, "-w") {
					args = append(args, "-n")
				}
				args = append(args, fam.hops[len(fam.hops)-1].String())
				got, gotLines := ipinfoRows(t, run(t, lab, binary(t), args...))
				want := make([]string, len(fam.hops))
				for i, a := range fam.hops {
					asn := lab.AS[a]
					bits := 24
					if a.Is6() {
						bits = 64
					}
					want[i] = map[string]string{
						"-z":   fmt.Sprintf("AS%d", asn),
						"-y 1": netip.PrefixFrom(a, bits).Masked().String(),
						"-y 2": "ZZ", "-y 3": "other", "-y 4": "2026-01-01",
						"-z -w": fmt.Sprintf("AS%d", asn),
					}[y]
				}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Fatalf("mtr-go %v shows %v, want %v\n%s", args, got, want, strings.Join(gotLines, "\n"))
				}
				mtr, mtrLines := ipinfoRows(t, run(t, lab, "mtr", args...))
				if strings.Join(mtr, " ") != strings.Join(got, " ") {
					t.Errorf("mtr shows %v, mtr-go %v", mtr, got)
				}
				// Same columns as mtr on every line (Start: aside).
				for i := 1; i < min(len(mtrLines), len(gotLines)); i++ {
					if a, b := fieldEnds(mtrLines[i]), fieldEnds(gotLines[i]); a != b {
						t.Errorf("line %d columns differ:\nmtr:    %q\nmtr-go: %q", i, mtrLines[i], gotLines[i])
					}
				}
			})
		}
	}
	t.Run("JSON and CSV", func(t *testing.T) {
		asnRE := regexp.MustCompile(`"ASN": "([^"]*)"`)
		for _, fmtArg := range []string{"-j", "-C"} {
			args := []string{fmtArg, "-z", "-n", "-c", "2", "-i", "0.2", "-G", "0.5", lab.Target4.String()}
			var got, mtr []string
			for who, dst := range map[string]*[]string{binary(t): &got, "mtr": &mtr} {
				out := run(t, lab, who, args...)
				if fmtArg == "-j" {
					for _, m := range asnRE.FindAllStringSubmatch(out, -1) {
						*dst = append(*dst, m[1])
					}
					continue
				}
				for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
					c := strings.Split(l, ",")
					if len(c) < 7 || i == 0 && c[6] != "Asn" {
						t.Fatalf("%s CSV line %q", who, l)
					}
					if i > 0 {
						*dst = append(*dst, c[6])
					}
				}
			}
			if len(got) != len(lab.Hops4) || strings.Join(got, " ") != strings.Join(mtr, " ") {
				t.Errorf("%s: mtr-go's ASNs %v, mtr's %v", fmtArg, got, mtr)
			}
		}
	})
}

func TestLabAnalyzeNamesTheAS(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 5, DNS: true, LossFrom: 3, LossPercent: 30})
	out := run(t, lab, binary(t), "-r", "-z", "--analyze", "-n", "-c", "30", "-i", "0.1", "-G", "0.5", lab.Target4.String())
	_, rest, _ := strings.Cut(out, "\nAnalysis:\n")
	// What is checked is whom the finding names; whether 30 probes settle where the loss starts
	// is up to chance (a hop at the start losing under half the end's rate leaves it open: CI
	// met hop 3 at 13.3 % against 33.3 %), so the head is matched without its settledness.
	for _, want := range []string{"[loss-starts, hops 3-6", "Contact: the carrier that runs 198.18.2.2, AS64503 (LAB-CARRIER-3)"} {
		if !strings.Contains(rest, want) {
			t.Errorf("analysis lacks %q:\n%s", want, out)
		}
	}
}

// The live view's z and y keys turn AS and IP information on without -z, as in mtr, and the
// final table keeps what was shown.
func TestLabLiveUIASKeys(t *testing.T) {
	lab := netlab.New(t, netlab.Spec{Routers: 3, DNS: true})
	target := lab.Target4.String()
	p := newPane(t, fmt.Sprintf("ip netns exec %s %s -n -i 0.2 %s; echo mtr-go-exit=$?; sleep 600", lab.Client, binary(t), target))
	p.waitScreen("all 4 hops", func(s string) bool { return len(liveHops(s)) == 4 })
	row := regexp.MustCompile(`(?m)^ *(\d+)\. (\S+) +(\S+) +[\d.]+% `)
	fieldsShown := func(s string) []string {
		var out []string
		for _, m := range row.FindAllStringSubmatch(s, -1) {
			out = append(out, m[2]+" "+m[3])
		}
		return out
	}
	var wantAS, wantPrefix []string
	for _, a := range lab.Hops4 {
		wantAS = append(wantAS, fmt.Sprintf("AS%d %s", lab.AS[a], a))
		wantPrefix = append(wantPrefix, fmt.Sprintf("%s %s", netip.PrefixFrom(a, 24).Masked(), a))
	}
	p.keys("z")
	p.waitScreen("AS numbers", func(s string) bool { return strings.Join(fieldsShown(s), ",") == strings.Join(wantAS, ",") })
	p.keys("y")
	p.waitScreen("prefixes", func(s string) bool { return strings.Join(fieldsShown(s), ",") == strings.Join(wantPrefix, ",") })
	p.keys("q")
	s := p.waitScreen("the final table", func(s string) bool { return strings.Contains(s, "mtr-go-exit=") })
	if !strings.Contains(s, "mtr-go-exit=0") {
		t.Fatalf("after q:\n%s", s)
	}
	final := regexp.MustCompile(`(?m)^ +\d+\. (\S+) +198\.18\.`).FindAllStringSubmatch(s[strings.Index(s, "HOST: "):], -1)
	if len(final) != 4 || final[0][1] != "198.18.0.0/24" {
		t.Errorf("final table does not keep the prefixes:\n%s", s)
	}
}
