package report

import (
	"bufio"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Reverse is the far end's trace back to this host (--reverse), which every writer prints after
// the forward one. Its text comes from the network (the responder's name and error), so writers
// escape it as they escape host names.
type Reverse struct {
	Responder string     // where it ran from, as the responder names itself
	Target    netip.Addr // the address it traced to: this host as the responder sees it (a NAT's address behind one)
	// Local is this host's own address on the connection to the responder; one that differs
	// from Target means a NAT in front of this host, which the heading says. Zero: not known.
	Local    netip.Addr
	Snapshot stats.Snapshot
	Names    Names // reverse names of the return path's addresses; nil: none
	// Err says in one line why the reverse trace is missing or stopped early; with hops already
	// in Snapshot the table is printed too.
	Err string
	// Analysis is the return direction's findings (--analyze), nil without.
	Analysis *analyze.Analysis
}

// hasTable reports whether there is a reverse table to print: the responder answered at least
// once.
func (r *Reverse) hasTable() bool { return r.Target.IsValid() }

// responder and reason are the responder's name and the error without control characters: they
// came from the network, and no format has a use for them.
func (r *Reverse) responder() string { return vocab.StripControl(r.Responder) }
func (r *Reverse) reason() string    { return vocab.StripControl(r.Err) }

// heading is the line above the reverse table: the user learns where it ran from and their own
// address as the far end sees it.
func (r *Reverse) heading() string {
	return fmt.Sprintf("Reverse: from %s to %s %s", r.responder(), r.Target, reverse.TargetNote(r.Target, r.Local))
}

// errLine is the one line that says why the reverse part is missing or short.
func (r *Reverse) errLine() string { return "Reverse: " + r.reason() }

// hostName is the responder's name for the HOST: column, without the address a responder adds
// in parentheses ("far.example.net (192.0.2.7)"): the heading has it, and the column cuts at
// 25 characters.
func (r *Reverse) hostName() string {
	name := r.responder()
	if i := strings.LastIndex(name, " ("); i > 0 && strings.HasSuffix(name, ")") {
		if _, err := netip.ParseAddr(name[i+2 : len(name)-1]); err == nil {
			return name[:i]
		}
	}
	return name
}

// reverseOptions are the options of the reverse table: the forward's layout, the responder in
// the HOST: column, and no analysis of its own (the caller prints both directions' together).
func reverseOptions(o Options) Options {
	o.LocalHost = o.Reverse.hostName()
	o.Analysis, o.Reverse, o.Joint = nil, nil, nil
	return o
}

// writeTextReverse prints the reverse heading and table, or the line saying why there is none.
func writeTextReverse(bw *bufio.Writer, o Options) error {
	r := o.Reverse
	bw.WriteString("\n")
	if r.hasTable() {
		bw.WriteString(r.heading())
		bw.WriteString("\n")
		if err := textTable(bw, r.Snapshot, r.Names, reverseOptions(o)); err != nil {
			return err
		}
	}
	if r.Err != "" {
		bw.WriteString(r.errLine())
		bw.WriteString("\n")
	}
	return nil
}

// writeTextAnalyses prints the analysis of each direction, labelled, then the joint conclusion.
func writeTextAnalyses(bw *bufio.Writer, o Options) {
	if o.Analysis == nil {
		return
	}
	if o.Reverse == nil {
		writeTextAnalysis(bw, "Analysis", o.Analysis)
		return
	}
	writeTextAnalysis(bw, "Analysis, forward", o.Analysis)
	if o.Reverse.Analysis != nil {
		writeTextAnalysis(bw, "Analysis, return", o.Reverse.Analysis)
	}
	if len(o.Joint) > 0 {
		// The lines name themselves ("Both directions: ..."): no heading of ours.
		bw.WriteString("\n")
		for _, l := range o.Joint {
			bw.WriteString(vocab.StripControl(l))
			bw.WriteString("\n")
		}
	}
}
