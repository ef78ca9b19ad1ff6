package app

import (
	"testing"

	"github.com/mtr-go/mtr-go/internal/cli"
)

func TestEveryModeHasAView(t *testing.T) {
	for m := cli.ModeDefault; m <= cli.ModeHTML; m++ {
		if views[m] == nil {
			t.Errorf("mode %d has no view", m)
		}
	}
}
