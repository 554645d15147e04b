//go:build unix

package exporter_test

import "syscall"

// processCPU is the CPU time the process has used, user and system, in
// nanoseconds, every thread included.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
