package telemetryreceiver

import (
	"encoding/json" // json.Number only, the type payload's decoder gives numbers
	"slices"
	"strings"

	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// ScopeName names the instrumentation scope of every metric the receiver
// produces.
const ScopeName = "github.com/telemetrybridge/telemetry/collector/telemetryreceiver"

// Attributes the mapping puts on data points: the protocol's own (package
// payload), which the exporter reads, so that converting back is exact.
const (
	attrValue     = payload.AttrValue
	attrValueJSON = payload.AttrValueJSON
	attrSubkey    = payload.AttrSubkey
	attrIndex     = payload.AttrIndex
	attrKeySuffix = payload.AttrKeySuffix
	// AttrInstanceID is the resource attribute that carries the instance
	// UUID: the OpenTelemetry semantic convention for one running instance.
	AttrInstanceID = "service.instance.id"
)

// kind is the OpenTelemetry type a key becomes.
type kind uint8

const (
	kindGauge        kind = iota
	kindSum               // delta, not monotonic: Add takes negative amounts
	kindMonotonicSum      // delta, monotonic
	kindHistogram         // delta
	kindExpHistogram      // delta
	kindSummary
)

// metricID tells metrics apart within an update: the keys of one family
// ("name:suffix") share a metric as long as they are of one kind.
type metricID struct {
	name string
	kind kind
}

// converter builds the pmetric form of one update.
type converter struct {
	ts      pcommon.Timestamp
	metrics pmetric.MetricSlice
	byID    map[metricID]pmetric.Metric
	types   map[string]string
	texts   valueTexts
}

// toMetrics converts an update into pmetric.Metrics: one resource (the
// instance) with one scope, a metric per key or key family.
func toMetrics(u update) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(AttrInstanceID, u.InstanceID)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(ScopeName)
	c := converter{
		ts:      pcommon.NewTimestampFromTime(u.Timestamp),
		metrics: sm.Metrics(),
		byID:    make(map[metricID]pmetric.Metric, len(u.Data)),
		types:   u.MetricTypes,
		texts:   valueTexts{body: u.body},
	}
	c.metrics.EnsureCapacity(len(u.Data))
	// Map order: the pipeline does not care about the order of metrics,
	// and sorting a thousand keys would cost a sixth of the conversion.
	for k, v := range u.Data {
		c.convertKey(k, v)
	}
	return md
}

// splitKey separates a key family's suffix: "tls_client_hello_ua:3fa2c1b0"
// is the metric tls_client_hello_ua with the suffix as an attribute, which
// is how the bridge records such keys.
func splitKey(key string) (name, suffix string, ok bool) {
	name, suffix, ok = payload.SplitFamily(key)
	if !ok || name == "" {
		return key, "", false
	}
	return name, suffix, true
}

func (c *converter) convertKey(key string, v any) {
	name, suffix, hasSuffix := splitKey(key)
	p := pointSet{c: c, key: key, name: name, stated: c.statedType(key, name)}
	if hasSuffix {
		p.base = []attr{{attrKeySuffix, suffix}}
	}
	switch x := v.(type) {
	case json.Number:
		p.number(x, key)
	case map[string]any:
		if !p.native(x) {
			p.object(x)
		}
	case []any:
		p.list(x)
	default: // a string, a boolean or null
		p.info(x, noText)
	}
}

// statedType returns the type the exporter stated for key, which also covers
// the keys of a family when stated for the family's name.
func (c *converter) statedType(key, name string) string {
	t, ok := c.types[key]
	if !ok {
		t = c.types[name]
	}
	return t
}

// metric returns the metric for name and kind in this update, making it
// on first use.
func (c *converter) metric(name string, k kind) pmetric.Metric {
	id := metricID{name, k}
	if m, ok := c.byID[id]; ok {
		return m
	}
	m := c.metrics.AppendEmpty()
	m.SetName(strings.Clone(name)) // see setValue
	switch k {
	case kindGauge:
		m.SetEmptyGauge()
	case kindSum, kindMonotonicSum:
		s := m.SetEmptySum()
		s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		s.SetIsMonotonic(k == kindMonotonicSum)
	case kindHistogram:
		m.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	case kindExpHistogram:
		m.SetEmptyExponentialHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	case kindSummary:
		m.SetEmptySummary()
	}
	c.byID[id] = m
	return m
}

// numberPoints returns where points of a gauge or sum go.
func (c *converter) numberPoints(name string, k kind) pmetric.NumberDataPointSlice {
	m := c.metric(name, k)
	if k == kindGauge {
		return m.Gauge().DataPoints()
	}
	return m.Sum().DataPoints()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
