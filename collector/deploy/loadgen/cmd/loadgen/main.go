// Command loadgen sends the updates of simulated instances (package
// loadgen) to a fleet, one round each, and prints what the fleet took.
//
//	go run ./deploy/loadgen/cmd/loadgen -instances 10000 -rounds 2 -rate 2000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/telemetrybridge/telemetry/collector/deploy/loadgen"
)

func main() {
	var cfg loadgen.Config
	var seed uint
	flag.StringVar(&cfg.Endpoint, "endpoint", "http://127.0.0.1:8418/v1/update/", "update URL without the instance ID (HAProxy's)")
	flag.IntVar(&cfg.Instances, "instances", 10000, "simulated instances")
	flag.IntVar(&cfg.First, "first", 0, "index of the first instance")
	flag.UintVar(&seed, "seed", 1, "tells runs' instance IDs apart")
	flag.Float64Var(&cfg.Rate, "rate", 0, "updates per second in all (0: as fast as taken)")
	flag.IntVar(&cfg.Concurrency, "concurrency", 64, "updates in flight at once")
	flag.DurationVar(&cfg.RetryAfter, "retry-after", 200*time.Millisecond, "wait before resending a refused update")
	rounds := flag.Int("rounds", 1, "updates per instance")
	flag.Parse()
	cfg.Seed = uint32(seed)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	truth := loadgen.NewTruth()
	for round := 1; round <= *rounds; round++ {
		st, err := loadgen.Round(ctx, cfg, round, truth)
		fmt.Printf("round %d: %d updates accepted in %v (%.0f/s), %d attempts refused\n",
			round, st.Accepted, st.Elapsed.Round(time.Millisecond), float64(st.Accepted)/st.Elapsed.Seconds(), st.Refused)
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("instances: %d; c00 total: %d\n", truth.Instances(), truth.Counters[loadgen.CounterName(0)])
}
