package deploy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkFleetIngest measures what the 3-replica fleet accepts: b.N
// updates of 1,000 items each (a counter and a counting set of 999
// values), sent through HAProxy by 64 instances at once, each retrying a
// refused update (503 from a replica's memory limiter) after 200 ms until
// it is accepted. It reports updates accepted per second and the share of
// attempts refused, then checks in Prometheus that every update counted.
// With 512 MiB per replica the limiter has room; with 96 MiB a burst of
// such updates overloads it.
//
//	cd collector && go test -run '^$' -bench FleetIngest -benchtime 3000x ./deploy
func BenchmarkFleetIngest(b *testing.B) {
	for _, limit := range []string{"512", "96"} {
		b.Run("memory_limit_mib="+limit, func(b *testing.B) { ingest(b, limit) })
	}
}

func ingest(b *testing.B, memoryLimitMiB string) {
	// k = 1: the check below counts every update, also of a b.N below the
	// privacy threshold's 5 instances. EARLY_SHARE=0: each sender posts
	// back to back, which the receiver's schedule would refuse with 429.
	f := startFleet(b, 3, "NEXT_UPDATE=1h", "MEMORY_LIMIT_MIB="+memoryLimitMiB, "MIN_INSTANCES=1", "EARLY_SHARE=0")
	const senders = 64
	ids := make([]uuid.UUID, senders)
	for i := range ids {
		ids[i] = uuid.New()
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = senders
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	work := make(chan struct{}, b.N)
	for range b.N {
		work <- struct{}{}
	}
	close(work)

	var accepted, refused, failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			url := f.endpoint() + id.String()
			for range work {
				for {
					status, err := post(client, url, loadUpdate(id, time.Now()))
					if err == nil && status == http.StatusOK {
						accepted.Add(1)
						break
					}
					if status == http.StatusServiceUnavailable {
						refused.Add(1)
					} else {
						failed.Add(1)
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	attempts := accepted.Load() + refused.Load() + failed.Load()
	b.ReportMetric(float64(accepted.Load())/elapsed.Seconds(), "updates/s")
	b.ReportMetric(100*float64(refused.Load())/float64(attempts), "%refused")
	b.ReportMetric(float64(failed.Load()), "failed-attempts")
	// Every update counts once: the replicas' fleet totals add up to b.N.
	f.eventually(b, "sum(last_over_time(fleet_load_updates[1h]))", map[string]float64{"": float64(b.N)})
}

func post(client *http.Client, url string, body []byte) (int, error) {
	res, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode, nil
}

// loadUpdate is an update of 1,000 items: one count, and a counting set
// of 999 distinct values.
func loadUpdate(id uuid.UUID, now time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"instance_id":%q,"timestamp":%q,"data":{"load_updates":1,"load_set":[`,
		id.String(), now.UTC().Format(time.RFC3339Nano))
	for i := range 999 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"value":"v%03d","count":1}`, i)
	}
	b.WriteString("]}}")
	return b.Bytes()
}
