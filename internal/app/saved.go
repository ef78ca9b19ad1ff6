package app

import (
	"fmt"
	"io"
	"os"

	"github.com/mtr-go/mtr-go/internal/privs"
	"github.com/mtr-go/mtr-go/internal/report"
	"github.com/mtr-go/mtr-go/internal/savedreport"
)

// dropPrivs is privs.Drop; a test keeps its own privileges.
var dropPrivs = privs.Drop

// readSaved is --analyze FILE: the analysis of a report someone else ran. The file is opened
// with the privileges mtr-go was started with (a report saved by root), and read and parsed
// without them: its text is untrusted.
func readSaved(env Env, name string) int {
	var in io.Reader = env.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(env.Stderr, "mtr-go: --analyze: %v\n", err)
			return exitFail
		}
		defer f.Close()
		in = f
	}
	if err := dropPrivs(); err != nil {
		fmt.Fprintf(env.Stderr, "mtr-go: cannot drop privileges: %v\n", err)
		return exitFail
	}
	// One byte past the limit, so that Parse sees an over-long input and says so.
	data, err := io.ReadAll(io.LimitReader(in, savedreport.MaxInput+1))
	if err != nil {
		fmt.Fprintf(env.Stderr, "mtr-go: --analyze %s: %v\n", name, err)
		return exitFail
	}
	r, err := savedreport.Parse(data)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mtr-go: %s: %v\n", name, err)
		return exitFail
	}
	a := r.Analyze()
	fmt.Fprintf(env.Stdout, "Read: %s\n", r.Describe())
	for _, l := range a.Limits {
		fmt.Fprintf(env.Stdout, "Note: %s\n", l)
	}
	if err := report.AnalysisText(env.Stdout, &a.Analysis); err != nil {
		fmt.Fprintf(env.Stderr, "mtr-go: %v\n", err)
		return exitFail
	}
	return exitOK
}
