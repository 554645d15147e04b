//go:build race

package bridge_test

// raceEnabled scales down tests whose size makes the race detector slow;
// .ci/run also runs them at full size without it.
const raceEnabled = true
