package app

import (
	"strings"
	"testing"
)

// TestServeBadStartIsOneLine: an exporter that cannot start (a target of the wrong family, found
// without any lookup; an address to listen on that is not this host's) says why in one line and
// exits 1, before probing.
func TestServeBadStartIsOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"-4", "--serve", "127.0.0.1:0", "::1"},
		{"--serve", "198.18.0.1:0", "-u", "127.0.0.1"}, // an address this host does not have
	} {
		var stdout, stderr strings.Builder
		code := Main(Env{Args: args, Stdout: &stdout, Stderr: &stderr})
		if code != exitFail || strings.Count(stderr.String(), "\n") != 1 || !strings.HasPrefix(stderr.String(), "mtr-go: ") {
			t.Errorf("mtr-go %v: exit %d, stderr %q; want exit 1 and one line", args, code, stderr.String())
		}
	}
}
