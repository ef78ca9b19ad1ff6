// Package history keeps the hosts the live view traced, newest first, as WinMTR keeps the hosts
// typed into it: at most Limit of them, in $XDG_STATE_HOME/mtr-go/history (by default
// ~/.local/state/mtr-go/history), one host a line.
package history

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// Limit is WinMTR's: the list keeps the 128 newest hosts.
const Limit = 128

// maxHost bounds one entry: longer than any DNS name (253) or address with a zone.
const maxHost = 300

// Path is the history file for the environment getenv reads (XDG_STATE_HOME, then HOME).
func Path(getenv func(string) string) (string, error) {
	dir := getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(dir) { // the XDG spec: a relative value is invalid and ignored
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("neither XDG_STATE_HOME nor HOME is set: no place for the history")
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "mtr-go", "history"), nil
}

// Parse reads a history file's text: hosts newest first. Lines that cannot be a host (empty,
// too long, with spaces or control characters: the file may have been edited or damaged) are
// skipped, as are repeats, and at most Limit hosts are kept.
func Parse(text string) []string {
	var out []string
	seen := map[string]bool{}
	for line := range strings.SplitSeq(text, "\n") {
		h := strings.TrimSuffix(line, "\r")
		if !Valid(h) || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
		if len(out) == Limit {
			break
		}
	}
	return out
}

// Valid reports whether h may be kept as a host: not empty, not too long, and without spaces
// or control characters, which no host name or address has.
func Valid(h string) bool {
	if h == "" || len(h) > maxHost {
		return false
	}
	for _, r := range h {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// Add puts host first in list, removing an older copy, and keeps at most Limit hosts.
func Add(list []string, host string) []string {
	out := make([]string, 0, min(len(list)+1, Limit))
	out = append(out, host)
	for _, h := range list {
		if h != host && len(out) < Limit {
			out = append(out, h)
		}
	}
	return out
}

// maxFile bounds what Load reads: Limit entries of at most maxHost bytes and their newlines. A
// bigger file is not one mtr-go wrote; its first maxFile bytes are read, the rest ignored.
const maxFile = Limit * (maxHost + 1)

// Load reads the history at path; a missing file is an empty history.
func Load(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile))
	if err != nil {
		return nil, err
	}
	return Parse(string(b)), nil
}

// Record adds host to the history at path, creating its directory. The file is replaced
// through a rename, so two mtr-go processes never leave it half written (the later one wins).
func Record(path, host string) error {
	if !Valid(host) {
		return fmt.Errorf("history: %q is not a host", host)
	}
	list, err := Load(path)
	if err != nil {
		return err
	}
	list = Add(list, host)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".history-*")
	if err != nil {
		return err
	}
	_, werr := tmp.WriteString(strings.Join(list, "\n") + "\n")
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
