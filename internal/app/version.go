package app

import (
	"runtime/debug"
	"strings"
)

// VersionString is what --version prints after "mtr-go ": the version stamped by the Makefile
// (-ldflags -X main.version) if any, else the module version from the build info (go install
// module@version sets it; go build in a checkout derives a pseudo-version from the VCS), and the
// VCS revision, its time and whether the tree was modified, when the go command recorded them.
func VersionString(stamped string, bi *debug.BuildInfo) string {
	v := stamped
	if v == "" && bi != nil && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	if bi == nil {
		return v
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	parts := []string{"revision " + rev}
	if when != "" {
		parts = append(parts, when)
	}
	if modified {
		parts = append(parts, "modified")
	}
	return v + " (" + strings.Join(parts, ", ") + ")"
}
