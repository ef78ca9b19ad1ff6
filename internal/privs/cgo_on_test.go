//go:build cgo

package privs

// runtime/cgo is linked into mtr-go by net's resolver; the test binary links it too, so a cgo
// build of the tests is a cgo process like mtr-go's.
import _ "runtime/cgo"

const cgoBuild = true
