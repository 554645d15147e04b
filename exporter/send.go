package exporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
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

// verdict classifies one HTTP attempt.
type verdict int

const (
	delivered verdict = iota // 2xx with a JSON body or no body
	retired                  // 410 or 451: stop for good
	refused                  // another 4xx: the update will never be taken
	retryable                // anything else: it may pass
)

type answer struct {
	verdict verdict
	resp    payload.Response
	status  int // the HTTP status, 0 when there was no answer
	// wait is the least wait before the next attempt that the server
	// asked for (Retry-After, or a 429's next_update).
	wait time.Duration
	// unreached says that the request never reached the server: the
	// connection could not be made.
	unreached bool
	// badAnswer marks a 2xx answer that could not be read.
	badAnswer bool
	err       error
}

// outcome is what one send of an update came to, for deliver.
type outcome int

const (
	sentOK        outcome = iota // delivered
	sentRetired                  // the server ended reporting
	sentRefused                  // refused for good: the figures are dropped
	sentUnreached                // no attempt reached the server
	sentUnsure                   // an attempt may have reached it
)

// send posts an update until it is delivered, the server refuses it or
// retires the endpoint, the retries run out or ctx is done.
func (e *Exporter) send(ctx context.Context, u *update, policy sendPolicy) (schedule, outcome, error) {
	retry := schedule{next: defaultNextUpdate()}
	body := *u.body
	if e.cfg.compress {
		var err error
		if body, err = gzipped(body); err != nil {
			return retry, e.notDelivered(u), fmt.Errorf("telemetry exporter: compressing the payload: %w", err)
		}
	}
	b := newRetryBackOff(e.cfg.retry, true)
	start := time.Now()
	reportedBad := false
	for attempt := 1; ; attempt++ {
		a := e.attempt(ctx, body, u.key)
		if !a.unreached {
			u.maybeSeen = true
		}
		switch a.verdict {
		case delivered:
			return e.follow(a.resp), sentOK, nil
		case retired:
			e.stopForGood()
			return schedule{stop: true}, sentRetired, a.err
		case refused:
			return retry, sentRefused, a.err
		}
		if a.badAnswer && !reportedBad {
			e.reportOwn(fmt.Errorf("%w; the update is sent again with the same %s", a.err, payload.HeaderIdempotencyKey))
			reportedBad = true
		}
		retry.next = max(retry.next, a.wait)
		wait, why := e.nextWait(b, a, attempt, time.Since(start), policy)
		if why != "" {
			return retry, e.notDelivered(u), fmt.Errorf("telemetry exporter: update not delivered %s: %w", why, a.err)
		}
		if err := sleep(ctx, wait, policy.abort); err != nil {
			return retry, e.notDelivered(u), fmt.Errorf("telemetry exporter: update abandoned after %d attempts (%w): %w", attempt, err, a.err)
		}
	}
}

// notDelivered is the outcome of a send that gave up on u.
func (e *Exporter) notDelivered(u *update) outcome {
	if u.maybeSeen {
		return sentUnsure
	}
	return sentUnreached
}

// nextWait returns the wait before the next attempt, or why there is none:
// retries are off or used up, or the wait would end past the retry time.
// The server's wait is the least; the jittered back-off may ask for more.
func (e *Exporter) nextWait(b *retryBackOff, a answer, attempt int, elapsed time.Duration, policy sendPolicy) (time.Duration, string) {
	rc := e.cfg.retry
	switch {
	case !rc.retrying():
		return 0, "(retries are off)"
	case rc.MaxAttempts > 0 && attempt >= rc.MaxAttempts:
		return 0, fmt.Sprintf("after %d attempts", attempt)
	case policy.final && a.status == http.StatusTooManyRequests:
		return 0, "; this was the final update, which does not wait out a 429 answer"
	}
	wait := max(b.next(), a.wait)
	if rc.MaxElapsedTime > 0 && elapsed+wait > rc.MaxElapsedTime {
		return 0, fmt.Sprintf("after %d attempts (a wait of %v would pass the retry time of %v)", attempt, wait.Round(time.Millisecond), rc.MaxElapsedTime)
	}
	return wait, ""
}

// follow applies a delivered update's answer and returns the schedule it
// sets.
func (e *Exporter) follow(resp payload.Response) schedule {
	if e.filter.applyServer(resp.DisableKeys, resp.EnableKeys) {
		e.reportOwnf("the server disabled more than %d keys; the rest of its list was ignored", maxServerKeys)
	}
	if resp.Stop {
		e.stopForGood()
		return schedule{stop: true}
	}
	if len(resp.DisableKeys) > 0 || len(resp.EnableKeys) > 0 {
		e.saveDirectives()
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
func (e *Exporter) attempt(ctx context.Context, body []byte, key string) answer {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.requestTimeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return answer{verdict: retryable, unreached: true, err: e.redact(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(payload.HeaderIdempotencyKey, key)
	}
	if e.cfg.compress {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := e.cfg.client.Do(req)
	if err != nil {
		return answer{verdict: retryable, unreached: !wrote.Load() && connectionFailed(err), err: fmt.Errorf("telemetry exporter: %w", e.redact(err))}
	}
	defer res.Body.Close()
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody+1))
	if err != nil {
		return answer{verdict: retryable, status: res.StatusCode, badAnswer: ok, err: e.errorf("reading the answer (%s): %w", res.Status, e.redact(err))}
	}
	if len(raw) > maxResponseBody {
		return answer{verdict: retryable, status: res.StatusCode, badAnswer: ok, err: e.errorf("the answer (%s) is larger than %d bytes", res.Status, maxResponseBody)}
	}
	a := e.classify(res, raw)
	a.status = res.StatusCode
	return a
}

// connectionFailed reports whether err says that no connection to the
// server was made: dialling, resolving its name, going through a proxy,
// or the TLS handshake failed. Such a request never reached the server.
// Anything else (a timeout or reset once the request was on its way) may
// have come after the server took the update.
func connectionFailed(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	var header tls.RecordHeaderError
	var verify *tls.CertificateVerificationError
	var authority x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &dns) || errors.As(err, &header) || errors.As(err, &verify) ||
		errors.As(err, &authority) || errors.As(err, &host) || errors.As(err, &invalid)
}

// classify reads an answer by the status table: 2xx delivered (when its
// body can be read), 410 and 451 retired, 408, 409 (the same key is
// being handled), 429 and every 5xx retried, any other 4xx refused.
func (e *Exporter) classify(res *http.Response, raw []byte) answer {
	switch code := res.StatusCode; {
	case code == http.StatusGone:
		return answer{verdict: retired, err: e.errorf("the telemetry endpoint is retired (410 Gone): upgrade this program to a version that reports to the current endpoint; reporting has stopped%s", e.quoteBody(raw))}
	case code == http.StatusUnavailableForLegalReasons:
		return answer{verdict: retired, err: e.errorf("the server may not receive telemetry from here (451 Unavailable For Legal Reasons); reporting has stopped%s", e.quoteBody(raw))}
	case code == http.StatusTooManyRequests:
		return answer{verdict: retryable, wait: tooEarlyWait(res, raw), err: e.errorf("the server asked to wait (429 Too Many Requests)%s", e.quoteBody(raw))}
	case code >= 200 && code < 300:
		return e.decodeAnswer(res, raw)
	case code == http.StatusRequestTimeout || code == http.StatusConflict:
		return answer{verdict: retryable, err: e.errorf("the server answered %s%s", res.Status, e.quoteBody(raw))}
	case code >= 400 && code < 500:
		return answer{verdict: refused, err: e.errorf("the server refused the update (%s)%s", res.Status, e.quoteBody(raw))}
	default:
		a := answer{verdict: retryable, err: e.errorf("the server answered %s%s", res.Status, e.quoteBody(raw))}
		if code == http.StatusServiceUnavailable {
			// An overloaded server (a Collector at its memory limit) says
			// when to come back: the least wait.
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
		return answer{verdict: retryable, badAnswer: true, err: e.errorf("the server answered %s with content type %q instead of JSON", res.Status, res.Header.Get("Content-Type"))}
	}
	resp, err := payload.DecodeResponse(bytes.NewReader(raw))
	if err != nil {
		return answer{verdict: retryable, badAnswer: true, err: e.errorf("the server's answer (%s) is not a valid response: %w", res.Status, err)}
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
