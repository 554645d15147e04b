package loadgen

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

func TestAnUpdateHoldsFiftyKeysThePayloadPackageReads(t *testing.T) {
	var w payload.Writer
	body := WriteUpdate(&w, nil, InstanceID(7, 3), 3, 1, time.Now())
	p, err := payload.DecodePayload(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if len(p.Data) != 50 || p.InstanceID != InstanceID(7, 3) {
		t.Errorf("%d keys for instance %q, want 50 for %q", len(p.Data), p.InstanceID, InstanceID(7, 3))
	}
	if p.Data["version"] != Version(3, 1) {
		t.Errorf("version %v, want %s", p.Data["version"], Version(3, 1))
	}
}

// TestRoundRetriesRefusedUpdatesAndRecordsAccepted: a server refusing every
// other attempt with 503 gets each update twice; the truth holds each once.
func TestRoundRetriesRefusedUpdatesAndRecordsAccepted(t *testing.T) {
	var attempts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/update/") {
			t.Errorf("path %s", r.URL.Path)
		}
		if attempts.Add(1)%2 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	truth := NewTruth()
	cfg := Config{Endpoint: srv.URL + "/v1/update/", Instances: 100, Concurrency: 1, RetryAfter: time.Millisecond}
	st, err := Round(context.Background(), cfg, 1, truth)
	if err != nil {
		t.Fatal(err)
	}
	if st.Accepted != 100 || st.Refused != 100 || truth.Instances() != 100 {
		t.Errorf("accepted %d, refused %d, truth of %d instances; want 100 each", st.Accepted, st.Refused, truth.Instances())
	}
	want := int64(0)
	for i := range 100 {
		want += CounterAdd(i, 0, 1)
	}
	if truth.Counters["c00"] != want {
		t.Errorf("c00 total %d, want %d", truth.Counters["c00"], want)
	}
}
