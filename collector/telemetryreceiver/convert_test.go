package telemetryreceiver

import (
	"github.com/telemetrybridge/telemetry/payload"

	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

var testID = uuid.MustParse("6a0f5f7e-7c1b-4c55-9b55-3f6f3a5e2b11")

const testTime = "2026-11-25T10:00:00Z"

// convertJSON converts an update whose data (and metric_types, if any)
// are given as JSON members.
func convertJSON(t *testing.T, members string) pmetric.Metrics {
	t.Helper()
	body := `{"instance_id":"` + testID.String() + `","timestamp":"` + testTime + `","expect_next":"0001-01-01T00:00:00Z",` + members + `}`
	u, err := decodeUpdate([]byte(body), testID, payload.DefaultLimits())
	if err != nil {
		t.Fatalf("decodeUpdate: %v", err)
	}
	return toMetrics(u)
}

// checkLines compares the points of md with want, in any order: the
// conversion follows map order, and the attributes of points (an index,
// a value, a sub-key) tell them apart.
func checkLines(t *testing.T, md pmetric.Metrics, want ...string) {
	t.Helper()
	got := describe(md)
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("points:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestMappingOfProtocolShapes(t *testing.T) {
	md := convertJSON(t, `"data":{
		"http_requests": 120,
		"refunds": -3,
		"ratio": 0.25,
		"tls_client_hello_ua:3fa2c1b0": 3,
		"tls_client_hello_ua:9bd1e0aa": 4,
		"arch": "amd64",
		"tls": true,
		"nothing": null,
		"build": {"cpus": 2, "go": "go1.26", "flags": {"race": false}},
		"events": ["start", 2, 0.5, {"x": 1}],
		"user_agent": [{"value": "4f9f2cab", "count": 40}, {"value": 7, "count": 1}, {"value": [1], "count": 2}],
		"goroutines": 12,
		"memory": {"heap_alloc": 1843200, "sys": 8912896},
		"big": 9223372036854775807,
		"huge": 18446744073709551616,
		"empty_list": [],
		"empty_object": {}
	}`)
	checkLines(t, md,
		`arch gauge {telemetry.value="amd64"} = 1`,
		`big sum = 9223372036854775807`,
		`build gauge {telemetry.subkey="cpus"} = 2`,
		`build gauge {telemetry.subkey="flags", telemetry.value_json="{\"race\":false}"} = 1`,
		`build gauge {telemetry.subkey="go", telemetry.value="go1.26"} = 1`,
		`events gauge {telemetry.index=0, telemetry.value="start"} = 1`,
		`events gauge {telemetry.index=1, telemetry.value=2} = 1`,
		`events gauge {telemetry.index=2, telemetry.value=0.5} = 1`,
		`events gauge {telemetry.index=3, telemetry.value_json="{\"x\":1}"} = 1`,
		`goroutines gauge = 12`,
		`http_requests sum = 120`,
		`huge gauge = 18446744073709552000.0`,
		`memory gauge {telemetry.subkey="heap_alloc"} = 1843200`,
		`memory gauge {telemetry.subkey="sys"} = 8912896`,
		`nothing gauge {telemetry.value_json="null"} = 1`,
		`ratio gauge = 0.25`,
		`refunds sum = -3`,
		`tls gauge {telemetry.value=true} = 1`,
		`tls_client_hello_ua sum {telemetry.key_suffix="3fa2c1b0"} = 3`,
		`tls_client_hello_ua sum {telemetry.key_suffix="9bd1e0aa"} = 4`,
		`user_agent counter {telemetry.value="4f9f2cab"} = 40`,
		`user_agent counter {telemetry.value=7} = 1`,
		`user_agent counter {telemetry.value_json="[1]"} = 2`,
	)
}

func TestMappingOfNativeShapes(t *testing.T) {
	md := convertJSON(t, `"data":{
		"latency": {"count": 4, "sum": 0.5, "min": 0.01, "max": 0.3, "bounds": [0.1, 1], "bucket_counts": [3, 1, 0]},
		"no_extrema": {"count": 0, "sum": 0, "bounds": [], "bucket_counts": [0]},
		"by_route": [
			{"attributes": {"route": "/a"}, "count": 1, "sum": 2, "bounds": [5], "bucket_counts": [1, 0]},
			{"attributes": {"route": "/b"}, "count": 2, "sum": 12, "bounds": [5], "bucket_counts": [0, 2]}
		],
		"exp": {"count": 3, "sum": 7, "min": 1, "max": 4, "scale": 0, "zero_count": 1, "zero_threshold": 0,
			"positive": {"offset": 0, "bucket_counts": [1, 1]}, "negative": {"offset": -1, "bucket_counts": []}},
		"rpc": {"count": 10, "sum": 5.5, "quantiles": [{"quantile": 0.5, "value": 0.4}, {"quantile": 0.99, "value": 2}]},
		"requests": [
			{"attributes": {"method": "GET", "code": 200, "tags": ["a", "b"]}, "value": 80},
			{"attributes": {"method": "GET", "code": 404}, "value": 40}
		],
		"temperature": [{"attributes": {"room": "hall"}, "value": 21.5}],
		"lookalike": {"count": 3, "sum": 4}
	}`)
	checkLines(t, md,
		`by_route histogram {route="/a"} = count=1 sum=2 min=- max=- bounds=[5] counts=[1 0]`,
		`by_route histogram {route="/b"} = count=2 sum=12 min=- max=- bounds=[5] counts=[0 2]`,
		`exp exphistogram = count=3 sum=7 scale=0 zero=1/0 positive=0[1 1] negative=-1[]`,
		`latency histogram = count=4 sum=0.5 min=0.01 max=0.3 bounds=[0.1 1] counts=[3 1 0]`,
		`lookalike gauge {telemetry.subkey="count"} = 3`,
		`lookalike gauge {telemetry.subkey="sum"} = 4`,
		`no_extrema histogram = count=0 sum=0 min=- max=- bounds=[] counts=[0]`,
		`requests gauge {code=200, method="GET", tags=["a","b"]} = 80`,
		`requests gauge {code=404, method="GET"} = 40`,
		`rpc summary = count=10 sum=5.5 quantiles=[0.5:0.4 0.99:2]`,
		`temperature gauge {room="hall"} = 21.5`,
	)
}

func TestBrokenNativeShapesStayObjects(t *testing.T) {
	// Histogram members, but bucket_counts do not fit the bounds: read as a
	// nested object, and no half-made histogram is left behind.
	md := convertJSON(t, `"data":{
		"h": {"count": 1, "sum": 1, "bounds": [1, 2], "bucket_counts": [1]},
		"l": [{"count": 1, "sum": 1, "bounds": [], "bucket_counts": [1]}, {"count": -1, "sum": 1, "bounds": [], "bucket_counts": [1]}]
	}`)
	checkLines(t, md,
		`h gauge {telemetry.subkey="bounds", telemetry.value_json="[1,2]"} = 1`,
		`h gauge {telemetry.subkey="bucket_counts", telemetry.value_json="[1]"} = 1`,
		`h gauge {telemetry.subkey="count"} = 1`,
		`h gauge {telemetry.subkey="sum"} = 1`,
		// value_json is the text as sent, without white space.
		`l gauge {telemetry.index=0, telemetry.value_json="{\"count\":1,\"sum\":1,\"bounds\":[],\"bucket_counts\":[1]}"} = 1`,
		`l gauge {telemetry.index=1, telemetry.value_json="{\"count\":-1,\"sum\":1,\"bounds\":[],\"bucket_counts\":[1]}"} = 1`,
	)
}

func TestMetricTypesOverrideTheReading(t *testing.T) {
	md := convertJSON(t, `"data":{
		"cpus": 2,
		"bytes": 3,
		"load": 1,
		"family:a": 5,
		"family:b": 6,
		"hits": [{"attributes": {"route": "/"}, "value": 9}],
		"sets": [{"value": "x", "count": 2}],
		"unknown": 4
	}, "metric_types": {
		"cpus": "gauge", "bytes": "double_counter", "load": "double_gauge", "family": "gauge",
		"family:b": "counter", "hits": "updowncounter", "sets": "updowncounter", "unknown": "sometype"
	}`)
	checkLines(t, md,
		`bytes counter = 3.0`,
		`cpus gauge = 2`,
		`family gauge {telemetry.key_suffix="a"} = 5`,
		`family counter {telemetry.key_suffix="b"} = 6`,
		`hits sum {route="/"} = 9`,
		`load gauge = 1.0`,
		`sets sum {telemetry.value="x"} = 2`,
		`unknown sum = 4`,
	)
}

func TestResourceScopeAndTime(t *testing.T) {
	md := convertJSON(t, `"data":{"n": 1}`)
	rm := md.ResourceMetrics().At(0)
	if id, _ := rm.Resource().Attributes().Get(AttrInstanceID); id.Str() != testID.String() {
		t.Errorf("%s = %q, want %q", AttrInstanceID, id.Str(), testID)
	}
	sm := rm.ScopeMetrics().At(0)
	if sm.Scope().Name() != ScopeName {
		t.Errorf("scope %q, want %q", sm.Scope().Name(), ScopeName)
	}
	want, _ := time.Parse(time.RFC3339, testTime)
	if got := sm.Metrics().At(0).Sum().DataPoints().At(0).Timestamp(); got != pcommon.NewTimestampFromTime(want) {
		t.Errorf("point time %v, want the payload's %v", got, want)
	}
}

func TestUpdateWithoutDataHasNoPoints(t *testing.T) {
	if n := convertJSON(t, `"data":{}`).DataPointCount(); n != 0 {
		t.Errorf("%d points from an empty update", n)
	}
}

// FuzzConvert feeds arbitrary data to the conversion: it must never panic,
// every metric it makes must hold points, and every value_json must be
// compact JSON in UTF-8, as the bridge writes it.
func FuzzConvert(f *testing.F) {
	for _, seed := range []string{
		`{"n": 1, "f": 0.5, "s": "x", "b": true, "z": null}`,
		`{"o": {"a": 1, "b": "c", "d": [1]}, "l": [1, "a", {"x": 1}], "e": [], "eo": {}}`,
		`{"c": [{"value": "a", "count": 2}, {"value": [1], "count": 1}]}`,
		`{"p": [{"attributes": {"k": "v", "n": [1, 2]}, "value": 3}], "q": [{"value": 1.5}]}`,
		`{"h": {"count": 1, "sum": 1, "min": 1, "max": 1, "bounds": [1], "bucket_counts": [1, 0]}}`,
		`{"x": {"count": 1, "sum": 1, "scale": 0, "zero_count": 0, "zero_threshold": 0, "positive": {"offset": 0, "bucket_counts": [1]}, "negative": {"offset": 0, "bucket_counts": []}}}`,
		`{"s": {"count": 1, "sum": 1, "quantiles": [{"quantile": 0.5, "value": 1}]}}`,
		`{"fam:a": 1, "fam:b": "x", ":c": 2}`,
	} {
		f.Add([]byte(seed), []byte(`{"n": "gauge", "fam": "double_counter"}`))
	}
	f.Fuzz(func(t *testing.T, data, types []byte) {
		body := updateBody(testID, string(data))
		body = append(body[:len(body)-1], `,"metric_types":`+string(types)+`}`...)
		u, err := decodeUpdate(body, testID, payload.DefaultLimits())
		if err != nil {
			return
		}
		md := toMetrics(u)
		for _, line := range describe(md) {
			if strings.HasSuffix(line, "(empty metric)") {
				t.Fatalf("a metric without points: %s", line)
			}
		}
		for _, vs := range collectorValues(md) {
			for _, v := range vs {
				text, isJSON := strings.CutPrefix(v, payload.AttrValueJSON+"=")
				if compact, err := payload.CompactText(text); isJSON && (err != nil || compact != text) {
					t.Fatalf("value_json %q is not compact JSON in UTF-8 (%v)", text, err)
				}
			}
		}
	})
}

// TestValueJSONIsTheTextAsSent checks that value_json is the value's own
// text without white space, found where the decoded value came from:
// the last of a repeated sub-key, a data member after a null one, the
// value of a counting set's member, an element of a list. Invalid UTF-8,
// which an attribute cannot carry, is written as U+FFFD.
func TestValueJSONIsTheTextAsSent(t *testing.T) {
	md := convertJSON(t, `"data":{"gone":[{"x":1}]},"data":null,"DATA":{
		"o": {"x": { "b" : 1, "a":"\u003c" }, "x": {"c": [ 1, 2 ]}, "y": [ "<&>" ]},
		"l": ["s", { "z":1 , "a":"é" }],
		"set": [{"value": {"b": 1}, "count": 2}, {"count": 3, "value": [ "x" ]}]
	},"Data":{"bad":[{"s": "`+"\xff"+`"}]}`)
	checkLines(t, md,
		`bad gauge {telemetry.index=0, telemetry.value_json="{\"s\":\"`+"\ufffd"+`\"}"} = 1`,
		`l gauge {telemetry.index=0, telemetry.value="s"} = 1`,
		`l gauge {telemetry.index=1, telemetry.value_json="{\"z\":1,\"a\":\"é\"}"} = 1`,
		`o gauge {telemetry.subkey="x", telemetry.value_json="{\"c\":[1,2]}"} = 1`,
		`o gauge {telemetry.subkey="y", telemetry.value_json="[\"<&>\"]"} = 1`,
		`set counter {telemetry.value_json="[\"x\"]"} = 3`,
		`set counter {telemetry.value_json="{\"b\":1}"} = 2`,
	)
}
