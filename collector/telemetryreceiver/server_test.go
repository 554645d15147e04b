package telemetryreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/telemetrybridge/telemetry/payload"
)

// testConfig listens on a free loopback port, answers next_update as
// configured and takes updates however soon they come: the tests that
// check the schedule set it themselves.
func testConfig() *Config {
	cfg := createDefaultConfig()
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.Schedule.Jitter, cfg.Schedule.EarlyShare = 0, 0
	return cfg
}

// startReceiver runs the receiver made by the factory until the test ends
// and returns the base URL clients post to.
func startReceiver(t testing.TB, cfg *Config, next consumer.Metrics) string {
	t.Helper()
	f := NewFactory()
	rcv, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		t.Fatalf("CreateMetrics: %v", err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := rcv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return "http://" + rcv.(*telemetryReceiver).addr.String() + cfg.Path
}

func updateBody(id uuid.UUID, data string) []byte {
	return []byte(`{"instance_id":"` + id.String() + `","timestamp":"2026-11-25T10:00:00Z","expect_next":"0001-01-01T00:00:00Z","data":` + data + `}`)
}

// post sends body and returns the status, the decoded answer and the
// response headers.
func post(t testing.TB, method, url, contentType string, body []byte, header ...string) (int, payload.Response, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var resp payload.Response
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Errorf("answer is not JSON (status %d): %q", res.StatusCode, raw)
		}
	}
	return res.StatusCode, resp, res.Header
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func TestAcceptedUpdateIsAnsweredWithTheConfiguredResponse(t *testing.T) {
	cfg := testConfig()
	cfg.Response = ResponseConfig{NextUpdate: 2 * time.Hour, DisableKeys: []string{"os"}, EnableKeys: []string{"arch"}}
	quiet := uuid.MustParse("00000000-0000-4000-8000-000000000001")
	cfg.Instances = map[string]ResponseConfig{quiet.String(): {Stop: true}}
	sink := new(consumertest.MetricsSink)
	base := startReceiver(t, cfg, sink)

	status, resp, _ := post(t, http.MethodPost, base+testID.String(), "application/json", updateBody(testID, `{"n": 1}`))
	if status != http.StatusOK || resp.NextUpdate != 2*time.Hour || resp.Stop ||
		strings.Join(resp.DisableKeys, ",") != "os" || strings.Join(resp.EnableKeys, ",") != "arch" || resp.Error != "" {
		t.Errorf("answer %d %+v, want 200 with the configured response", status, resp)
	}
	status, resp, _ = post(t, http.MethodPost, base+quiet.String(), "application/json; charset=utf-8",
		gzipped(updateBody(quiet, `{"n": 2}`)), "Content-Encoding", "gzip")
	if status != http.StatusOK || !resp.Stop || resp.NextUpdate != 0 {
		t.Errorf("answer to the configured instance %d %+v, want 200 with stop only", status, resp)
	}
	if got := sink.DataPointCount(); got != 2 {
		t.Errorf("%d points reached the pipeline, want 2", got)
	}
}

func TestRefusedRequestsGetAStatusAndAJSONError(t *testing.T) {
	cfg := testConfig()
	cfg.ServerConfig.MaxRequestBodySize = 1024
	sink := new(consumertest.MetricsSink)
	base := startReceiver(t, cfg, sink)
	good := base + testID.String()
	big := updateBody(testID, `{"s": "`+strings.Repeat("x", 2000)+`"}`)

	for _, tc := range []struct {
		name, method, url, contentType string
		body                           []byte
		header                         []string
		status                         int
		says                           string
	}{
		{"wrong method", http.MethodGet, good, "application/json", nil, nil, http.StatusMethodNotAllowed, "POST"},
		{"outside the path", http.MethodPost, strings.Replace(good, "/v1/update/", "/v2/", 1), "application/json", updateBody(testID, `{}`), nil, http.StatusNotFound, "/v1/update/"},
		{"bad UUID", http.MethodPost, base + "not-a-uuid", "application/json", updateBody(testID, `{}`), nil, http.StatusBadRequest, "not an instance UUID"},
		{"nil UUID", http.MethodPost, base + uuid.Nil.String(), "application/json", updateBody(uuid.Nil, `{}`), nil, http.StatusBadRequest, "not an instance UUID"},
		{"not JSON", http.MethodPost, good, "text/plain", updateBody(testID, `{}`), nil, http.StatusUnsupportedMediaType, "application/json"},
		{"malformed", http.MethodPost, good, "application/json", []byte(`{"instance_id":`), nil, http.StatusBadRequest, "not a JSON update"},
		{"two values", http.MethodPost, good, "application/json", append(updateBody(testID, `{}`), "{}"...), nil, http.StatusBadRequest, "after the top-level value"},
		{"other instance", http.MethodPost, good, "application/json", updateBody(uuid.New(), `{}`), nil, http.StatusBadRequest, "does not match"},
		{"no timestamp", http.MethodPost, good, "application/json", []byte(`{"instance_id":"` + testID.String() + `"}`), nil, http.StatusBadRequest, "timestamp"},
		{"too large", http.MethodPost, good, "application/json", big, nil, http.StatusRequestEntityTooLarge, "1024 bytes"},
		{"too large once inflated", http.MethodPost, good, "application/json", gzipped(big), []string{"Content-Encoding", "gzip"}, http.StatusRequestEntityTooLarge, "1024 bytes"},
		{"broken gzip", http.MethodPost, good, "application/json", []byte("not gzip"), []string{"Content-Encoding", "gzip"}, http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, resp, header := post(t, tc.method, tc.url, tc.contentType, tc.body, tc.header...)
			if status != tc.status {
				t.Errorf("status %d, want %d (error %q)", status, tc.status, resp.Error)
			}
			if resp.Error == "" || !strings.Contains(resp.Error, tc.says) {
				t.Errorf("error %q, want one that says %q", resp.Error, tc.says)
			}
			if tc.status == http.StatusMethodNotAllowed && header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow: %q, want POST", header.Get("Allow"))
			}
		})
	}
	if n := sink.DataPointCount(); n != 0 {
		t.Errorf("%d points of refused requests reached the pipeline", n)
	}
}

// refusingSink refuses its first refusals calls with err, then stores.
type refusingSink struct {
	consumertest.MetricsSink
	refusals atomic.Int32
	err      error
}

func (s *refusingSink) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if s.refusals.Add(-1) >= 0 {
		return s.err
	}
	return s.MetricsSink.ConsumeMetrics(ctx, md)
}

func TestUpdateOfTooManyValuesIsRefused(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	base := startReceiver(t, testConfig(), sink)
	ones := strings.Repeat("1,", MaxValuesPerUpdate) // with the payload's own, over the limit
	body := updateBody(testID, `{"list": [`+ones+`1]}`)
	status, resp, _ := post(t, http.MethodPost, base+testID.String(), "application/json", body)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(resp.Error, "JSON values") {
		t.Errorf("answer %d %q, want 413 about the number of values", status, resp.Error)
	}
	if n := sink.DataPointCount(); n != 0 {
		t.Errorf("%d points stored", n)
	}
}

func TestPipelineRefusalIsNotAcknowledged(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{"passing", errors.New("memory limit reached"), http.StatusServiceUnavailable, "2"},
		{"lasting", consumererror.NewPermanent(errors.New("data refused")), http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.RetryAfter = 1500 * time.Millisecond // rounded up to whole seconds
			sink := &refusingSink{err: tc.err}
			sink.refusals.Store(1)
			base := startReceiver(t, cfg, sink)

			status, resp, header := post(t, http.MethodPost, base+testID.String(), "application/json", updateBody(testID, `{"n": 1}`))
			if status != tc.status || header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("answer %d with Retry-After %q, want %d with %q", status, header.Get("Retry-After"), tc.status, tc.retryAfter)
			}
			if !strings.Contains(resp.Error, tc.err.Error()) {
				t.Errorf("error %q does not say %q", resp.Error, tc.err)
			}
			if resp.NextUpdate != 0 || resp.Stop {
				t.Errorf("a refusal carries directives: %+v", resp)
			}
			if n := sink.DataPointCount(); n != 0 {
				t.Errorf("%d points stored from a refused update", n)
			}
		})
	}
}
