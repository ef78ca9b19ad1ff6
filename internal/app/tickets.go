package app

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"time"

	"github.com/gdamore/tcell/v2/terminfo"

	"github.com/mtr-go/mtr-go/internal/asinfo"
	"github.com/mtr-go/mtr-go/internal/history"
	"github.com/mtr-go/mtr-go/internal/report"
	"github.com/mtr-go/mtr-go/internal/resolve"
	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
	"github.com/mtr-go/mtr-go/tui"
)

// listHistory is --history: the hosts the live view traced, newest first, one a line.
func listHistory(env Env) int {
	path, err := history.Path(os.Getenv)
	if err == nil {
		var list []string
		list, err = history.Load(path)
		for _, h := range list {
			fmt.Fprintln(env.Stdout, h)
		}
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "mtr-go: history: %v\n", err)
		return exitFail
	}
	return exitOK
}

// recordHistory adds the live view's target to the history. A history that cannot be written
// is said on stderr once the view is gone and does not fail the run: tracing worked.
func recordHistory(name string) error {
	path, err := history.Path(os.Getenv)
	if err != nil {
		return err
	}
	return history.Record(path, name)
}

// exporter writes the live view's table for its copy and export keys, with the report writers,
// as the view shows it (fields, names, toggles, privacy), started when the view started.
func (s *session) exporter(start time.Time, names *resolve.Resolver, as *asinfo.Lookups) tui.Exporter {
	return func(w io.Writer, html bool, snap stats.Snapshot, view tui.Result) error {
		lookup := report.Names(func(netip.Addr) string { return "" })
		if view.DNS {
			lookup = names.Name
		}
		o := report.Options{Fields: view.Fields, Wide: s.cfg.Wide, ShowIPs: view.ShowIPs, LocalHost: s.host, MPLS: view.MPLS, MaxPath: s.cfg.MaxPath}
		if view.Privacy > 0 {
			o.LocalHost = vocab.Hidden
		}
		if view.IPInfo >= 0 {
			o.IPInfo = &report.IPInfo{Field: view.IPInfo, Lookup: as.Info}
		}
		if html {
			return report.HTML(w, snap, lookup, s.meta(start, time.Now()), o)
		}
		if err := report.Start(w, start); err != nil {
			return err
		}
		return report.Text(w, snap, lookup, o)
	}
}

// clipboardCommand is the program that takes copies instead of OSC 52, when MTRGO_CLIPBOARD
// asks for one: "wl-copy" or "xclip" (either must be on PATH), "auto" for whichever of them the
// session's display has; unset or "osc52" keeps OSC 52, which also works over SSH.
func clipboardCommand(getenv func(string) string) (tui.Clipboard, error) {
	var argv []string
	switch want := getenv("MTRGO_CLIPBOARD"); want {
	case "", "osc52":
		return tmuxClipboard(getenv, "/dev/tty"), nil
	case "wl-copy":
		argv = []string{"wl-copy"}
	case "xclip":
		argv = []string{"xclip", "-selection", "clipboard"}
	case "auto":
		switch {
		case getenv("WAYLAND_DISPLAY") != "":
			argv = []string{"wl-copy"}
		case getenv("DISPLAY") != "":
			argv = []string{"xclip", "-selection", "clipboard"}
		default:
			return nil, nil // no display: the terminal is the only way
		}
	default:
		return nil, fmt.Errorf("MTRGO_CLIPBOARD=%q: use osc52, wl-copy, xclip or auto", want)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("MTRGO_CLIPBOARD: %v", err)
	}
	return func(data []byte) error {
		cmd := exec.Command(path, argv[1:]...)
		cmd.Stdin = bytes.NewReader(data)
		// No pipes for its output: wl-copy and xclip leave a child serving the selection, and
		// waiting for pipes it inherited would hang the view.
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %v", argv[0], err)
		}
		return nil
	}, nil
}

// loadHistory is the history the target prompt offers; one that cannot be read offers none
// (the prompt still takes a host typed in).
func loadHistory() []string {
	path, err := history.Path(os.Getenv)
	if err != nil {
		return nil
	}
	list, _ := history.Load(path)
	return list
}

// keepView carries the view's toggles into the options of the view that follows it (after g).
func keepView(opt *tui.Options, res tui.Result) {
	opt.Fields, opt.DNS, opt.ShowIPs, opt.MPLS = res.Fields, res.DNS, res.ShowIPs, res.MPLS
	opt.Analyze, opt.IPInfo, opt.Privacy = res.Analyze, res.IPInfo, res.Privacy
	opt.Status = ""
}

// tmuxClipboard is OSC 52 written by mtr-go itself, for tmux under a TERM that tcell does not
// take for xterm-like (screen, the default of older tmux), where tcell would drop the copy
// silently: tmux reads OSC 52 whatever TERM says. Elsewhere tcell sends it (nil).
func tmuxClipboard(getenv func(string) string, tty string) tui.Clipboard {
	if getenv("TMUX") == "" {
		return nil
	}
	if ti, err := terminfo.LookupTerminfo(getenv("TERM")); err == nil && ti.XTermLike {
		return nil
	}
	return func(data []byte) error {
		f, err := os.OpenFile(tty, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, werr := fmt.Fprintf(f, "\x1b]52;c;%s\x07", base64.StdEncoding.EncodeToString(data))
		return errors.Join(werr, f.Close())
	}
}
