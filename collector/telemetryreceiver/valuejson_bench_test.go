package telemetryreceiver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/telemetrybridge/telemetry/payload"
)

// jsonValuesBody is an update whose values become telemetry.value_json:
// a counting set of 200 objects and a SetNested key of 200 objects, as
// the bridge writes them, beside 600 plain counters.
func jsonValuesBody() []byte {
	var b strings.Builder
	b.WriteString(`{"instance_id":"` + testID.String() + `","timestamp":"2026-11-25T10:00:00Z","data":{`)
	for i := range 600 {
		fmt.Fprintf(&b, `"counter_%d":%d,`, i, i)
	}
	b.WriteString(`"user_agent":[`)
	for i := range 200 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"value":{"Agent":"curl/8.%d <x86_64>","Seen":[%d,2.5],"Tags":{"os":"linux"}},"count":%d}`, i, i, i+1)
	}
	b.WriteString(`],"build":{`)
	for i := range 200 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"sub_%d":{"Name":"é & %d","Flags":[true,null]}`, i, i)
	}
	b.WriteString(`}}}`)
	return []byte(b.String())
}

// BenchmarkConvertJSONValues measures decoding and converting an update
// with 400 values carried as telemetry.value_json.
func BenchmarkConvertJSONValues(b *testing.B) {
	body := jsonValuesBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		u, err := decodeUpdate(body, testID, payload.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		if n := toMetrics(u).DataPointCount(); n != 1000 {
			b.Fatalf("%d points, want 1,000", n)
		}
	}
}
