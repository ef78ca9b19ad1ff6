package savedreport

import (
	"maps"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Both stream formats have no header, so they are told by the shape of their first line.
var (
	rawLineRE     = regexp.MustCompile(`^[xhpdm] \d{1,3} \S`)
	splitLineRE   = regexp.MustCompile(`^\d{1,3} \S+( \S+)? \d+ \d+ \d+ \d+ \d+ \d+$`)
	splitDeleteRE = regexp.MustCompile(`^-\d{1,3}$`)
)

// firstLine is the first line of s that is not blank.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimRight(line, " \t\r")
}

// maxStreamHop bounds the hops a stream may name: mtr's -m is at most 255.
const maxStreamHop = 255

// atoiRange reads a decimal integer in [lo, hi]; signs and spaces are refused.
func atoiRange(s string, lo, hi int64) (int64, bool) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v >= lo && v <= hi
}

// parseSplit reads mtr's split protocol (-p) and mtr-go's: one line per change of a hop,
//
//	<hop> <host> [<ip>] <loss×1000> <rcv> <snt> <best ms> <avg ms> <worst ms>
//
// and "-<hop>" when a hop left the path. Each hop's counts are cumulative, so its last line is
// its summary. Times are whole milliseconds, truncated; there is no StDev.
func parseSplit(s string) (*Report, error) {
	r := &Report{Format: MtrSplit, HasLatency: true, HasRange: true, Resolution: 1}
	last := map[int]Row{}
	for n, raw := range strings.Split(s, "\n") {
		ln := n + 1
		t := strings.TrimRight(raw, " \t\r")
		if t == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(t, "-"); ok {
			hop, ok := atoiRange(rest, 1, maxStreamHop)
			if !ok {
				return nil, lineErr(r.Format, ln, "%q is not a hop to delete (\"-N\", N 1-255)", cleanName(t))
			}
			delete(last, int(hop))
			continue
		}
		f := strings.Split(t, " ")
		if len(f) != 8 && len(f) != 9 {
			return nil, lineErr(r.Format, ln, "%d fields, want 8 (9 with -b) (truncated?)", len(f))
		}
		hop, ok := atoiRange(f[0], 1, maxStreamHop)
		if !ok {
			return nil, lineErr(r.Format, ln, "hop %q is not a number 1-255", cleanName(f[0]))
		}
		host := f[1]
		if len(f) == 9 {
			// -b: the name, then the address.
			a, err := netip.ParseAddr(f[2])
			if err != nil {
				return nil, lineErr(r.Format, ln, "%q is not an address", cleanName(f[2]))
			}
			host = a.String()
		}
		v := make([]int64, 6)
		for i, x := range f[len(f)-6:] {
			lim := int64(1e7) // ms, as checkRow bounds them
			switch i {
			case 0:
				lim = 100000
			case 1, 2:
				lim = 1e9
			}
			if v[i], ok = atoiRange(x, 0, lim); !ok {
				return nil, lineErr(r.Format, ln, "%q is not a number 0-%d", cleanName(x), lim)
			}
		}
		row := Row{TTL: int(hop), Recv: int(v[1]), Sent: int(v[2]), RecvExact: true,
			Best: float64(v[3]), Avg: float64(v[4]), Wrst: float64(v[5])}
		row.Last = row.Avg // not in the protocol; nothing reads it for a saved report
		if row.Recv == 0 || row.Best > row.Avg || row.Avg > row.Wrst {
			return nil, lineErr(r.Format, ln, "best %d, avg %d, worst %d ms with %d answers are impossible", v[3], v[4], v[5], row.Recv)
		}
		addHosts(&row, host)
		if len(row.Hosts) == 0 {
			return nil, lineErr(r.Format, ln, "a hop line without a host")
		}
		if err := checkRow(&row); err != nil {
			return nil, lineErr(r.Format, ln, "%v", err)
		}
		last[row.TTL] = row
	}
	for _, ttl := range slices.Sorted(maps.Keys(last)) {
		r.Rows = append(r.Rows, last[ttl])
	}
	return r, nil
}

// rawHop gathers one hop's events.
type rawHop struct {
	sent, recv int
	hosts      []string // in order of first sight
	latest     string
	rtts       []float64 // ms, in answer order
}

// maxRawEvents bounds the probes a raw stream may hold, so the RTTs kept stay small: MaxInput
// allows about 400 000 lines anyway.
const maxRawEvents = 1 << 20

// parseRaw reads mtr's raw event stream (-l) and mtr-go's: "x hop seq" a probe sent, "h hop ip"
// a responder, "d hop name" its name, "p hop µs seq" an answer, "m hop label tc s ttl" an MPLS
// label; hops are 0-based. The per-hop counts and moments are worked out from the events, so
// they are exact, unlike any summary format's.
func parseRaw(s string) (*Report, error) {
	r := &Report{Format: MtrRaw, HasLatency: true, HasStDev: true, HasRange: true, Resolution: 0.001}
	hops := make([]rawHop, maxStreamHop)
	pending := map[int64]int{} // probe seq → hop, until answered
	sentAt := map[int64]int{}  // probe seq → the line it was sent on
	lastAnswer := 0            // the line of the last answer
	events := 0
	for n, raw := range strings.Split(s, "\n") {
		ln := n + 1
		t := strings.TrimRight(raw, " \t\r")
		if t == "" {
			continue
		}
		if events++; events > maxRawEvents {
			return nil, lineErr(r.Format, ln, "more than %d events; no run of a path needs that many", maxRawEvents)
		}
		f := strings.Split(t, " ")
		want := map[string]int{"x": 3, "h": 3, "d": 3, "p": 4, "m": 6}[f[0]]
		if want == 0 {
			return nil, lineErr(r.Format, ln, "unknown event %q (want x, h, d, p or m)", cleanName(f[0]))
		}
		if f[0] == "d" && len(f) > 3 {
			// A name cannot hold a space, but be exact about what is wrong.
			return nil, lineErr(r.Format, ln, "a name with spaces")
		}
		if len(f) != want {
			return nil, lineErr(r.Format, ln, "%d fields for a %q event, want %d (truncated?)", len(f), f[0], want)
		}
		hop, ok := atoiRange(f[1], 0, maxStreamHop-1)
		if !ok {
			return nil, lineErr(r.Format, ln, "hop %q is not a number 0-254", cleanName(f[1]))
		}
		h := &hops[hop]
		switch f[0] {
		case "x":
			seq, ok := atoiRange(f[2], 0, 65535)
			if !ok {
				return nil, lineErr(r.Format, ln, "probe %q is not a number 0-65535", cleanName(f[2]))
			}
			// A seq sent again has wrapped (mtr's tokens run 33000…65535): the older probe,
			// if unanswered, is lost.
			pending[seq] = int(hop)
			sentAt[seq] = ln
			h.sent++
		case "h":
			a, err := netip.ParseAddr(f[2])
			if err != nil {
				return nil, lineErr(r.Format, ln, "%q is not an address", cleanName(f[2]))
			}
			h.latest = a.String()
			if !slices.Contains(h.hosts, h.latest) && len(h.hosts) < maxHosts {
				h.hosts = append(h.hosts, h.latest)
			}
		case "d":
			if cleanName(f[2]) == "" {
				return nil, lineErr(r.Format, ln, "an empty name")
			}
		case "m":
			for i, lim := range []int64{1<<20 - 1, 7, 1, 255} {
				if _, ok := atoiRange(f[2+i], 0, lim); !ok {
					return nil, lineErr(r.Format, ln, "MPLS field %q is not a number 0-%d", cleanName(f[2+i]), lim)
				}
			}
		case "p":
			us, ok := atoiRange(f[2], 0, 1e10)
			if !ok {
				return nil, lineErr(r.Format, ln, "round-trip time %q is not a number of µs 0-1e10", cleanName(f[2]))
			}
			seq, ok := atoiRange(f[3], 0, 65535)
			if !ok {
				return nil, lineErr(r.Format, ln, "probe %q is not a number 0-65535", cleanName(f[3]))
			}
			sentTo, ok := pending[seq]
			switch {
			case !ok:
				return nil, lineErr(r.Format, ln, "an answer to probe %d, which was not sent or was answered already", seq)
			case sentTo != int(hop):
				return nil, lineErr(r.Format, ln, "an answer at hop %d to probe %d, sent to hop %d", hop, seq, sentTo)
			case h.latest == "":
				return nil, lineErr(r.Format, ln, "an answer at hop %d before an \"h\" line names who answered", hop)
			}
			delete(pending, seq)
			lastAnswer = ln
			h.recv++
			h.rtts = append(h.rtts, float64(us)/1000)
		}
	}
	// Probes sent after the stream's last answer were still in flight when it ended (a run cut
	// short, as by Ctrl-C): like mtr, they are not counted as lost.
	for seq, hop := range pending {
		if sentAt[seq] > lastAnswer {
			hops[hop].sent--
		}
	}
	last := -1 // the last hop that answered
	for i := range hops {
		if hops[i].recv > 0 {
			last = i
		}
	}
	if last < 0 {
		return nil, lineErr(r.Format, 1, "no probe was answered")
	}
	end := cutRaw(hops, last, r)
	for i := range end + 1 {
		h := &hops[i]
		if h.sent == 0 && i < last {
			continue // before -f's first hop, or a hop the stream never probed
		}
		if h.sent == 0 {
			break
		}
		row := Row{TTL: i + 1, Sent: h.sent, Recv: h.recv, RecvExact: true}
		if h.recv > 0 {
			// The latest responder first, as the other formats name it.
			addHosts(&row, h.latest)
			addHosts(&row, h.hosts...)
			row.Avg, row.StDev = meanStDev(h.rtts)
			row.Best, row.Wrst = slices.Min(h.rtts), slices.Max(h.rtts)
			row.Last = h.rtts[len(h.rtts)-1]
		}
		if err := checkRow(&row); err != nil {
			return nil, lineErr(r.Format, 1, "hop %d: %v", row.TTL, err)
		}
		r.Rows = append(r.Rows, row)
	}
	return r, nil
}

// cutRaw is the last hop (0-based) to report. The stream goes past the end of the path: mtr's
// first round overshoots the destination by a hop or more, and without an answering destination
// it probes a dozen hops further. When the last answering address answered only hops that came
// after its first sight, and they were probed only in the first round, that address is the
// destination (mtr ends each round there): the hops after its first are cut, and it is the
// target. A router answering "unreachable" is probed every round at every hop after it; it is
// kept for the hop after its own, as mtr's report does, so the shape shows. Past the last answer
// one silent hop probed every round is kept, to show that the answers end there.
func cutRaw(hops []rawHop, last int, r *Report) int {
	a := hops[last].latest
	first := last
	for i := last - 1; i >= 0; i-- {
		if hops[i].recv == 0 {
			continue
		}
		if len(hops[i].hosts) != 1 || hops[i].hosts[0] != a {
			break
		}
		first = i
	}
	if len(hops[last].hosts) != 1 {
		first = last
	}
	if first < last {
		later := 0
		for i := first + 1; i <= last; i++ {
			later = max(later, hops[i].sent)
		}
		if later <= 1 || hops[first].sent > 1 && later*2 <= hops[first].sent {
			r.Target = a
			return first
		}
		return first + 1
	}
	// A silent hop probed in the first round only is that round's overshoot, not a hop that
	// stopped answering.
	if last+1 < len(hops) && hops[last+1].sent > 1 && hops[last+1].sent*2 > hops[last].sent {
		return last + 1
	}
	return last
}

// meanStDev is the mean and sample standard deviation (n-1), as mtr's StDev, by Welford.
func meanStDev(v []float64) (float64, float64) {
	var mean, m2 float64
	for i, x := range v {
		d := x - mean
		mean += d / float64(i+1)
		m2 += d * (x - mean)
	}
	if len(v) < 2 {
		return mean, 0
	}
	return mean, math.Sqrt(m2 / float64(len(v)-1))
}
