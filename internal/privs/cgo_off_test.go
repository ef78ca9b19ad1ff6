//go:build !cgo

package privs

const cgoBuild = false
