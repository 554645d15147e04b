package exporter_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
)

// BenchmarkStopToDisk measures the window an exiting process has: the time
// from the start of a stop (Reader.Shutdown) until the figures recorded
// since the last update, 1,000 integer counters, are in the final update's
// spool file. (With an update hanging in flight, the stop's collection
// adds such counters to the journal's stream counts instead, as a
// checkpoint does, and writes no file: BenchmarkCheckpoint times that.)
func BenchmarkStopToDisk(b *testing.B) {
	for _, inFlight := range []bool{false} {
		b.Run("inflight="+strconv.FormatBool(inFlight), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				dir, reader, counters := stoppingProcess(b, inFlight)
				for i, c := range counters {
					c.Add(context.Background(), int64(i+1))
				}
				ctx, cancel := context.WithCancel(context.Background())
				stopped := make(chan struct{})
				b.StartTimer()
				go func() {
					defer close(stopped)
					_ = reader.Shutdown(ctx)
				}()
				waitForFile(b, dir, []byte("final_999"))
				b.StopTimer()
				cancel() // the process would be gone by now
				<-stopped
				b.StartTimer()
			}
		})
	}
}

// stoppingProcess starts a Reader with a spool whose server answers the
// first update (unless it is to hang in flight) and hangs on the rest. It
// returns the directory where the instance's files go.
func stoppingProcess(b *testing.B, inFlight bool) (string, *exporter.Reader, []metric.Int64Counter) {
	var answered atomic.Int32
	hung := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !inFlight && answered.Add(1) == 1 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		select {
		case <-hung:
		case <-r.Context().Done():
		}
	}))
	b.Cleanup(func() { close(hung); srv.Close() })
	dir := b.TempDir()
	exp, err := exporter.New(exporter.WithEndpoint(srv.URL+"/"), exporter.WithInstanceID(testID),
		exporter.WithRuntimeFigures(false), exporter.WithSpool(dir), exporter.WithRequestTimeout(time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	reader := exporter.NewReader(exp)
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("bench")
	counters := make([]metric.Int64Counter, 1000)
	for i := range counters {
		counters[i], _ = meter.Int64Counter("final_" + strconv.Itoa(i))
	}
	reader.Start()
	for answered.Load() == 0 && !inFlight {
		time.Sleep(100 * time.Microsecond) // the first update is delivered
	}
	time.Sleep(5 * time.Millisecond) // and done with
	return exporter.SpoolInstanceDir(dir, testID), reader, counters
}

// waitForFile polls dir until a spool file (an update's or the carried
// figures', JSON) holds marker. The journal is not read: a mapped file of
// megabytes, read every 50 µs, had made the poll itself the time measured.
func waitForFile(b *testing.B, dir string, marker []byte) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && bytes.Contains(data, marker) {
				return
			}
		}
		time.Sleep(50 * time.Microsecond)
	}
	b.Fatal("the figures never reached the spool")
}
