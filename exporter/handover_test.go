package exporter_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/exporter"
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
			expectJSON(t, lastData(t, up), map[string]string{"open": "3"})
		})
	}
}
