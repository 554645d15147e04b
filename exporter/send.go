package exporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

const (
	// maxResponseBody bounds how much of an answer is read.
	maxResponseBody = 1 << 20
	// maxNextUpdate caps the wait a server may ask for, so that a broken
	// answer cannot silence the client for years.
	maxNextUpdate = 30 * 24 * time.Hour
	// maxTooEarlyWait caps the wait after a 429 answer.
	maxTooEarlyWait = time.Hour
	// minTooEarlyWait is the least wait after a 429 answer.
	minTooEarlyWait = time.Second
)

// verdict classifies one HTTP attempt by the protocol's answer table.
type verdict int

const (
	delivered verdict = iota // 2xx with a JSON body or no body
	retired                  // 410 or 451: stop for good
	tooEarly                 // 429: wait, then send the same payload again
	failed                   // anything else: back off and retry
)

type answer struct {
	verdict verdict
	resp    payload.Response
	// wait is the server's wait: for tooEarly, the wait before sending
	// again; for failed (a 503 with Retry-After), the least back-off.
	wait time.Duration
	err  error
}

// send posts body until it is delivered, the server retires the endpoint,
// the attempts run out or ctx is done.
func (e *Exporter) send(ctx context.Context, body []byte, policy sendPolicy) (schedule, error) {
	retry := schedule{next: defaultNextUpdate()}
	if e.cfg.compress {
		var err error
		if body, err = gzipped(body); err != nil {
			return retry, fmt.Errorf("telemetry exporter: compressing the payload: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		a := e.attempt(ctx, body)
		switch a.verdict {
		case delivered:
			return e.follow(a.resp), nil
		case retired:
			e.stopForGood()
			return schedule{stop: true}, a.err
		case tooEarly:
			if policy.final {
				return retry, fmt.Errorf("%w; this was the final update, so its figures were not delivered", a.err)
			}
		}
		if attempt >= e.cfg.retry.MaxAttempts {
			return retry, fmt.Errorf("telemetry exporter: update not delivered after %d attempts: %w", attempt, a.err)
		}
		wait := a.wait
		if a.verdict == failed {
			wait = max(e.cfg.retry.Backoff(attempt), a.wait)
		}
		if err := sleep(ctx, wait, policy.abort); err != nil {
			return retry, fmt.Errorf("telemetry exporter: update abandoned after %d attempts (%w): %w", attempt, err, a.err)
		}
	}
}

// follow applies a delivered update's answer and returns the schedule it
// sets.
func (e *Exporter) follow(resp payload.Response) schedule {
	if e.filter.applyServer(resp.DisableKeys, resp.EnableKeys) {
		e.reportf("the server disabled more than %d keys; the rest of its list was ignored", maxServerKeys)
	}
	if resp.Stop {
		e.stopForGood()
		return schedule{stop: true}
	}
	if len(resp.DisableKeys) > 0 || len(resp.EnableKeys) > 0 {
		e.keepDirectives()
	}
	return schedule{next: nextUpdate(resp.NextUpdate)}
}

// nextUpdate turns the server's next_update into a wait: the default
// interval when it is missing or under a second, and never more than
// maxNextUpdate.
func nextUpdate(d time.Duration) time.Duration {
	switch {
	case d < minNextUpdate:
		return defaultNextUpdate()
	case d > maxNextUpdate:
		return maxNextUpdate
	}
	return d
}

// attempt makes one POST and classifies the answer.
func (e *Exporter) attempt(ctx context.Context, body []byte) answer {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return answer{verdict: failed, err: e.redact(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	if e.cfg.compress {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := e.cfg.client.Do(req)
	if err != nil {
		return answer{verdict: failed, err: fmt.Errorf("telemetry exporter: %w", e.redact(err))}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody+1))
	if err != nil {
		return answer{verdict: failed, err: e.errorf("reading the answer (%s): %w", res.Status, e.redact(err))}
	}
	if len(raw) > maxResponseBody {
		return answer{verdict: failed, err: e.errorf("the answer (%s) is larger than %d bytes", res.Status, maxResponseBody)}
	}
	return e.classify(res, raw)
}

func (e *Exporter) classify(res *http.Response, raw []byte) answer {
	switch code := res.StatusCode; {
	case code == http.StatusGone:
		return answer{verdict: retired, err: e.errorf("the telemetry endpoint is retired (410 Gone): upgrade this program to a version that reports to the current endpoint; reporting has stopped%s", e.quoteBody(raw))}
	case code == http.StatusUnavailableForLegalReasons:
		return answer{verdict: retired, err: e.errorf("the server may not receive telemetry from here (451 Unavailable For Legal Reasons); reporting has stopped%s", e.quoteBody(raw))}
	case code == http.StatusTooManyRequests:
		return answer{verdict: tooEarly, wait: tooEarlyWait(res, raw), err: e.errorf("the server asked to wait (429 Too Many Requests)%s", e.quoteBody(raw))}
	case code >= 200 && code < 300:
		return e.decodeAnswer(res, raw)
	default:
		a := answer{verdict: failed, err: e.errorf("the server answered %s%s", res.Status, e.quoteBody(raw))}
		if code == http.StatusServiceUnavailable {
			// An overloaded server (a Collector at its memory limit) says
			// when to come back; the back-off grows from there.
			a.wait = retryAfter(res)
		}
		return a
	}
}

// decodeAnswer reads a 2xx answer: no body means success without
// directives; a body must be a JSON Response.
func (e *Exporter) decodeAnswer(res *http.Response, raw []byte) answer {
	if len(bytes.TrimSpace(raw)) == 0 {
		return answer{verdict: delivered}
	}
	if !isJSON(res.Header.Get("Content-Type")) {
		return answer{verdict: failed, err: e.errorf("the server answered %s with content type %q instead of JSON", res.Status, res.Header.Get("Content-Type"))}
	}
	resp, err := payload.DecodeResponse(bytes.NewReader(raw))
	if err != nil {
		return answer{verdict: failed, err: e.errorf("the server's answer (%s) is not a valid response: %w", res.Status, err)}
	}
	return answer{verdict: delivered, resp: resp}
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// tooEarlyWait picks the wait after a 429: the body's next_update, else the
// Retry-After header, else a second; bounded by minTooEarlyWait and
// maxTooEarlyWait.
func tooEarlyWait(res *http.Response, raw []byte) time.Duration {
	wait := retryAfter(res)
	if resp, err := payload.DecodeResponse(bytes.NewReader(raw)); err == nil && resp.NextUpdate > 0 {
		wait = resp.NextUpdate
	}
	return min(max(wait, minTooEarlyWait), maxTooEarlyWait)
}

// retryAfter reads the Retry-After header, seconds or an HTTP date, up to
// maxTooEarlyWait; 0 when there is none or it cannot be read.
func retryAfter(res *http.Response) time.Duration {
	ra := strings.TrimSpace(res.Header.Get("Retry-After"))
	if secs, err := strconv.ParseInt(ra, 10, 64); err == nil && secs > 0 {
		return time.Duration(min(secs, int64(maxTooEarlyWait/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(ra); err == nil {
		return min(max(time.Until(at), 0), maxTooEarlyWait)
	}
	return 0
}

// quoteBody renders the start of a body for an error message: the JSON
// error field when there is one, else the text itself, without the
// instance ID should the server echo it.
func (e *Exporter) quoteBody(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	msg := string(raw)
	if resp, err := payload.DecodeResponse(bytes.NewReader(raw)); err == nil && resp.Error != "" {
		msg = resp.Error
	}
	const limit = 200
	if len(msg) > limit {
		msg = msg[:limit] + "..."
	}
	msg = strings.ReplaceAll(msg, e.cfg.instanceID.String(), "<instance-id>")
	return fmt.Sprintf(": the server says %q", msg)
}

func (e *Exporter) errorf(format string, args ...any) error {
	return fmt.Errorf("telemetry exporter: POST %s: "+format, append([]any{e.redacted}, args...)...)
}

// redact keeps the private instance ID out of errors that quote the URL.
func (e *Exporter) redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = e.redacted
	}
	return err
}

// errAborted ends a wait cut short by a shutdown.
var errAborted = errors.New("the reader is shutting down")

// sleep waits d, or less when ctx is done or abort is closed first.
func sleep(ctx context.Context, d time.Duration, abort <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-abort:
		return errAborted
	}
}

func gzipped(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
