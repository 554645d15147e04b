//go:build !unix

package compat

func processCPU() (int64, bool) { return 0, false }
