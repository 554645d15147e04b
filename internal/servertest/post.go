package servertest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"

	"github.com/telemetrybridge/telemetry/payload"
)

// Post hands body to h as an update posted to path, with an
// Idempotency-Key when key is not empty, and returns what h answered.
// Tests of both servers send their updates through it.
func Post(h http.Handler, path, key string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(payload.HeaderIdempotencyKey, key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// HeapAfterGC is the live heap once two collections have run (the second
// frees what the first's finalizers let go), for memory bounds in tests.
func HeapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
