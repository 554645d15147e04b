package telemetryreceiver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/telemetrybridge/telemetry/collector/telemetryreceiver"
)

// The receiver in a program of its own, outside a Collector: made by its
// factory, it hands each update to the next consumer, here a sink.
func ExampleNewFactory() {
	factory := telemetryreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig().(*telemetryreceiver.Config)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:18418"
	sink := new(consumertest.MetricsSink)
	rcv, err := factory.CreateMetrics(context.Background(), receivertest.NewNopSettings(factory.Type()), cfg, sink)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = rcv.Shutdown(context.Background()) }()

	id := "6a0f5f7e-7c1b-4c55-9b55-3f6f3a5e2b11"
	update := `{"instance_id":"` + id + `","timestamp":"2026-11-25T10:00:00Z","data":{"http_requests":41}}`
	res, err := http.Post("http://127.0.0.1:18418/v1/update/"+id, "application/json", strings.NewReader(update))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = res.Body.Close()
	fmt.Println(res.Status)

	m := sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
	fmt.Println(m.Name(), m.Type(), m.Sum().DataPoints().At(0).IntValue())
	// Output:
	// 200 OK
	// http_requests Sum 41
}
