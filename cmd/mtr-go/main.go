// Command mtr-go traces the route to a host and keeps probing every hop, like mtr.
package main

import (
	"os"
	"runtime"
	"runtime/debug"

	"github.com/mtr-go/mtr-go/internal/app"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the build info's.
var version = ""

func main() {
	// mtr-go's work is a few packets and a redraw at a time: one P keeps goroutine hand-offs on
	// one thread instead of waking others through futexes, which halves its idle CPU time.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	bi, _ := debug.ReadBuildInfo()
	version = app.VersionString(version, bi)
	os.Exit(app.Main(app.Env{
		Args:      os.Args[1:],
		Options:   os.Getenv("MTR_OPTIONS"),
		MTRPacket: os.Getenv("MTR_PACKET"),
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Version:   version,
	}))
}
