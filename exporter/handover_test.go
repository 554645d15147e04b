package exporter_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/journal"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// Figures spooled before their key was disabled are not sent after a
// restart, whether the key was disabled by configuration or by the server
// (in an answer to another process of the instance, kept in directives).
func TestSpooledFiguresOfDisabledKeysAreNotSent(t *testing.T) {
	ctx := context.Background()
	for _, byServer := range []bool{false, true} {
		t.Run(map[bool]string{false: "by configuration", true: "by the server"}[byServer], func(t *testing.T) {
			dir := t.TempDir()
			down := servertest.New(t)
			down.SetFallback(servertest.Reply{Status: http.StatusServiceUnavailable})
			first := newExporter(t, down, fastRetry(1), exporter.WithSpool(dir))
			_ = first.Export(ctx, collection(sum("secret", pt(4)), sum("open", pt(2))))
			var opts []exporter.Option
			if byServer {
				// While the first process lives (its files are not claimed),
				// another process of the instance hears the server disable
				// the key.
				disabling := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour, DisableKeys: []string{"secret"}}))
				other := newExporter(t, disabling, exporter.WithSpool(dir))
				if err := other.Export(ctx, collection()); err != nil {
					t.Fatal(err)
				}
				_ = other.Shutdown(ctx)
			} else {
				opts = append(opts, exporter.WithDisabledKeys("secret"))
			}
			_ = first.Shutdown(ctx)

			up := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
			next := newExporter(t, up, append(opts, exporter.WithSpool(dir))...)
			if err := next.Export(ctx, collection(sum("open", pt(1)))); err != nil {
				t.Fatal(err)
			}
			_ = next.Shutdown(ctx)
			if n := countOver(t, up, "open"); n != 3 {
				t.Errorf("the server received open = %d over all updates, want 3", n)
			}
			if n := countOver(t, up, "secret"); n != 0 {
				t.Errorf("the disabled key was sent: %d", n)
			}
		})
	}
}

// Orphaned journals count against what one claim may read: three hundred
// planted journals whose records claim the whole 64 MiB (sparse files)
// cost an update at most about one of them, and Shutdown keeps its
// deadline.
func TestManyLargeOrphanedJournalsKeepDeadlines(t *testing.T) {
	if testing.Short() {
		t.Skip("plants 300 sparse files")
	}
	dir := t.TempDir()
	id := testID
	inst := exporter.SpoolInstanceDir(dir, id)
	if err := os.MkdirAll(inst, 0o700); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Create(filepath.Join(inst, "journal-model.bin"), exporter.InstanceHash(id))
	if err != nil {
		t.Fatal(err)
	}
	head, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	head = head[:journal.HeaderSize]
	binary.LittleEndian.PutUint64(head[80:], journal.Size) // records "end" at the file's end
	for i := range 300 {
		name := filepath.Join(inst, fmt.Sprintf("journal-planted%03d.bin", i))
		if err := os.WriteFile(name, head, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(name, journal.Size); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(j.Path()); err != nil {
		t.Fatal(err)
	}
	up := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	exp := newExporter(t, up, exporter.WithSpool(dir))
	r := exporter.NewReader(exp)
	_ = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	r.Start()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.Shutdown(ctx)
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("Shutdown with a 2 s deadline took %v", took)
	}
}
