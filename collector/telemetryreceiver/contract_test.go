package telemetryreceiver

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// updateGenerator is a client of the protocol for the contract test: each
// update carries one point with a unique test_id, and is sent again after
// a 503, as clients do, until it is accepted or refused for good.
type updateGenerator struct {
	t    *testing.T
	url  string
	next atomic.Int64
}

func (g *updateGenerator) Start() {}
func (g *updateGenerator) Stop()  {}

func (g *updateGenerator) Generate() []receivertest.UniqueIDAttrVal {
	id := receivertest.UniqueIDAttrVal(fmt.Sprintf("update-%d", g.next.Add(1)))
	body := updateBody(testID, `{"contract": [{"attributes": {"`+receivertest.UniqueIDAttrName+`": "`+string(id)+`"}, "value": 1}]}`)
	for attempt := 0; attempt < 1000; attempt++ {
		res, err := http.Post(g.url, "application/json", bytes.NewReader(body))
		if err != nil {
			g.t.Errorf("post: %v", err)
			return []receivertest.UniqueIDAttrVal{id}
		}
		_ = res.Body.Close()
		switch res.StatusCode {
		case http.StatusOK, http.StatusBadRequest: // accepted, or dropped for good
			return []receivertest.UniqueIDAttrVal{id}
		case http.StatusServiceUnavailable:
			if res.Header.Get("Retry-After") == "" {
				g.t.Errorf("503 without Retry-After")
			}
			time.Sleep(time.Millisecond) // the test does not honour the full Retry-After
		default:
			g.t.Errorf("unexpected status %d", res.StatusCode)
			return []receivertest.UniqueIDAttrVal{id}
		}
	}
	g.t.Errorf("update %s was never taken", id)
	return []receivertest.UniqueIDAttrVal{id}
}

// freeLoopbackAddr returns an address to listen on: the contract checker
// makes the receiver itself, so the port must be known beforehand.
func freeLoopbackAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestConsumeContract(t *testing.T) {
	cfg := testConfig()
	cfg.ServerConfig.NetAddr.Endpoint = freeLoopbackAddr(t)
	receivertest.CheckConsumeContract(receivertest.CheckConsumeContractParams{
		T:             t,
		Factory:       NewFactory(),
		Signal:        pipeline.SignalMetrics,
		Config:        cfg,
		Generator:     &updateGenerator{t: t, url: "http://" + cfg.ServerConfig.NetAddr.Endpoint + cfg.Path + testID.String()},
		GenerateCount: 200,
	})
}
