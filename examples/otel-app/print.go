package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/telemetrybridge/telemetry/payload"
)

// printer shows each update compactly: key, shape, value; then the answer.
type printer struct {
	out      io.Writer
	verbose  bool
	mu       sync.Mutex
	n        int
	disabled []string // keys the server has disabled so far
}

// update prints one update with its answer and returns its number.
func (p *printer) update(pl payload.Payload, resp payload.Response) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	fmt.Fprintf(p.out, "update %d at %s, %d keys:\n", p.n, pl.Timestamp.Local().Format("15:04:05.000"), len(pl.Data))
	if p.verbose {
		b, _ := json.MarshalIndent(pl, "  ", "  ")
		fmt.Fprintf(p.out, "  %s\n", b)
	} else {
		keys := make([]string, 0, len(pl.Data))
		for k := range pl.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			shape, value := describe(pl.Data[k])
			fmt.Fprintf(p.out, "  %-30s %-9s %s\n", k, shape, value)
		}
	}
	for _, k := range p.disabled {
		if _, sent := pl.Data[k]; !sent {
			fmt.Fprintf(p.out, "  %-30s (disabled by the server: not sent)\n", k)
		}
	}
	fmt.Fprintf(p.out, "  answer: %s\n\n", answer(resp))
	p.disabled = append(p.disabled, resp.DisableKeys...)
	return p.n
}

func (p *printer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func answer(r payload.Response) string {
	parts := []string{"next_update=" + r.NextUpdate.String()}
	if r.Stop {
		parts = append(parts, "stop")
	}
	if len(r.DisableKeys) > 0 {
		parts = append(parts, fmt.Sprintf("disable_keys=%v", r.DisableKeys))
	}
	if len(r.EnableKeys) > 0 {
		parts = append(parts, fmt.Sprintf("enable_keys=%v", r.EnableKeys))
	}
	return strings.Join(parts, " ")
}

// describe names the shape of a decoded data value and renders it short.
func describe(v any) (shape, value string) {
	raw, _ := json.Marshal(v)
	value = string(raw)
	if len(value) > 90 {
		value = value[:87] + "..."
	}
	switch x := v.(type) {
	case float64:
		return "number", value
	case string:
		return "string", value
	case bool:
		return "bool", value
	case map[string]any:
		if _, ok := x["bucket_counts"]; ok {
			return "histogram", fmt.Sprintf("count=%v sum=%.4g", x["count"], x["sum"])
		}
		return "object", value
	case []any:
		if len(x) > 0 {
			if first, ok := x[0].(map[string]any); ok {
				if _, ok := first["count"]; ok && len(first) == 2 {
					return "set", fmt.Sprintf("%d values: %s", len(x), value)
				}
				if _, ok := first["attributes"]; ok {
					return "points", describePoints(x)
				}
			}
		}
		return "list", value
	}
	return "null", value
}

// wireTap shows updates sent to an external server, and its answers.
type wireTap struct{ p *printer }

func (t *wireTap) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	answerBody, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(answerBody))
	pl, _ := payload.DecodePayload(bytes.NewReader(body))
	var resp payload.Response
	if len(bytes.TrimSpace(answerBody)) > 0 {
		resp, _ = payload.DecodeResponse(bytes.NewReader(answerBody))
	}
	if res.StatusCode >= 300 {
		resp.Error = fmt.Sprintf("%s %s", res.Status, resp.Error)
	}
	t.p.update(pl, resp)
	return res, nil
}

// describePoints renders attributed points as "GET 200=54, GET 404=26",
// with a histogram's count as its value, sorted by their labels (an update
// lists points in the order the SDK collected them).
func describePoints(points []any) string {
	var parts []string
	for _, pt := range points {
		m, _ := pt.(map[string]any)
		attrs, _ := m["attributes"].(map[string]any)
		names := make([]string, 0, len(attrs))
		for k := range attrs {
			names = append(names, k)
		}
		slices.Sort(names)
		var label []string
		for _, k := range names {
			label = append(label, fmt.Sprint(attrs[k]))
		}
		v, ok := m["value"]
		if !ok {
			v = fmt.Sprintf("count %v", m["count"])
		}
		parts = append(parts, fmt.Sprintf("%s=%v", strings.Join(label, " "), v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
