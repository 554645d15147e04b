//go:build !unix

package exporter_test

func processCPU() (int64, bool) { return 0, false }
