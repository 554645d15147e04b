package receiver_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
	"github.com/telemetrybridge/telemetry/receiver"
)

func post(t *testing.T, h http.Handler, method, path, contentType, body string) (*httptest.ResponseRecorder, payload.Response) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var resp payload.Response
	if w.Body.Len() > 0 {
		var err error
		if resp, err = payload.DecodeResponse(w.Body); err != nil {
			t.Fatalf("answer is not a JSON Response: %v: %s", err, w.Body)
		}
	}
	return w, resp
}

func body(id uuid.UUID, data string) string {
	return `{"instance_id":"` + id.String() + `","timestamp":"2026-11-24T10:00:00Z","data":` + data + `}`
}

func TestAcceptsStoresAndAnswers(t *testing.T) {
	var seen []receiver.Exchange
	r := receiver.New(
		receiver.WithResponse(payload.Response{NextUpdate: 2 * time.Second}),
		receiver.WithOnUpdate(func(u receiver.Exchange) { seen = append(seen, u) }),
	)
	id := uuid.New()
	before := time.Now()
	w, resp := post(t, r, http.MethodPost, "/v1/update/"+id.String(), "application/json", body(id, `{"n":1}`))
	if w.Code != http.StatusOK || resp.NextUpdate != 2*time.Second {
		t.Fatalf("answer %d %+v", w.Code, resp)
	}
	got := r.Payloads(id)
	if len(got) != 1 || got[0].Int("n") != 1 {
		t.Fatalf("stored %+v", got)
	}
	if exp := got[0].ExpectNext; exp.Before(before.Add(2*time.Second)) || exp.After(time.Now().Add(2*time.Second)) {
		t.Errorf("expect_next %v, want receipt + 2s", exp)
	}
	if len(seen) != 1 || seen[0].Instance != id || seen[0].Response.NextUpdate != 2*time.Second {
		t.Errorf("OnUpdate saw %+v", seen)
	}
}

func TestRejectsBadRequests(t *testing.T) {
	r := receiver.New(receiver.WithMaxBodySize(200))
	id := uuid.New()
	good := body(id, `{}`)
	for name, tc := range map[string]struct {
		method, path, ct, body string
		status                 int
		want                   string
	}{
		"GET":             {http.MethodGet, "/v1/update/" + id.String(), "application/json", good, 405, "POST"},
		"outside prefix":  {http.MethodPost, "/other/" + id.String(), "application/json", good, 404, "/v1/update/"},
		"bad UUID":        {http.MethodPost, "/v1/update/not-a-uuid", "application/json", good, 400, "UUID"},
		"zero UUID":       {http.MethodPost, "/v1/update/" + uuid.Nil.String(), "application/json", good, 400, "UUID"},
		"not JSON type":   {http.MethodPost, "/v1/update/" + id.String(), "text/plain", good, 415, "application/json"},
		"malformed body":  {http.MethodPost, "/v1/update/" + id.String(), "application/json", `{"data":`, 400, "JSON"},
		"oversized body":  {http.MethodPost, "/v1/update/" + id.String(), "application/json", body(id, `{"k":"`+strings.Repeat("x", 300)+`"}`), 413, "larger"},
		"other instance":  {http.MethodPost, "/v1/update/" + id.String(), "application/json", body(uuid.New(), `{}`), 400, "match"},
		"charset allowed": {http.MethodPost, "/v1/update/" + id.String(), "application/json; charset=utf-8", good, 200, ""},
	} {
		t.Run(name, func(t *testing.T) {
			w, resp := post(t, r, tc.method, tc.path, tc.ct, tc.body)
			if w.Code != tc.status || !strings.Contains(resp.Error, tc.want) {
				t.Errorf("got %d %q, want %d with an error mentioning %q", w.Code, resp.Error, tc.status, tc.want)
			}
		})
	}
}

func TestPerInstanceResponsesAndBounds(t *testing.T) {
	var lines bytes.Buffer
	r := receiver.New(receiver.WithKeep(2, 2), receiver.WithJSONLines(&lines))
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	r.SetResponse(a, payload.Response{NextUpdate: time.Minute, DisableKeys: []string{"x"}})
	for i := range 3 {
		_, resp := post(t, r, http.MethodPost, "/v1/update/"+a.String(), "application/json", body(a, `{"i":`+string(rune('0'+i))+`}`))
		if resp.NextUpdate != time.Minute || len(resp.DisableKeys) != 1 {
			t.Fatalf("instance answer %+v", resp)
		}
	}
	if got := r.Payloads(a); len(got) != 2 || got[0].Int("i") != 1 {
		t.Errorf("kept %v, want the last two", got)
	}
	post(t, r, http.MethodPost, "/v1/update/"+b.String(), "application/json", body(b, `{}`))
	_, resp := post(t, r, http.MethodPost, "/v1/update/"+c.String(), "application/json", body(c, `{}`))
	if resp.NextUpdate != receiver.DefaultNextUpdate {
		t.Errorf("default answer %+v", resp)
	}
	if ids := r.Instances(); len(ids) != 2 || ids[0] != b || ids[1] != c {
		t.Errorf("instances %v, want the two most recent", ids)
	}
	if n := strings.Count(lines.String(), "\n"); n != 5 || !strings.Contains(lines.String(), `"expect_next"`) {
		t.Errorf("%d JSON lines:\n%s", n, lines.String())
	}
}

func TestInjectedFaults(t *testing.T) {
	r := receiver.New()
	id := uuid.New()
	r.InjectFaults(
		receiver.Fault{Status: 429, RetryAfter: "3", Count: 2},
		receiver.Fault{Status: 200, Body: "{broken"},
	)
	path := "/v1/update/" + id.String()
	for i := range 2 {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body(id, `{}`)))
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 429 || w.Header().Get("Retry-After") != "3" {
			t.Errorf("request %d: %d Retry-After %q", i, w.Code, w.Header().Get("Retry-After"))
		}
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body(id, `{}`)))
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != 200 || w.Body.String() != "{broken" {
		t.Errorf("broken body fault: %d %q", w.Code, w.Body)
	}
	if w, _ := post(t, r, http.MethodPost, path, "application/json", body(id, `{}`)); w.Code != 200 || len(r.Payloads(id)) != 1 {
		t.Errorf("after the faults: %d, %d payloads", w.Code, len(r.Payloads(id)))
	}
}

func TestGzipBodiesAndTheirLimit(t *testing.T) {
	r := receiver.New(receiver.WithMaxBodySize(1000))
	id := uuid.New()
	send := func(data string) int {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(body(id, data)))
		_ = zw.Close()
		req := httptest.NewRequest(http.MethodPost, "/v1/update/"+id.String(), &buf)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	if code := send(`{"n":1}`); code != 200 || r.Payloads(id)[0].Int("n") != 1 {
		t.Errorf("gzip body: %d", code)
	}
	// Small on the wire, too large once inflated.
	if code := send(`{"k":"` + strings.Repeat("x", 5000) + `"}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("inflating past the limit: %d, want 413", code)
	}
}

// TestJSONLinesAreWhatPayloadWrites checks that each line is the stored
// payload as payload.Append writes it (strings as they are, not with the
// HTML escapes of encoding/json) and that it reads back as stored.
func TestJSONLinesAreWhatPayloadWrites(t *testing.T) {
	var lines bytes.Buffer
	r := receiver.New(receiver.WithJSONLines(&lines))
	id := uuid.New()
	data := `{"markup":"<b>&amp;</b>","name":"Zoë \u2028","nested":{"list":[1,2.5,"\u0001"]},"n":3}`
	if w, _ := post(t, r, http.MethodPost, "/v1/update/"+id.String(), "application/json", body(id, data)); w.Code != http.StatusOK {
		t.Fatalf("answer %d: %s", w.Code, w.Body)
	}
	stored := r.Payloads(id)
	if len(stored) != 1 {
		t.Fatalf("stored %d payloads, want 1", len(stored))
	}
	want, err := payload.Append(nil, stored[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSuffix(lines.String(), "\n"); got != string(want) {
		t.Errorf("JSON line\n  %s\nwant\n  %s", got, want)
	}
	if !strings.Contains(lines.String(), `"<b>&amp;</b>"`) {
		t.Errorf("the line escapes what it need not: %s", lines.String())
	}
	back, err := payload.ParsePayload(bytes.TrimSpace(lines.Bytes()), payload.Limits{})
	if err != nil || !reflect.DeepEqual(back, stored[0]) {
		t.Errorf("the line reads back as %+v (%v), want %+v", back, err, stored[0])
	}
}
