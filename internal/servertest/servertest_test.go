package servertest_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

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

func TestJSONAnswersAsTheServersDo(t *testing.T) {
	resp := payload.Response{NextUpdate: time.Minute, Error: "<a> & é", DisableKeys: []string{"x<y"}}
	rep := servertest.JSON(resp)
	if want := string(payload.AppendResponse(nil, resp)); rep.Body != want {
		t.Errorf("body %s, want %s", rep.Body, want)
	}
	back, err := payload.DecodeResponse(strings.NewReader(rep.Body))
	if err != nil || !reflect.DeepEqual(back, resp) {
		t.Errorf("the body reads back as %+v (%v), want %+v", back, err, resp)
	}
	if rep.Status != http.StatusOK || rep.ContentType != "application/json" {
		t.Errorf("status %d, content type %q", rep.Status, rep.ContentType)
	}
}
