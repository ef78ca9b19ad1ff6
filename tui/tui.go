// Package tui is mtr-go's full-screen live view on tcell: mtr's screen, keys and display modes.
// One goroutine owns the screen; it reads statistics snapshots from the scheduler, never blocks
// it, and redraws at most ten times a second and only when something changed.
package tui

import (
	"net/netip"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/asinfo"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Source is the running trace as the UI reads it.
type Source interface {
	Snapshot() stats.Snapshot
	Changed() <-chan struct{} // coalesced "statistics changed" signal
}

// Control is what keys change in the running trace. Every setter validates its value; an error
// is shown to the user and changes nothing.
type Control interface {
	Reset()
	SetPaused(bool)
	SetInterval(time.Duration) error
	TTLRange() (first, max int)
	SetTTLRange(first, max int) error
	SetSize(int) error
	SetPattern(int) error
	SetTOS(int) error
	// Protocol and SetProtocol switch between ICMP, UDP and TCP probes (keys u and t).
	Protocol() vocab.Protocol
	SetProtocol(vocab.Protocol) error
}

// Names gives reverse DNS names without blocking; Updates signals that new names arrived.
type Names interface {
	Name(netip.Addr) string
	Updates() <-chan struct{}
}

// ASLookups gives AS and IP information (-y, -z, keys y and z) without blocking; Updates
// signals that new information arrived.
type ASLookups interface {
	Info(netip.Addr) (asinfo.Info, bool)
	Updates() <-chan struct{}
}

// Options are the run's fixed facts and the initial state of the toggles.
type Options struct {
	Version    string
	LocalHost  string
	Local      netip.Addr // source address of the probes, if known
	TargetName string     // as the user typed it
	Target     netip.Addr

	Fields      string // -o order; "" means vocab.DefaultFields
	DisplayMode int    // 0 table, 1 stripchart, 2 latency-scale chart, 3 braille graph
	DNS         bool   // show reverse names (not -n)
	ShowIPs     bool   // -b
	MPLS        bool   // -e
	MaxPath     int    // -E: addresses shown per hop; 0 means mtr's 8
	NoColor     bool   // NO_COLOR or a terminal without colours
	Interval    time.Duration
	Size        int
	Pattern     int
	TOS         int
	// Analyze opens the analysis pane from the start (--analyze); key a toggles it.
	Analyze bool
	// IPInfo is the -y field shown before each host (asinfo.FieldAS … FieldAllocated), -1 none.
	// It needs AS; without it keys y and z say so.
	IPInfo int
	AS     ASLookups
	// Reverse is the far end's trace back (--reverse), shown under the forward table when both
	// fit and instead of it (key v) when not; nil without --reverse.
	Reverse ReverseSource

	// Privacy hides this host and hops 1..Privacy from the start (--privacy); key # changes it.
	Privacy int
	// Export writes the table for the copy (x) and export (w) keys; nil turns both off.
	Export Exporter
	// Clipboard, when set, takes copies instead of the terminal's OSC 52.
	Clipboard Clipboard
	// Retarget lets key g end the view with Result.Retarget, for the app to trace that host
	// next; History is offered there, newest first.
	Retarget bool
	History  []string
	// Status is the status line's text at the start (why the last g did not work).
	Status string

	// Done, when closed, ends the UI: the run is over (-c rounds done).
	Done <-chan struct{}
	// Now is the clock shown in the title; nil means time.Now.
	Now func() time.Time
	// OnDraw, when set, is called from the UI goroutine after every frame is shown; tests read
	// the screen there, where no other goroutine is drawing.
	OnDraw func(tcell.Screen)
}

// Result is the view's state when the user left, so the final table is printed the way it was
// last shown.
type Result struct {
	Fields  string
	DNS     bool
	ShowIPs bool
	MPLS    bool
	Analyze bool // the analysis pane was open
	IPInfo  int  // -1 none
	Privacy int  // hops hidden (key #)
	// Retarget is the host key g asked for; "" when the view ended otherwise.
	Retarget string
}

// Display modes, in the order `d` cycles through them.
const (
	ModeTable = iota
	ModeStrip
	ModeScale
	ModeBraille
	numModes
)

// ui is the view's state; only the UI goroutine touches it.
type ui struct {
	opt   Options
	ctl   Control
	names Names

	mode    int
	order   string
	fields  []vocab.Field
	dns     bool
	showIPs bool
	mpls    bool  // e: MPLS label stacks under the hops
	compact bool  // c: no key line and no blank rows, so more hops fit
	cursor  int   // TTL of the hop under the cursor (arrows), 0 none
	follow  bool  // the cursor moved: scroll to it in the next frame
	details bool  // Enter: the cursor's hop in detail instead of the table
	ttls    []int // TTLs of the hops of the last frame, for the cursor keys
	ipinfo  int   // y, z: the asinfo field shown before hosts, -1 none
	color   bool
	scroll  int // hops skipped at the top
	paused  bool
	help    bool
	prompt  *prompt
	status  string // one-line answer to the last key, cleared by the next key
	quit    bool
	redraw  bool    // Ctrl-L: repaint every cell
	cv      *canvas // the frames, so that only changed cells reach the screen (shared by the targets of one screen)
	hint    string  // with several targets: which one this is and how to get to the others

	// Current values of what prompts change, shown as their defaults.
	interval           time.Duration
	size, pattern, tos int
	pageRows           int // hop rows that fit on the screen, for PgUp/PgDn
	lastHops           int // hops in the last frame, to bound scrolling

	showRev bool // v: the reverse table is the one shown when both do not fit
	stacked bool // the last frame showed both tables

	pane   pane             // a: the analysis pane
	keyBuf []hopKey         // reused by pane refreshes
	clock  func() time.Time // paces the analysis; tests step it

	privacy  int            // #: hops 1..privacy are masked (vocab.Mask), and this host
	retarget string         // g: the host to trace next
	last     stats.Snapshot // the last frame's (masked) statistics, which x and w copy
	clip     []byte         // a copy waiting for the next frame to reach the terminal
}

func newUI(ctl Control, names Names, opt Options) *ui {
	if opt.Fields == "" {
		opt.Fields = vocab.DefaultFields
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	u := &ui{
		opt: opt, ctl: ctl, names: names,
		mode: opt.DisplayMode, dns: opt.DNS, showIPs: opt.ShowIPs, mpls: opt.MPLS, color: !opt.NoColor,
		interval: opt.Interval, size: opt.Size, pattern: opt.Pattern, tos: opt.TOS,
		clock:  time.Now,
		cv:     &canvas{},
		ipinfo: -1,
	}
	if opt.AS != nil && opt.IPInfo >= 0 && opt.IPInfo < asinfo.NumFields {
		u.ipinfo = opt.IPInfo
	}
	u.pane.open = opt.Analyze
	u.privacy = max(0, opt.Privacy)
	u.status = opt.Status
	if u.mode < 0 || u.mode >= numModes {
		u.mode = ModeTable
	}
	if err := u.setFields(opt.Fields); err != nil {
		_ = u.setFields(vocab.DefaultFields)
	}
	return u
}

func (u *ui) setFields(order string) error {
	f, err := vocab.ParseFields(order)
	if err != nil {
		return err
	}
	u.order, u.fields = order, f
	return nil
}

func (u *ui) result() Result {
	return Result{Fields: u.order, DNS: u.dns, ShowIPs: u.showIPs, MPLS: u.mpls, Analyze: u.pane.open, IPInfo: u.ipinfo, Privacy: u.privacy, Retarget: u.retarget}
}

// ipText is what precedes a host with y or z on: the field as mtr prints it ("AS64500  "), or "".
func (u *ui) ipText(a netip.Addr) string {
	if u.ipinfo < 0 || u.opt.AS == nil {
		return ""
	}
	if vocab.IsMasked(a) {
		a = netip.Addr{} // shown as unknown, never looked up
	}
	info, ok := u.opt.AS.Info(a)
	return asinfo.Format(info, ok, u.ipinfo)
}

// name returns what a row shows for an address: its name, "name (ip)" with -b, or the address.
func (u *ui) name(a netip.Addr) string {
	if !u.dns || u.names == nil || vocab.IsMasked(a) {
		return vocab.AddrText(a)
	}
	return vocab.HostText(a, u.names.Name(a), u.showIPs)
}
