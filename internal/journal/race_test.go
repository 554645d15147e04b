//go:build race

package journal

// raceOn slows tests that start processes down to fewer of them.
const raceOn = true
