//go:build !linux

package local

// rootNameMax returns the longest file name most file systems take.
func rootNameMax(string) int { return defaultNameMax }
