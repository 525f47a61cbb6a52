//go:build !amd64 || purego

package crc64ecma

// implementations lists the code paths this platform can run.
func implementations() []impl {
	return []impl{{"generic", func() func() { return func() {} }}}
}
