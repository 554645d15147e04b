package exporter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
	"github.com/telemetrybridge/telemetry/receiver"
)

func TestWriterShowsPayloadsInsteadOfSending(t *testing.T) {
	s := servertest.New(t)
	var out bytes.Buffer
	exp := newExporter(t, s, exporter.WithWriter(&out))
	if err := exp.Export(context.Background(), counterData("requests", 2)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests in local mode", n)
	}
	if !strings.Contains(out.String(), "\n  \"data\": {") {
		t.Errorf("not indented JSON:\n%s", out.String())
	}
	var p payload.Payload
	if err := json.Unmarshal(out.Bytes(), &p); err != nil || p.Int("requests") != 2 {
		t.Errorf("written payload %v (%v)", p.Data, err)
	}
}

func TestOwnErrorHandlerGetsScheduledFailures(t *testing.T) {
	global := servertest.CaptureErrors(t)
	own := &servertest.ErrorLog{}
	s := servertest.New(t)
	s.SetFallback(servertest.Reply{Status: 503, Body: "down"})
	r := exporter.NewReader(newExporter(t, s, fastRetry(1), exporter.WithErrorHandler(own)))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	r.Start()
	s.Wait(t, 1)
	deadline := time.Now().Add(5 * time.Second)
	for len(own.Messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := own.Messages(); len(got) != 1 || !strings.Contains(got[0], "503") {
		t.Errorf("own handler got %q", got)
	}
	if got := global.Messages(); len(got) != 0 {
		t.Errorf("the global handler got %d errors too: %q", len(got), got)
	}
}

func TestCompressionGzipsTheBody(t *testing.T) {
	r := receiver.New()
	srv := httptest.NewServer(r)
	defer srv.Close()
	exp := newExporterTo(t, srv.URL+receiver.DefaultPrefix, exporter.WithCompression(true))
	if err := exp.Export(context.Background(), counterData("requests", 5)); err != nil {
		t.Fatal(err)
	}
	if got := r.Payloads(testID); len(got) != 1 || got[0].Int("requests") != 5 {
		t.Errorf("the receiver decoded %v", got)
	}
}
