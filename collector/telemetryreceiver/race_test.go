//go:build race

package telemetryreceiver

// raceEnabled scales down tests whose size makes the race detector slow;
// without it they run at full size.
const raceEnabled = true
