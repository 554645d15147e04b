package telemetryreceiver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/deltatocumulativeprocessor"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// TestKeptAttributesDoNotPinBodies sends 10,000 updates, each from its
// own instance with a counting set of one value and 16 KiB of a member the
// receiver skips, through deltatocumulative, which keeps every stream's
// attributes. Were the kept strings slices of their bodies, each stream
// would hold its 16 KiB body: 160 MiB. The figure is printed with -v.
func TestKeptAttributesDoNotPinBodies(t *testing.T) {
	updates := 10_000
	if raceEnabled {
		updates = 2_000 // 32 MiB of bodies pinned would still show
	}
	f := deltatocumulativeprocessor.NewFactory()
	set := processor.Settings{ID: component.NewID(f.Type()), TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
	dtc, err := f.CreateMetrics(context.Background(), set, f.CreateDefaultConfig(), consumertest.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := dtc.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dtc.Shutdown(context.Background()) }()
	rf := NewFactory()
	rcv, err := rf.CreateMetrics(context.Background(), receivertest.NewNopSettings(rf.Type()), testConfig(), dtc)
	if err != nil {
		t.Fatal(err)
	}
	handler := rcv.(*telemetryReceiver)

	padding := strings.Repeat("p", 16<<10)
	before := heapAfterGC()
	for i := range updates {
		id := uuid.New()
		body := fmt.Sprintf(`{"instance_id":%q,"timestamp":"2026-12-03T10:00:00Z","padding":%q,`+
			`"data":{"agent:%08x":[{"value":"ua-%08x","count":1}],"build":{"os":"linux-%d"}}}`, id, padding, i, i, i)
		req := httptest.NewRequest(http.MethodPost, DefaultPath+id.String(), bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("update %d: %d %s", i, w.Code, w.Body)
		}
	}
	after := heapAfterGC()
	runtime.KeepAlive(dtc)
	retained := float64(int64(after)-int64(before)) / (1 << 20)
	t.Logf("retained heap after %d updates of %d KiB through deltatocumulative: %.1f MiB (%.0f bytes per update)",
		updates, len(padding)>>10, retained, retained*(1<<20)/float64(updates))
	if limit := float64(updates*(4<<10)) / (1 << 20); retained > limit+8 {
		t.Errorf("retained %.1f MiB, over the bound of %.1f MiB: kept strings pin their bodies", retained, limit+8)
	}
}

func heapAfterGC() uint64 { return servertest.HeapAfterGC() }
