//go:build race

package compat

// raceEnabled: the race detector makes the stop path several times slower,
// so a child process waits longer before exiting (see runChild).
const raceEnabled = true
