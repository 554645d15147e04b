package servertest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

func TestRequestsKeepTheirIdempotencyKey(t *testing.T) {
	s := servertest.New(t)
	for _, key := range []string{"k1", ""} {
		req, _ := http.NewRequest(http.MethodPost, s.Endpoint()+"x", strings.NewReader("{}"))
		if key != "" {
			req.Header.Set(payload.HeaderIdempotencyKey, key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
	}
	got := s.Wait(t, 2)
	if got[0].Key != "k1" || got[1].Key != "" || string(got[0].Body) != "{}" {
		t.Errorf("requests %+v", got)
	}
}
