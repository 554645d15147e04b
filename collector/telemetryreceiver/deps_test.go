package telemetryreceiver

import (
	"slices"
	"testing"

	"github.com/telemetrybridge/telemetry/internal/servertest"
)

// TestReceiverDependsOnPayloadAlone holds the layering of the server
// side: the Collector's receiver builds on payload and nothing else of
// this repository (not on the reference server, nor on the client's
// exporter, bridge or compat), and writes and reads JSON only through
// payload.
func TestReceiverDependsOnPayloadAlone(t *testing.T) {
	allowed := []string{
		servertest.ModulePath + "/payload",
		servertest.ModulePath + "/collector/telemetryreceiver",
	}
	for _, p := range servertest.RepoPackages(t, ".", ".") {
		if !slices.Contains(allowed, p) {
			t.Errorf("the receiver builds on %s; it may build on payload alone", p)
		}
	}
	for _, use := range servertest.DirectJSON(t, ".") {
		t.Errorf("JSON outside payload: %s", use)
	}
}
