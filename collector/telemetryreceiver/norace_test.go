//go:build !race

package telemetryreceiver

const raceEnabled = false
