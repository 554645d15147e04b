package exporter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A figure on its way between the carried file and an update file is in
// both for an instant. A process that dies in that instant must leave it
// to be claimed once: these tests stop the first exporter there (its lock
// let go, nothing cleaned up) and count what the next one sends.
func TestFiguresMovingBetweenFilesAreClaimedOnce(t *testing.T) {
	for name, dieMidway := range map[string]func(t *testing.T, e *Exporter, entries []entry){
		// deliver: the carried file keeps a failed update's figures, and
		// the update's file is not deleted yet.
		"failed update carried, its file not deleted": func(t *testing.T, e *Exporter, entries []entry) {
			spooled, ok := e.spool.beginUpdate(entries, spoolMeta{})
			if !ok {
				t.Fatal("the update file was not written")
			}
			if err := e.carried.keepUpdate(entries, 0, spooled); err != nil {
				t.Fatal(err)
			}
		},
		// prepare: an update took the carried figures and is on disk, and
		// the carried file is not rewritten yet.
		"carried figures taken, the carried file not rewritten": func(t *testing.T, e *Exporter, entries []entry) {
			if err := e.carried.keep(entries, 0); err != nil {
				t.Fatal(err)
			}
			taken, meta := e.carried.take()
			if _, ok := e.spool.beginUpdate(taken, meta); !ok {
				t.Fatal("the update file was not written")
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			id := uuid.New()
			first, err := New(WithInstanceID(id), WithSpool(dir), WithEndpoint("http://127.0.0.1:1/v1/update/"), WithRuntimeFigures(false))
			if err != nil {
				t.Fatal(err)
			}
			entries, problems := first.convert(new(converter), countOf("hits", 7))
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			dieMidway(t, first, entries)
			first.spool.owner.unlock() // dead: its lock is free, its files stay

			var mu sync.Mutex
			var sent []map[string]json.RawMessage
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				var p struct {
					Data map[string]json.RawMessage `json:"data"`
				}
				_ = json.Unmarshal(body, &p)
				mu.Lock()
				sent = append(sent, p.Data)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"next_update": 3600000000000}`)
			}))
			defer srv.Close()
			next, err := New(WithInstanceID(id), WithSpool(dir), WithEndpoint(srv.URL+"/v1/update/"), WithRuntimeFigures(false))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := next.Export(ctx, &metricdata.ResourceMetrics{}); err != nil {
				t.Fatal(err)
			}
			_ = next.Shutdown(ctx)
			mu.Lock()
			defer mu.Unlock()
			if len(sent) != 1 || string(sent[0]["hits"]) != "7" {
				t.Fatalf("sent %v, want one update with hits 7", sent)
			}
		})
	}
}

func countOf(name string, n int64) *metricdata.ResourceMetrics {
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{{
		Name: name, Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality,
			DataPoints: []metricdata.DataPoint[int64]{{Value: n, Time: time.Now()}}},
	}}}}}
}
