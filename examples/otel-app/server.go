package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

// demoServer prints each update it receives and answers with a short
// next_update; its second answer disables the TLS hello key.
type demoServer struct {
	out     io.Writer
	mu      sync.Mutex
	updates int
}

func newDemoServer(out io.Writer) *demoServer { return &demoServer{out: out} }

func (s *demoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := payload.DecodePayload(r.Body)
	if err != nil {
		_ = payload.WriteResponse(w, http.StatusBadRequest, payload.Response{Error: err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates++
	fmt.Fprintf(s.out, "update %d at %s:\n", s.updates, p.Timestamp.Format(time.TimeOnly))
	keys := make([]string, 0, len(p.Data))
	for k := range p.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		value, _ := json.Marshal(p.Data[k])
		fmt.Fprintf(s.out, "  %-30s %s\n", k, value)
	}
	resp := payload.Response{NextUpdate: 2 * time.Second}
	if s.updates == 2 {
		resp.DisableKeys = []string{"tls_client_hello_ua"}
	}
	fmt.Fprintf(s.out, "  answer: next_update=%s disable_keys=%v\n", resp.NextUpdate, resp.DisableKeys)
	_ = payload.WriteResponse(w, http.StatusOK, resp)
}
