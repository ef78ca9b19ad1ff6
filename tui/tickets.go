package tui

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/gdamore/tcell/v2"

	"github.com/mtr-go/mtr-go/internal/history"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// WinMTR's ticket keys: the table as shown goes to the clipboard (x) or to a file (w), as text
// or as HTML, and # hides the user's own network (--privacy) from both and from the screen.

// Exporter writes snap as the view shows it (view holds its fields, names and toggles): mtr's
// text report, or the HTML report when html is set. The app supplies it with the report writers.
type Exporter func(w io.Writer, html bool, snap stats.Snapshot, view Result) error

// Clipboard puts data on the system clipboard by other means than the terminal (wl-copy, xclip);
// nil sends it through the terminal as OSC 52 (tcell's SetClipboard), which also works over SSH.
type Clipboard func(data []byte) error

// copyKey asks for the format and copies the last frame's table to the clipboard.
func (u *ui) copyKey() {
	if u.opt.Export == nil {
		u.status = "Copying is not available in this view."
		return
	}
	u.ask(&prompt{
		label: "Copy as", hint: "text or html; Enter copies, Esc cancels",
		input: []rune("text"), maxLen: 4,
		accept: unicode.IsLetter,
		apply: func(in string) error {
			html, err := formatWord(in)
			if err != nil {
				return err
			}
			var b bytes.Buffer
			if err := u.opt.Export(&b, html, u.last, u.result()); err != nil {
				return err
			}
			how := "the terminal (OSC 52)"
			if u.opt.Clipboard != nil {
				if err := u.opt.Clipboard(b.Bytes()); err != nil {
					return err
				}
				how = "the clipboard"
			} else {
				u.clip = b.Bytes() // sent by the next frame, which has the screen
			}
			u.status = fmt.Sprintf("Copied %d lines as %s to %s.", bytes.Count(b.Bytes(), []byte("\n")), formatName(html), how)
			return nil
		},
	})
}

// exportKey asks for a file name and writes the last frame's table to it: HTML when the name
// ends in .html or .htm, text otherwise.
func (u *ui) exportKey() {
	if u.opt.Export == nil {
		u.status = "Exporting is not available in this view."
		return
	}
	u.ask(&prompt{
		label: "Export to file", hint: "a .html or .htm name gives HTML, any other text; Enter writes, Esc cancels",
		input: []rune(exportName(u.opt.TargetName)), maxLen: 200,
		accept: func(r rune) bool { return !unicode.IsControl(r) },
		apply: func(in string) error {
			if strings.TrimSpace(in) == "" {
				return fmt.Errorf("give a file name")
			}
			ext := strings.ToLower(filepath.Ext(in))
			html := ext == ".html" || ext == ".htm"
			var b bytes.Buffer
			if err := u.opt.Export(&b, html, u.last, u.result()); err != nil {
				return err
			}
			if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("cannot write: %v", err)
			}
			u.status = fmt.Sprintf("Exported as %s to %s.", formatName(html), in)
			return nil
		},
	})
}

// privacyKey asks how many of the first hops to hide (0 shows them all again).
func (u *ui) privacyKey() {
	if u.opt.Reverse != nil {
		u.status = "Hiding hops does not work with --reverse: the trace back ends in your network."
		return
	}
	u.askInt("Hide hops 1 to N (0: none)", 0, 255, u.privacy, func(v int) error {
		u.privacy = v
		u.pane.done = false // the analysis on screen may name what is now hidden: redo it now
		return nil
	})
}

func formatWord(in string) (html bool, err error) {
	switch strings.ToLower(in) {
	case "t", "text":
		return false, nil
	case "h", "html":
		return true, nil
	}
	return false, fmt.Errorf("%q is neither text nor html", in)
}

func formatName(html bool) string {
	if html {
		return "HTML"
	}
	return "text"
}

// exportName is the file name offered: mtr-go-HOST.txt, with characters a file name had better
// not have replaced.
func exportName(target string) string {
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, target)
	return "mtr-go-" + name + ".txt"
}

// sendClipboard passes a pending copy to the terminal.
func (u *ui) sendClipboard(s tcell.Screen) {
	if u.clip != nil {
		s.SetClipboard(u.clip)
		u.clip = nil
	}
}

// localText is the title's "this host (its address)", hidden with the privacy key on.
func (u *ui) localText() string {
	if u.privacy > 0 {
		return vocab.Hidden
	}
	local := u.opt.LocalHost
	if u.opt.Local.IsValid() {
		local += " (" + u.opt.Local.String() + ")"
	}
	return local
}

// targetKey (g) asks for another host to trace, offering the history newest first (Up/Down).
// The view then ends with Result.Retarget set, and the app starts the new trace in its place.
func (u *ui) targetKey() {
	if !u.opt.Retarget {
		u.status = "Changing the target works in the view of one target."
		return
	}
	hint := "Enter traces it, Esc cancels"
	if n := len(u.opt.History); n > 0 {
		hint = fmt.Sprintf("Up/Down: %d recent hosts; %s", n, hint)
	}
	u.ask(&prompt{
		label: "Trace host", hint: hint, maxLen: 253,
		list: u.opt.History, pick: -1,
		accept: func(r rune) bool { return !unicode.IsSpace(r) && !unicode.IsControl(r) },
		apply: func(in string) error {
			if !history.Valid(in) {
				return fmt.Errorf("give a host name or address")
			}
			u.retarget, u.quit = in, true
			return nil
		},
	})
}

// pickKey moves through an open prompt's list (Up: older, Down: newer) and puts the host
// picked into the field.
func (p *prompt) pickKey(d int) {
	if len(p.list) == 0 {
		return
	}
	p.pick = max(0, min(p.pick+d, len(p.list)-1))
	p.input = []rune(p.list[p.pick])
	p.err = ""
}

// drawList shows an open prompt's list above the status line, newest at the top, the entry
// picked highlighted, as many as fit under the table's header.
func drawList(s *canvas, p *prompt, w, y int) {
	rows := min(len(p.list), 10, y-firstHopRow)
	if rows <= 0 {
		return
	}
	first := max(0, p.pick-rows+1)
	for i := range rows {
		e := first + i
		style := plain
		if e == p.pick {
			style = plain.Reverse(true)
		}
		line := fmt.Sprintf(" %3d. %s", e+1, vocab.StripControl(p.list[e]))
		s.put(0, y-rows+i, cut(line+strings.Repeat(" ", max(0, w-len(line))), w), style)
	}
}
