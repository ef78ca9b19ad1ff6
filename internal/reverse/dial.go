package reverse

import (
	"context"
	"errors"
)

// Dial starts a reverse trace at opts.URL.
//
// PLACEHOLDER (branch work in progress): the client is being written on branch rev-core, which
// replaces this file. Never merged to main as is.
func Dial(ctx context.Context, opts Options) (Stream, error) {
	return nil, errors.New("reverse: client not built yet")
}
