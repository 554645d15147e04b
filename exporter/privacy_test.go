package exporter_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
)

// Whatever goes wrong, neither returned errors nor reported ones carry
// the instance ID: it is the one private thing an update holds.
func TestTheInstanceIDStaysPrivate(t *testing.T) {
	global := servertest.CaptureErrors(t)
	own := &servertest.ErrorLog{}
	echo := `{"error":"no such instance: ` + testID.String() + `"}`
	for _, r := range []servertest.Reply{
		{Status: 500, Body: echo, ContentType: "application/json"},
		{Status: 404, Body: "/v1/update/" + testID.String()},
		{Status: 410, Body: echo, ContentType: "application/json"},
		{Status: http.StatusTemporaryRedirect, Header: map[string]string{"Location": "http://127.0.0.2:1/v1/update/" + testID.String()}},
	} {
		s := servertest.New(t)
		s.SetFallback(r)
		reader := exporter.NewReader(newExporter(t, s, fastRetry(1), exporter.WithErrorHandler(own)))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		reader.Start()
		s.Wait(t, 1)
		time.Sleep(50 * time.Millisecond)
		if err := reader.ForceFlush(context.Background()); err != nil {
			mustContain(t, err)
		}
		_ = mp.Shutdown(context.Background())
	}
	refused := newExporterTo(t, "http://127.0.0.1:1/v1/update/", fastRetry(1), exporter.WithErrorHandler(own))
	mustContain(t, refused.Export(context.Background(), nil))

	msgs := append(own.Messages(), global.Messages()...)
	if len(msgs) == 0 {
		t.Fatal("nothing was reported: the test proves nothing")
	}
	for _, m := range msgs {
		if strings.Contains(m, testID.String()) {
			t.Errorf("a report reveals the instance ID: %s", m)
		}
	}
}
