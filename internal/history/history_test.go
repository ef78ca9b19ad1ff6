package history

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"}, "/s/mtr-go/history"},
		{map[string]string{"HOME": "/h"}, "/h/.local/state/mtr-go/history"},
		{map[string]string{"XDG_STATE_HOME": "rel", "HOME": "/h"}, "/h/.local/state/mtr-go/history"},
	} {
		got, err := Path(func(k string) string { return tc.env[k] })
		if err != nil || got != tc.want {
			t.Errorf("Path(%v) = %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
	if _, err := Path(func(string) string { return "" }); err == nil {
		t.Error("Path without XDG_STATE_HOME and HOME: no error")
	}
}

func TestParse(t *testing.T) {
	in := "b.example\r\n\na.example\nb.example\nwith space\nesc\x1b[2J\n" + strings.Repeat("x", 301) + "\n198.18.0.1\n"
	want := []string{"b.example", "a.example", "198.18.0.1"}
	if got := Parse(in); !slices.Equal(got, want) {
		t.Errorf("Parse = %q, want %q", got, want)
	}
}

func TestAddLimit(t *testing.T) {
	var list []string
	for i := range 130 {
		list = Add(list, fmt.Sprintf("h%d", i))
	}
	if len(list) != Limit || list[0] != "h129" || list[Limit-1] != "h2" {
		t.Fatalf("after 130 adds: %d hosts, first %q, last %q", len(list), list[0], list[len(list)-1])
	}
	list = Add(list, "h50")
	if len(list) != Limit || list[0] != "h50" || list[1] != "h129" || slices.Index(list[1:], "h50") >= 0 {
		t.Errorf("re-adding h50 did not move it first: %q", list[:3])
	}
}

func TestRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "mtr-go", "history")
	for _, h := range []string{"a.example", "b.example", "a.example"} {
		if err := Record(path, h); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "a.example\nb.example\n" {
		t.Errorf("file = %q", b)
	}
	if err := Record(path, "bad\nhost"); err == nil {
		t.Error("Record of a host with a newline: no error")
	}
	if list, err := Load(filepath.Join(t.TempDir(), "none")); err != nil || list != nil {
		t.Errorf("Load of a missing file = %q, %v", list, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("a.example\nb.example\n")
	f.Add("\x00\x1b]52;c;AAAA\x07\n\xff\xfe\n198.18.0.1\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		list := Parse(text)
		if len(list) > Limit {
			t.Fatalf("%d hosts", len(list))
		}
		seen := map[string]bool{}
		for _, h := range list {
			if !Valid(h) || seen[h] {
				t.Fatalf("kept %q", h)
			}
			seen[h] = true
		}
		// What Parse keeps reads back the same once written.
		if again := Parse(strings.Join(list, "\n")); !slices.Equal(again, list) {
			t.Fatalf("round trip %q -> %q", list, again)
		}
	})
}

// TestRecordedFileIsPrivate: the history (the hosts a user traced) is readable by its owner only.
func TestRecordedFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "history")
	if err := Record(path, "198.18.5.2"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("history file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
