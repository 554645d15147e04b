package fleetprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/telemetrybridge/telemetry/payload"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
)

// storageID is the storage extension the durable tests configure.
var storageID = component.MustNewID("file_storage")

// storageHost is a Collector host with one storage extension: filestorage
// on a directory, as a replica runs it.
type storageHost struct {
	component.Host
	ext extension.Extension
}

func (h storageHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{storageID: h.ext}
}

// newStorageHost starts filestorage on dir; recreate moves a database it
// cannot open aside and starts an empty one.
func newStorageHost(t testing.TB, dir string, recreate bool) storageHost {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory, cfg.Recreate = dir, recreate
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return storageHost{ext: ext}
}

// rawClient opens the processor's own storage, as the processor does: for
// tests that damage what it wrote (while no processor holds it).
func (h storageHost) rawClient(t testing.TB) storage.Client {
	t.Helper()
	c, err := h.ext.(storage.Extension).GetClient(context.Background(), component.KindProcessor, component.NewID(Type), "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func durableConfig() *Config {
	cfg := testConfig()
	id := storageID
	cfg.Storage = &id
	return cfg
}

// startDurable starts a processor on the host's storage at clock, with a
// logger the test can pass (nil: none). It is not shut down at the end:
// tests abandon it (crash) or shut it down themselves.
func startDurable(t testing.TB, cfg *Config, host storageHost, clock time.Time, logger *zap.Logger) (*testProcessor, error) {
	t.Helper()
	sink := new(consumertest.MetricsSink)
	set := processortest.NewNopSettings(Type)
	if logger != nil {
		set.Logger = logger
	}
	p := newProcessor(cfg, set, sink)
	tp := &testProcessor{fleetProcessor: p, sink: sink, clock: clock}
	tp.now = func() time.Time { return tp.clock }
	return tp, p.Start(context.Background(), host)
}

// crash leaves the processor as a SIGKILL would: its export loop ends
// without an export, and its storage is closed without a snapshot, so
// that what is on disk is what ConsumeMetrics had written.
func (tp *testProcessor) crash(t testing.TB) {
	t.Helper()
	tp.stopOnce.Do(func() { close(tp.stop) })
	<-tp.done
	if err := tp.journal.client.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// withKey is the context the telemetry receiver gives an update sent with
// Idempotency-Key key.
func withKey(key string) context.Context {
	return client.NewContext(context.Background(), client.Info{
		Metadata: client.NewMetadata(map[string][]string{payload.HeaderIdempotencyKey: {key}}),
	})
}

// sendKeyed hands the processor update md under key.
func (tp *testProcessor) sendKeyed(t testing.TB, key string, md pmetric.Metrics) {
	t.Helper()
	if err := tp.ConsumeMetrics(withKey(key), md); err != nil {
		t.Fatal(err)
	}
}

// startTimestamps returns the start timestamps of the cumulative points
// the processor sent last.
func (tp *testProcessor) startTimestamps() map[int64]int {
	out := map[int64]int{}
	for _, md := range tp.sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					switch m.Type() {
					case pmetric.MetricTypeSum:
						for _, dp := range m.Sum().DataPoints().All() {
							out[int64(dp.StartTimestamp())]++
						}
					case pmetric.MetricTypeHistogram:
						for _, dp := range m.Histogram().DataPoints().All() {
							out[int64(dp.StartTimestamp())]++
						}
					}
				}
			}
		}
	}
	return out
}
