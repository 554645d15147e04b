package bridge_test

import (
	"slices"
	"testing"

	"github.com/telemetrybridge/telemetry/internal/servertest"
)

// TestBridgeDependsOnTheWireAndTheJournalAlone holds the layering of the
// client: the recording layer builds on payload (names, the key codec) and
// internal/journal (where figures outlive the process), and knows nothing
// of the transport. The exporter reaches it through KeyFilter and the
// telemetry reader its caller builds; package compat does the wiring.
func TestBridgeDependsOnTheWireAndTheJournalAlone(t *testing.T) {
	allowed := []string{
		servertest.ModulePath + "/bridge",
		servertest.ModulePath + "/payload",
		servertest.ModulePath + "/internal/journal",
	}
	for _, p := range servertest.RepoPackages(t, "..", "./bridge") {
		if !slices.Contains(allowed, p) {
			t.Errorf("package bridge builds on %s; it may build on payload and internal/journal alone", p)
		}
	}
}
