package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/asinfo"
	"github.com/mtr-go/mtr-go/internal/vocab"
)

// prompt is an open one-line question at the bottom of the screen. Keys go to it until Enter
// (apply) or Esc (cancel); probing goes on meanwhile.
type prompt struct {
	label  string
	hint   string // what is allowed, shown until an error replaces it
	input  []rune
	maxLen int
	accept func(r rune) bool     // keys the field takes at all
	apply  func(in string) error // validates and applies; an error keeps the prompt open
	err    string
	list   []string // choices Up and Down put in the field (the history), newest first
	pick   int      // the choice shown, -1 none
}

// fieldLetters are the letters -o accepts, in mtr's order.
const fieldLetters = " LDRSNBAWVGJMXI_"

// key handles one key press.
func (u *ui) key(ev *tcell.EventKey) {
	if ev.Key() == tcell.KeyCtrlC {
		u.quit = true
		return
	}
	if u.prompt != nil {
		u.promptKey(ev)
		return
	}
	u.status = ""
	if u.help {
		u.help = false
		return
	}
	if u.detailsKey(ev) {
		return
	}
	switch ev.Key() {
	case tcell.KeyCtrlL:
		u.redraw = true
	case tcell.KeyCtrlS:
		u.pause(true)
	case tcell.KeyCtrlQ:
		u.pause(false)
	case tcell.KeyPgDn:
		u.scrollBy(u.pageRows)
	case tcell.KeyPgUp:
		u.scrollBy(-u.pageRows)
	case tcell.KeyHome:
		u.scroll = 0
	case tcell.KeyEnd:
		u.scrollBy(u.lastHops)
	case tcell.KeyRune:
		u.runeKey(ev.Rune())
	}
}

func (u *ui) runeKey(r rune) {
	// Like mtr, letters work in either case, except Q (TOS) and B (bit pattern), whose lower-case
	// letters are other commands.
	if r != 'Q' && r != 'B' {
		r = unicode.ToLower(r)
	}
	switch r {
	case 'q':
		u.quit = true
	case '?', 'h':
		u.help = true
	case 'p':
		u.pause(true)
	case ' ':
		u.pause(false)
	case 'r':
		u.ctl.Reset()
		u.status = "Statistics reset."
	case 'd':
		u.mode = (u.mode + 1) % numModes
		u.status = "Display mode: " + []string{"statistics table", "stripchart", "latency chart", "braille graph"}[u.mode]
	case 'c':
		u.compactKey()
	case 'n':
		u.dns = !u.dns
		u.status = "DNS names " + onOff(u.dns)
	case 'b':
		u.showIPs = !u.showIPs
		u.status = "IP addresses beside names " + onOff(u.showIPs)
	case 'j':
		if strings.ContainsRune(u.order, 'N') {
			_ = u.setFields(vocab.JitterFields)
		} else {
			_ = u.setFields(vocab.DefaultFields)
		}
		u.status = "Fields: " + u.order
	case 'o':
		u.ask(&prompt{
			label: "Fields", hint: fmt.Sprintf("letters from %q; Enter applies, Esc cancels", fieldLetters),
			input: []rune(u.order), maxLen: 20,
			accept: func(r rune) bool { return strings.ContainsRune(fieldLetters, unicode.ToUpper(r)) },
			apply: func(in string) error {
				in = strings.ToUpper(in)
				if strings.Trim(in, "_ ") == "" {
					return fmt.Errorf("give at least one field letter from %q", fieldLetters)
				}
				return u.setFields(in)
			},
		})
	case 'e':
		u.mpls = !u.mpls
		u.status = "MPLS labels " + onOff(u.mpls)
	case 'a':
		// Opening analyses the path at once rather than showing what it was when last closed.
		u.pane.open, u.pane.done, u.pane.scroll = !u.pane.open, false, 0
		u.status = "Analysis pane " + onOff(u.pane.open)
	case '[':
		u.scrollPane(-1)
	case ']':
		u.scrollPane(1)
	case 'y', 'z':
		u.ipinfoKey(r)
	case 'v':
		u.reverseKey()
	case 'u', 't':
		// As mtr: u goes to UDP, or back to ICMP from UDP; t likewise for TCP.
		want := vocab.UDPProbes
		if r == 't' {
			want = vocab.TCPProbes
		}
		if u.ctl.Protocol() == want {
			want = vocab.ICMPProbes
		}
		if err := u.ctl.SetProtocol(want); err != nil {
			u.status = fmt.Sprintf("Cannot switch to %s probes: %v", want, err)
			break
		}
		u.status = want.String() + " probes"
	case 'i':
		u.askNumber("Interval in seconds", "more than 0, up to 86400", strconv.FormatFloat(u.interval.Seconds(), 'g', -1, 64), true,
			func(v float64) error {
				if v <= 0 || v > 86400 || math.IsNaN(v) {
					return fmt.Errorf("%g is out of range: more than 0, up to 86400 seconds", v)
				}
				d := time.Duration(v * float64(time.Second))
				if err := u.ctl.SetInterval(d); err != nil {
					return err
				}
				u.interval = d
				u.status = fmt.Sprintf("Interval: %g s", v)
				return nil
			})
	case 's':
		u.askInt("Packet size in bytes", 28, 4470, u.size, func(v int) error {
			if err := u.ctl.SetSize(v); err != nil {
				return err
			}
			u.size = v
			return nil
		})
	case 'B':
		u.askInt("Bit pattern (above 255: random)", 0, math.MaxInt32, u.pattern, func(v int) error {
			if err := u.ctl.SetPattern(v); err != nil {
				return err
			}
			u.pattern = v
			return nil
		})
	case 'Q':
		u.askInt("Type of service (TOS)", 0, 255, u.tos, func(v int) error {
			if err := u.ctl.SetTOS(v); err != nil {
				return err
			}
			u.tos = v
			return nil
		})
	case 'f':
		first, maxTTL := u.ctl.TTLRange()
		u.askInt("First TTL", 1, maxTTL, first, func(v int) error { return u.ctl.SetTTLRange(v, maxTTL) })
	case 'm':
		first, maxTTL := u.ctl.TTLRange()
		u.askInt("Max TTL", first, 255, maxTTL, func(v int) error { return u.ctl.SetTTLRange(first, v) })
	case 'x':
		u.copyKey()
	case 'w':
		u.exportKey()
	case '#':
		u.privacyKey()
	case 'g':
		u.targetKey()
	case '+':
		u.scrollBy(5)
	case '-':
		u.scrollBy(-5)
	default:
		u.status = fmt.Sprintf("No command on key %q; press ? for help.", r)
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// ipinfoKey is y (cycle: none, AS, prefix, country, registry, allocation date, none) and z (AS
// on or off). mtr 0.95's y has a sixth state repeating the AS without "AS", which z then
// toggles to instead of off; here both always lead back to none.
func (u *ui) ipinfoKey(r rune) {
	if u.opt.AS == nil {
		u.status = "AS lookups are not available in this run."
		return
	}
	switch {
	case r == 'z' && u.ipinfo == asinfo.FieldAS:
		u.ipinfo = -1
	case r == 'z':
		u.ipinfo = asinfo.FieldAS
	case u.ipinfo+1 >= asinfo.NumFields:
		u.ipinfo = -1
	default:
		u.ipinfo++
	}
	names := []string{"AS numbers", "IP prefixes", "countries", "registries", "allocation dates"}
	if u.ipinfo < 0 {
		u.status = "IP information off"
	} else {
		u.status = "IP information: " + names[u.ipinfo]
	}
}

func (u *ui) pause(p bool) {
	u.paused = p
	u.ctl.SetPaused(p)
	if !p {
		u.status = "Resumed."
	}
}

func (u *ui) scrollBy(n int) {
	u.scroll = max(0, min(u.scroll+n, u.lastHops-1))
}

func (u *ui) ask(p *prompt) { u.prompt = p }

// askInt opens a prompt for a whole number in lo..hi.
func (u *ui) askInt(label string, lo, hi, cur int, set func(int) error) {
	allowed := fmt.Sprintf("%d to %d", lo, hi)
	if hi == math.MaxInt32 {
		allowed = fmt.Sprintf("%d or more", lo)
	}
	u.ask(&prompt{
		label: label, hint: allowed + "; Enter applies, Esc cancels",
		input: []rune(strconv.Itoa(cur)), maxLen: 10,
		accept: func(r rune) bool { return r >= '0' && r <= '9' },
		apply: func(in string) error {
			v, err := strconv.Atoi(in)
			if err != nil || v < lo || v > hi {
				return fmt.Errorf("%q is not allowed: give a whole number, %s", in, allowed)
			}
			if err := set(v); err != nil {
				return err
			}
			u.status = fmt.Sprintf("%s: %d", label, v)
			return nil
		},
	})
}

// askNumber opens a prompt for a decimal number.
func (u *ui) askNumber(label, allowed, cur string, frac bool, set func(float64) error) {
	u.ask(&prompt{
		label: label, hint: allowed + "; Enter applies, Esc cancels",
		input: []rune(cur), maxLen: 12,
		accept: func(r rune) bool { return r >= '0' && r <= '9' || frac && r == '.' },
		apply: func(in string) error {
			v, err := strconv.ParseFloat(in, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number: give %s", in, allowed)
			}
			return set(v)
		},
	})
}

func (u *ui) promptKey(ev *tcell.EventKey) {
	p := u.prompt
	switch ev.Key() {
	case tcell.KeyEscape:
		u.prompt = nil
		u.status = p.label + ": unchanged."
	case tcell.KeyEnter:
		if err := p.apply(string(p.input)); err != nil {
			p.err = err.Error()
			return
		}
		u.prompt = nil
	case tcell.KeyBackspace, tcell.KeyBackspace2:
		if len(p.input) > 0 {
			p.input = p.input[:len(p.input)-1]
		}
		p.err = ""
	case tcell.KeyCtrlU:
		p.input = p.input[:0]
		p.err = ""
	case tcell.KeyUp:
		p.pickKey(1)
	case tcell.KeyDown:
		p.pickKey(-1)
	case tcell.KeyRune:
		r := ev.Rune()
		switch {
		case !p.accept(r):
			p.err = fmt.Sprintf("%q is not allowed here: %s", r, p.hint)
		case len(p.input) >= p.maxLen:
			p.err = fmt.Sprintf("at most %d characters", p.maxLen)
		default:
			p.input = append(p.input, r)
			p.err = ""
		}
	}
}

// reverseKey switches the table shown alone between the forward and the reverse trace. The
// analysis pane follows it: it analyses the table it sits under.
func (u *ui) reverseKey() {
	if u.opt.Reverse == nil {
		u.status = "No reverse trace: start mtr-go with --reverse URL"
		return
	}
	u.showRev = !u.showRev
	u.scroll, u.pane.done, u.pane.scroll = 0, false, 0
	u.status = "Forward trace"
	if u.showRev {
		u.status = "Reverse trace"
	}
	if u.stacked {
		u.status += " first when both do not fit (they do now)"
	} else {
		u.status += " shown"
	}
}
