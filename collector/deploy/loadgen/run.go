package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

// Config says what to send.
type Config struct {
	// Endpoint is the update URL without the instance ID, e.g.
	// http://127.0.0.1:8418/v1/update/.
	Endpoint string
	// Seed tells runs apart: instance IDs are InstanceID(Seed, i).
	Seed uint32
	// First and Instances: the run simulates instances First..First+Instances-1.
	First, Instances int
	// Rate is updates per second in all (0: as fast as the fleet takes them).
	Rate float64
	// Concurrency is how many updates are in flight at once.
	Concurrency int
	// RetryAfter is the wait before sending a refused update again.
	RetryAfter time.Duration
	// Client sends the updates; nil: a client of Concurrency connections.
	Client *http.Client
}

// Stats is what a round cost.
type Stats struct {
	Accepted, Refused int64
	Elapsed           time.Duration
}

// Round sends every instance's update of round once, retrying refused
// updates until they are accepted or ctx ends, and records each accepted
// one in truth. It returns at the end of the round or ctx's.
func Round(ctx context.Context, cfg Config, round int, truth *Truth) (Stats, error) {
	if cfg.Concurrency < 1 || cfg.Instances < 0 {
		return Stats{}, errors.New("loadgen: Concurrency must be positive and Instances not negative")
	}
	client := cfg.Client
	if client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.Concurrency
		client = &http.Client{Transport: t, Timeout: time.Minute}
	}
	var next, refused, accepted atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Concurrency)
	for range cfg.Concurrency {
		wg.Go(func() {
			var w payload.Writer
			var buf []byte
			for {
				k := int(next.Add(1) - 1)
				if k >= cfg.Instances || ctx.Err() != nil {
					return
				}
				if cfg.Rate > 0 {
					sleepUntil(ctx, start.Add(time.Duration(float64(k)/cfg.Rate*float64(time.Second))))
				}
				i := cfg.First + k
				id := InstanceID(cfg.Seed, i)
				buf = WriteUpdate(&w, buf[:0], id, i, round, time.Now())
				// One key per update, as the exporter sends: a replica that
				// took the update but died before answering knows it when
				// the update comes again.
				key := id + "/" + strconv.Itoa(round)
				n, err := deliver(ctx, client, cfg.Endpoint+id, key, buf, cfg.RetryAfter)
				refused.Add(n)
				if err != nil {
					errs <- fmt.Errorf("instance %d: %w", i, err)
					return
				}
				accepted.Add(1)
				truth.Record(i, round)
			}
		})
	}
	wg.Wait()
	close(errs)
	st := Stats{Accepted: accepted.Load(), Refused: refused.Load(), Elapsed: time.Since(start)}
	return st, errors.Join(<-errs, ctx.Err())
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// deliver posts body until the fleet accepts it (200), and returns how
// many attempts were refused (503, or no answer). A 4xx is an error: the
// update would not be taken however often it were sent again.
func deliver(ctx context.Context, client *http.Client, url, key string, body []byte, retryAfter time.Duration) (int64, error) {
	var refused int64
	for {
		status, err := post(ctx, client, url, key, body)
		switch {
		case err == nil && status == http.StatusOK:
			return refused, nil
		case err == nil && status == http.StatusTooManyRequests:
			// The receiver's schedule: the update came much earlier than
			// the fleet asked, which a round sent at once may be.
			return refused, errors.New("HTTP 429: sent much earlier than the fleet's next_update; space the rounds or raise the receiver's schedule.early_allowance")
		case err == nil && status/100 == 4:
			return refused, fmt.Errorf("refused for good: HTTP %d", status)
		}
		refused++
		sleepUntil(ctx, time.Now().Add(retryAfter))
		if ctx.Err() != nil {
			return refused, ctx.Err()
		}
	}
}

func post(ctx context.Context, client *http.Client, url, key string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(payload.HeaderIdempotencyKey, key)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode, nil
}
