package app

import (
	"runtime/debug"
	"testing"
)

func TestVersionString(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-11-30T01:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name, stamped string
		bi            *debug.BuildInfo
		want          string
	}{
		{"no build info", "", nil, "(devel)"},
		{"stamped by make", "v1.2.0-3-gabc", nil, "v1.2.0-3-gabc"},
		{"go install module@version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0"},
		{"go build in a checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261130010000-0123456789ab+dirty"}, Settings: vcs},
			"v0.0.0-20261130010000-0123456789ab+dirty (revision 0123456789abcdef0123456789abcdef01234567, 2026-11-30T01:00:00Z, modified)"},
		{"clean tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs[:3]},
			"(devel) (revision 0123456789abcdef0123456789abcdef01234567, 2026-11-30T01:00:00Z)"},
	}
	for _, tc := range tests {
		if got := VersionString(tc.stamped, tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
