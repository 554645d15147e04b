package exporter

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestNextUpdateBounds(t *testing.T) {
	isDefault := func(d time.Duration) bool { return d >= defaultInterval && d < defaultInterval+defaultJitter }
	for _, in := range []time.Duration{0, -time.Second, 999 * time.Millisecond} {
		if got := nextUpdate(in); !isDefault(got) {
			t.Errorf("nextUpdate(%v) = %v, want the default interval", in, got)
		}
	}
	if got := nextUpdate(time.Second); got != time.Second {
		t.Errorf("nextUpdate(1s) = %v, want exactly 1s", got)
	}
	if got := nextUpdate(10 * 365 * 24 * time.Hour); got != maxNextUpdate {
		t.Errorf("nextUpdate(10y) = %v, want the cap %v", got, maxNextUpdate)
	}
}

func TestTooEarlyWait(t *testing.T) {
	header := func(v string) *http.Response {
		return &http.Response{Header: http.Header{"Retry-After": {v}}}
	}
	future := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name     string
		res      *http.Response
		body     string
		min, max time.Duration
	}{
		{"next_update wins", header("5"), `{"next_update":3000000000}`, 3 * time.Second, 3 * time.Second},
		{"retry-after seconds", header("5"), ``, 5 * time.Second, 5 * time.Second},
		{"retry-after date", header(future), `not json`, 28 * time.Second, 30 * time.Second},
		{"nothing: a second", header(""), ``, time.Second, time.Second},
		{"past date: a second", header("Mon, 02 Jan 2006 15:04:05 GMT"), ``, time.Second, time.Second},
		{"capped", header("999999999"), ``, maxTooEarlyWait, maxTooEarlyWait},
	} {
		if got := tooEarlyWait(tc.res, []byte(tc.body)); got < tc.min || got > tc.max {
			t.Errorf("%s: %v, want in [%v, %v]", tc.name, got, tc.min, tc.max)
		}
	}
}

func TestRetryAfterOfA503IsTheLeastBackoff(t *testing.T) {
	e := &Exporter{}
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       time.Duration
	}{
		{http.StatusServiceUnavailable, "7", 7 * time.Second},
		{http.StatusServiceUnavailable, "", 0},
		{http.StatusServiceUnavailable, "soon", 0},
		{http.StatusInternalServerError, "7", 0}, // only 503 says when to come back
	} {
		res := &http.Response{StatusCode: tc.status, Status: http.StatusText(tc.status), Header: http.Header{"Retry-After": {tc.retryAfter}}}
		if a := e.classify(res, nil); a.verdict != retryable || a.wait != tc.want {
			t.Errorf("%d with Retry-After %q: verdict %v, wait %v; want retryable, %v", tc.status, tc.retryAfter, a.verdict, a.wait, tc.want)
		}
	}
}

func TestScheduledUpdateIsSkippedWhileOneIsInFlight(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	exp, err := New(WithEndpoint(srv.URL+"/"), WithInstanceID(uuid.New()))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(exp)
	r.lastNext.Store(int64(42 * time.Second))
	r.inFlight <- struct{}{} // an update is in flight
	s := r.scheduledUpdate(context.Background(), false)
	if hits.Load() != 0 || s.next != 42*time.Second || s.stop {
		t.Errorf("skipped update sent %d requests and returned %+v", hits.Load(), s)
	}
	<-r.inFlight
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, opts := range map[string][]Option{
		"no instance ID":   nil,
		"zero instance ID": {WithInstanceID(uuid.Nil)},
		"bad endpoint":     {WithInstanceID(uuid.New()), WithEndpoint("ftp://x/")},
		"relative":         {WithInstanceID(uuid.New()), WithEndpoint("/v1/update/")},
	} {
		if _, err := New(opts...); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	exp, err := New(WithInstanceID(uuid.New()))
	if err != nil || exp.cfg.endpoint != DefaultEndpoint {
		t.Errorf("defaults: %v, endpoint %q", err, exp.cfg.endpoint)
	}
}

func TestStartupKeysAreTrimmedAndEmptyIgnored(t *testing.T) {
	f := newKeyFilter([]string{"os,, arch ", "", "  ", "tls"})
	if len(f.permanent) != 3 || !f.disabled("arch") || !f.disabled("os:x") || f.disabled("") {
		t.Errorf("filter %v", f.permanent)
	}
}

func TestServerDisabledKeysAreBounded(t *testing.T) {
	f := newKeyFilter(nil)
	many := make([]string, maxServerKeys+10)
	for i := range many {
		many[i] = uuid.NewString()
	}
	if !f.applyServer(many, nil) || len(*f.server.Load()) != maxServerKeys {
		t.Errorf("server list not bounded: %d", len(*f.server.Load()))
	}
}

func TestRepeatedFailuresAreReportedOnce(t *testing.T) {
	var f failureLog
	down := errors.New("server down")
	if !f.fail(down) || f.fail(down) || f.fail(down) {
		t.Error("the same failure was reported more than once in a row")
	}
	if !f.fail(errors.New("now a timeout")) {
		t.Error("a different failure was not reported")
	}
	if n := f.succeed(); n != 4 {
		t.Errorf("recovery after %d failures, want 4", n)
	}
	if n := f.succeed(); n != 0 || !f.fail(down) {
		t.Errorf("after recovery: %d failures, and the next failure must be reported again", n)
	}
}
