// Package savedreport reads path reports that someone else ran — mtr's text, JSON, CSV and XML
// reports, its split (-p) and raw (-l) streams, WinMTR's text and HTML exports, and mtr-go's own
// formats — into per-hop summaries the analysis can read. A report holds only summaries (Loss%, Snt, Avg, Best, Wrst, StDev, maybe
// Rcv), so Report.Input says what each format lacks instead of guessing it.
//
// Everything in a report is untrusted: names are stripped of control characters and cut to a DNS
// name's length, numbers are range-checked, and a line that does not fit its format is an error
// naming that line.
package savedreport

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// Format names a report's format.
type Format string

// The formats Parse knows.
const (
	MtrText    Format = "mtr text report"
	MtrJSON    Format = "mtr JSON"
	MtrCSV     Format = "mtr CSV"
	MtrXML     Format = "mtr XML"
	WinMTRText Format = "WinMTR text"
	WinMTRHTML Format = "WinMTR HTML"
	MtrSplit   Format = "mtr split stream (-p)"
	MtrRaw     Format = "mtr raw stream (-l)"
)

// Row is one hop of a report.
type Row struct {
	TTL   int
	Hosts []string // the names or addresses that answered, the one the row names first; none for "???"
	Sent  int
	Recv  int
	// RecvExact is false when Recv was worked out from a rounded Loss% and Snt and more than
	// one count fits them.
	RecvExact bool
	// Latency in ms; HasLatency is false when the format has no Avg column.
	Last, Avg, Best, Wrst, StDev float64
	// ASN is the origin AS of the first host (mtr -z), 0 when unknown ("AS???") or not shown.
	ASN uint32
}

// Report is a parsed report.
type Report struct {
	Format Format
	Target string // the destination as the report names it; "" when it does not
	Rows   []Row
	// What the format has, for the notes on what the analysis cannot see.
	HasLatency, HasStDev bool
	HasRange             bool    // Best and Wrst
	Resolution           float64 // of the latency figures, ms (0.1 for mtr's text, 1 for WinMTR)
}

// MaxInput bounds what Parse reads: a report of 255 hops is a few tens of kilobytes.
const MaxInput = 4 << 20

// maxHosts bounds the addresses one hop may list.
const maxHosts = 64

// Parse detects the format of data and reads it.
func Parse(data []byte) (*Report, error) {
	if len(data) > MaxInput {
		return nil, fmt.Errorf("the report is larger than %d MiB; no report of a path is", MaxInput>>20)
	}
	s := strings.TrimLeft(string(data), "\ufeff \t\r\n")
	var r *Report
	var err error
	switch {
	case s == "":
		return nil, errors.New("the report is empty")
	case strings.HasPrefix(s, "{"):
		r, err = parseJSON([]byte(s))
	case strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "<MTR"):
		r, err = parseXML([]byte(s))
	case strings.HasPrefix(s, "Mtr_Version,"):
		r, err = parseCSV(s)
	case strings.HasPrefix(s, "### mtr-go report"):
		r, err = parseMarkdown(s)
	case strings.Contains(s, `<table id="report">`):
		r, err = parseMtrGoHTML(s)
	case strings.Contains(s, "WinMTR statistics") && strings.Contains(strings.ToLower(s), "<table"):
		r, err = parseWinHTML(s)
	case strings.Contains(s, "WinMTR statistics"):
		r, err = parseWinText(s)
	case rawLineRE.MatchString(firstLine(s)):
		r, err = parseRaw(s)
	case splitLineRE.MatchString(firstLine(s)) || splitDeleteRE.MatchString(firstLine(s)):
		r, err = parseSplit(s)
	default:
		r, err = parseText(s)
	}
	if err != nil {
		return nil, err
	}
	if len(r.Rows) == 0 {
		return nil, fmt.Errorf("%s: no hops in the report", r.Format)
	}
	return r, nil
}

// lineErr is the one-line error for line n (1-based) of the input.
func lineErr(f Format, n int, format string, a ...any) error {
	return fmt.Errorf("%s, line %d: %s", f, n, fmt.Sprintf(format, a...))
}

// cleanName makes report text safe to print: no control or format characters (which could move
// a terminal's cursor or reorder text), and no longer than a DNS name.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 253 {
		s = s[:253]
		for !utf8Valid(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\x00") == s }

// checkRow range-checks a parsed row, so no later arithmetic sees NaN, negative counts or an
// impossible loss.
func checkRow(r *Row) error {
	if r.TTL < 1 || r.TTL > 255 {
		return fmt.Errorf("hop number %d is outside 1-255", r.TTL)
	}
	if r.Sent < 0 || r.Sent > 1e9 || r.Recv < 0 || r.Recv > r.Sent {
		return fmt.Errorf("counts sent %d, received %d are impossible", r.Sent, r.Recv)
	}
	for _, v := range []float64{r.Last, r.Avg, r.Best, r.Wrst, r.StDev} {
		if math.IsNaN(v) || v < 0 || v > 1e7 {
			return fmt.Errorf("latency %g ms is impossible", v)
		}
	}
	return nil
}

// recvFromLoss is the answer count that Loss% (rounded to step percent) gives for sent probes,
// and whether no other count rounds to the same Loss%.
func recvFromLoss(loss float64, sent int, step float64) (int, bool, error) {
	if math.IsNaN(loss) || loss < 0 || loss > 100 {
		return 0, false, fmt.Errorf("loss %g%% is outside 0-100", loss)
	}
	if sent == 0 {
		return 0, true, nil
	}
	lost := int(math.Round(loss * float64(sent) / 100))
	// Counts one apart differ by 100/sent percent; when that is more than the rounding step,
	// only one count rounds to the printed value.
	return sent - lost, 100/float64(sent) > step, nil
}

// addHosts adds the row's named hosts, skipping "???" (no answer) and duplicates.
func addHosts(r *Row, names ...string) {
	for _, n := range names {
		n = cleanName(n)
		if n == "" || n == "???" || strings.HasPrefix(n, "No response from host") || len(r.Hosts) >= maxHosts {
			continue
		}
		dup := false
		for _, h := range r.Hosts {
			dup = dup || h == n
		}
		if !dup {
			r.Hosts = append(r.Hosts, n)
		}
	}
}

// splitHostIP splits mtr -b's "name (address)" and WinMTR's "name [address]" into the address
// when there is one, else the name.
func splitHostIP(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range [][2]string{{"(", ")"}, {"[", "]"}} {
		if i := strings.LastIndex(s, " "+p[0]); i > 0 && strings.HasSuffix(s, p[1]) {
			if a, err := netip.ParseAddr(s[i+2 : len(s)-1]); err == nil {
				return a.String()
			}
		}
	}
	return s
}

// parseASN reads mtr -z's "AS64500"; "AS???" and anything else is unknown.
func parseASN(s string) uint32 {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(s), "AS"), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}
