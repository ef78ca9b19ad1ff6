package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The mtr-go binary for lab tests of more than one package (cmd/mtr-go's own, internal/reverse's
// end-to-end ones), built once per test process so each package runs the real program.
var (
	mtrGoOnce sync.Once
	mtrGoPath string
	mtrGoErr  error
)

// MtrGo returns the path of an mtr-go binary built from this module, as the Makefile builds it:
// without cgo, so dropping capabilities reaches every thread. MTRGO_BIN, if set, names a binary
// to test instead (an absolute path), e.g. another branch's build. Call RemoveMtrGo from
// TestMain when the tests are done.
func MtrGo(t testing.TB) string {
	t.Helper()
	mtrGoOnce.Do(func() {
		if p := os.Getenv("MTRGO_BIN"); p != "" {
			if !filepath.IsAbs(p) {
				mtrGoErr = fmt.Errorf("MTRGO_BIN=%s: want an absolute path", p)
			}
			mtrGoPath = p
			return
		}
		dir, err := os.MkdirTemp("", "mtr-go-bin")
		if err != nil {
			mtrGoErr = err
			return
		}
		mtrGoPath = filepath.Join(dir, "mtr-go")
		cmd := exec.Command("go", "build", "-o", mtrGoPath, "github.com/mtr-go/mtr-go/cmd/mtr-go")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			mtrGoErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if mtrGoErr != nil {
		t.Fatal(mtrGoErr)
	}
	return mtrGoPath
}

// RemoveMtrGo deletes the binary MtrGo built, if it built one.
func RemoveMtrGo() {
	if mtrGoPath != "" && os.Getenv("MTRGO_BIN") == "" {
		os.RemoveAll(filepath.Dir(mtrGoPath))
	}
}
