package exporter_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// counterData is a collection with one plain counter.
func counterData(name string, v int64) *metricdata.ResourceMetrics {
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{
		Metrics: []metricdata.Metrics{{
			Name: name,
			Data: metricdata.Sum[int64]{
				Temporality: metricdata.DeltaTemporality,
				IsMonotonic: true,
				DataPoints:  []metricdata.DataPoint[int64]{{Value: v}},
			},
		}},
	}}}
}

func TestExportPostsPayloadToInstanceURL(t *testing.T) {
	s := servertest.New(t)
	exp := newExporter(t, s)
	before := time.Now().UTC()
	if err := exp.Export(context.Background(), counterData("requests", 7)); err != nil {
		t.Fatal(err)
	}
	got := s.Wait(t, 1)[0]
	if got.Method != http.MethodPost || got.Path != "/v1/update/"+testID.String() {
		t.Errorf("request %s %s, want POST /v1/update/%s", got.Method, got.Path, testID)
	}
	if got.ContentType != "application/json" {
		t.Errorf("Content-Type %q", got.ContentType)
	}
	p := got.Payload(t)
	if p.InstanceID != testID.String() || p.Int("requests") != 7 {
		t.Errorf("payload %+v", p)
	}
	if p.Timestamp.Before(before.Add(-time.Second)) || p.Timestamp.Location() != time.UTC || !p.ExpectNext.IsZero() {
		t.Errorf("timestamp %v, expect_next %v", p.Timestamp, p.ExpectNext)
	}
}

func TestSuccessAppliesKeyDirectives(t *testing.T) {
	s := servertest.New(t,
		servertest.JSON(payload.Response{NextUpdate: time.Hour, DisableKeys: []string{"tls", "both"}, EnableKeys: []string{"both"}}),
		servertest.JSON(payload.Response{NextUpdate: time.Hour, EnableKeys: []string{"tls", "os"}}),
	)
	exp := newExporter(t, s, exporter.WithDisabledKeys(" os "))
	ctx := context.Background()
	if err := exp.Export(ctx, counterData("x", 1)); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"tls": true, "tls:3fa2": true, "both": true, "os": true, "os:linux": true, "tlsx": false, "x": false} {
		if got := exp.KeyDisabled(key); got != want {
			t.Errorf("after disable_keys: KeyDisabled(%q) = %v, want %v", key, got, want)
		}
	}
	if err := exp.Export(ctx, counterData("tls:3fa2", 1)); err != nil {
		t.Fatal(err)
	}
	if p := s.Requests()[1].Payload(t); p.Data != nil {
		t.Errorf("a disabled key was sent: %v", p.Data)
	}
	if exp.KeyDisabled("tls") || !exp.KeyDisabled("os") {
		t.Errorf("enable_keys: tls disabled=%v (want false), os disabled=%v (start-up key, want true)", exp.KeyDisabled("tls"), exp.KeyDisabled("os"))
	}
}

func TestEmptySuccessBodyIsDelivered(t *testing.T) {
	s := servertest.New(t, servertest.Reply{Status: http.StatusNoContent})
	exp := newExporter(t, s)
	if err := exp.Export(context.Background(), counterData("x", 1)); err != nil {
		t.Fatalf("204: %v", err)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestStopDirectiveEndsReporting(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{Stop: true}))
	exp := newExporter(t, s)
	ctx := context.Background()
	if err := exp.Export(ctx, counterData("x", 1)); err != nil {
		t.Fatal(err)
	}
	if !exp.Stopped() {
		t.Fatal("exporter not stopped after stop: true")
	}
	if err := exp.Export(ctx, counterData("x", 1)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d requests after stop, want 1", n)
	}
}

func TestRetiredEndpointStopsForGood(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{http.StatusGone, "upgrade"},
		{http.StatusUnavailableForLegalReasons, "Legal Reasons"},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			s := servertest.New(t, servertest.Reply{Status: tc.status, Body: `{"error":"see the news"}`, ContentType: "application/json"})
			exp := newExporter(t, s)
			err := exp.Export(context.Background(), counterData("x", 1))
			mustContain(t, err, tc.want, "see the news")
			_ = exp.Export(context.Background(), counterData("x", 1))
			if n := len(s.Requests()); n != 1 || !exp.Stopped() {
				t.Errorf("%d requests, stopped=%v; want 1 request and stopped", n, exp.Stopped())
			}
		})
	}
}

func TestTooManyRequestsWaitsThenResendsSamePayload(t *testing.T) {
	s := servertest.New(t,
		servertest.Reply{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}},
		servertest.JSON(payload.Response{NextUpdate: time.Hour}),
	)
	exp := newExporter(t, s)
	if err := exp.Export(context.Background(), counterData("x", 3)); err != nil {
		t.Fatal(err)
	}
	got := s.Requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	if string(got[0].Body) != string(got[1].Body) {
		t.Errorf("the resent payload differs:\n%s\n%s", got[0].Body, got[1].Body)
	}
	if gap := got[1].At.Sub(got[0].At); gap < 900*time.Millisecond {
		t.Errorf("resent after %v, want about Retry-After: 1s", gap)
	}
}

func TestTooManyRequestsCountsAsAttempt(t *testing.T) {
	s := servertest.New(t)
	s.SetFallback(servertest.Reply{Status: http.StatusTooManyRequests, Body: `{"next_update":1000000000}`, ContentType: "application/json"})
	exp := newExporter(t, s, fastRetry(2))
	err := exp.Export(context.Background(), counterData("x", 1))
	mustContain(t, err, "429", "2 attempts")
	if n := len(s.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestFailuresRetryWithBackoffThenGiveUp(t *testing.T) {
	for name, r := range map[string]servertest.Reply{
		"500":               {Status: 500, Body: "boom"},
		"408":               {Status: 408},
		"409":               {Status: 409, Body: "the same key is being handled"},
		"504":               {Status: 504},
		"non-JSON body":     {Status: 200, Body: "<html>", ContentType: "application/json"},
		"non-JSON type":     {Status: 200, Body: `{"next_update":1}`, ContentType: "text/html"},
		"oversized answer":  {Status: 200, Body: `{"error":"` + string(make([]byte, 2<<20)) + `"}`, ContentType: "application/json"},
		"request too slow":  {Status: 200, Delay: 2 * time.Second},
		"redirect off-host": {Status: http.StatusTemporaryRedirect, Header: map[string]string{"Location": "http://127.0.0.2:1/elsewhere"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := servertest.New(t)
			s.SetFallback(r)
			exp := newExporter(t, s, fastRetry(4), exporter.WithRequestTimeout(200*time.Millisecond))
			err := exp.Export(context.Background(), counterData("x", 1))
			mustContain(t, err, "4 attempts")
			if n := len(s.Requests()); n != 4 {
				t.Errorf("%d requests, want 4", n)
			}
		})
	}
}

func TestPermanentRefusalIsNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 413, 415, 422} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			s := servertest.New(t)
			s.SetFallback(servertest.Reply{Status: status, Body: `{"error":"no"}`, ContentType: "application/json"})
			exp := newExporter(t, s, fastRetry(4))
			err := exp.Export(context.Background(), counterData("x", 1))
			mustContain(t, err, "refused", "dropped")
			if n := len(s.Requests()); n != 1 {
				t.Errorf("%d requests, want 1: a refusal is not retried", n)
			}
		})
	}
}

func TestNetworkErrorIsRetriedAndRedacted(t *testing.T) {
	s := servertest.New(t)
	s.Close() // nothing listens there any more
	exp := newExporter(t, s, fastRetry(2))
	err := exp.Export(context.Background(), counterData("x", 1))
	mustContain(t, err, "2 attempts", "<instance-id>")
}

func TestExportHonoursContext(t *testing.T) {
	s := servertest.New(t)
	s.SetFallback(servertest.Reply{Status: 500})
	exp := newExporter(t, s, slowRetry())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := exp.Export(ctx, counterData("x", 1))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("Export returned %v after %v; want the deadline error promptly", err, time.Since(start))
	}
}

func TestShutdownExporterSendsNothing(t *testing.T) {
	s := servertest.New(t)
	exp := newExporter(t, s)
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := exp.Export(context.Background(), counterData("x", 1))
	if !errors.Is(err, sdkmetric.ErrExporterShutdown) {
		t.Errorf("Export after Shutdown: %v, want ErrExporterShutdown", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests after Shutdown", n)
	}
}
