//go:build race

package exporter_test

// raceEnabled is set when the race detector is on: it makes everything
// several times slower, and the crash test allows for it.
const raceEnabled = true
