package receiver_test

import (
	"slices"
	"testing"

	"github.com/telemetrybridge/telemetry/internal/servertest"
)

// TestServerSideDependsOnPayloadAlone holds the layering of the server
// side: the reference server and the test server build on payload and
// nothing else of this repository (not on the client's exporter, bridge
// or compat), and write and read JSON only through payload.
func TestServerSideDependsOnPayloadAlone(t *testing.T) {
	allowed := []string{
		servertest.ModulePath + "/payload",
		servertest.ModulePath + "/receiver",
		servertest.ModulePath + "/internal/servertest",
	}
	for _, p := range servertest.RepoPackages(t, "..", "./receiver", "./internal/servertest") {
		if !slices.Contains(allowed, p) {
			t.Errorf("the server side builds on %s; it may build on payload alone", p)
		}
	}
	for _, dir := range []string{".", "../internal/servertest"} {
		for _, use := range servertest.DirectJSON(t, dir) {
			t.Errorf("JSON outside payload: %s", use)
		}
	}
}
