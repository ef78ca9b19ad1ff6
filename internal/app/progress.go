package app

import (
	"sync"
	"time"

	"github.com/mtr-go/mtr-go/internal/cli"
	"github.com/mtr-go/mtr-go/internal/progress"
)

// showsProgress reports whether mode prints one document after all its rounds (the report and the
// machine and ticket formats), so that a person waiting at a terminal is told how far it is.
// The live views show their own counts; split and raw stream as they go.
func showsProgress(mode cli.Mode, env Env) bool {
	switch mode {
	case cli.ModeReport, cli.ModeJSON, cli.ModeXML, cli.ModeCSV, cli.ModeMarkdown, cli.ModeHTML:
		return true
	case cli.ModeDefault:
		return !isTerminal(env.Stdout) // the report, not the live view
	}
	return false
}

// startProgress shows on stderr, when it is a terminal, the rounds done of -c and the time left,
// until the first session's rounds are over (each view calls s.roundsOver before it writes) or
// the returned stop is called. Anywhere else (a pipe, a file) it writes nothing, so such output
// is what it was without it.
func startProgress(cfg *cli.Config, sessions []*session, env Env) (stop func()) {
	if len(sessions) == 0 || !showsProgress(cfg.Mode, env) || !isTerminal(env.Stderr) {
		return func() {}
	}
	m := progress.New(env.Stderr)
	every := min(max(cfg.Interval, 100*time.Millisecond), time.Second)
	ticker := time.NewTicker(every)
	quit, finished := make(chan struct{}), make(chan struct{})
	read := func() (int, int, time.Duration) {
		// Several targets run side by side: the slowest says how long the wait is.
		done := cfg.Count
		for _, s := range sessions {
			done = min(done, s.tracer.Rounds())
		}
		return done, cfg.Count, time.Duration(cfg.Count-done) * cfg.Interval
	}
	go func() {
		m.Run(ticker.C, quit, read)
		close(finished)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ticker.Stop()
			close(quit)
			<-finished // erased before the caller writes
		})
	}
	for _, s := range sessions {
		s.roundsOverHook = stop
	}
	return stop
}

// roundsOver is called by a batch view once its rounds are done and before it writes: the
// progress line, if any, is erased first.
func (s *session) roundsOver() {
	if s.roundsOverHook != nil {
		s.roundsOverHook()
	}
}
