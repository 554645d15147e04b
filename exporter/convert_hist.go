package exporter

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

type histogramPoint struct {
	Attributes   map[string]any `json:"attributes,omitempty"`
	Count        uint64         `json:"count"`
	Sum          any            `json:"sum"`
	Min          any            `json:"min,omitempty"`
	Max          any            `json:"max,omitempty"`
	Bounds       []float64      `json:"bounds"`
	BucketCounts []uint64       `json:"bucket_counts"`
}

func histogramShape[N int64 | float64](pts []metricdata.HistogramDataPoint[N]) (any, bool) {
	sorted := sortByAttributes(pts, func(p metricdata.HistogramDataPoint[N]) attribute.Set { return p.Attributes })
	out := make([]histogramPoint, len(sorted))
	for i, p := range sorted {
		out[i] = histogramPoint{
			Attributes:   attributesJSON(p.Attributes),
			Count:        p.Count,
			Sum:          p.Sum,
			Min:          extremum(p.Min),
			Max:          extremum(p.Max),
			Bounds:       nonNil(p.Bounds),
			BucketCounts: nonNil(p.BucketCounts),
		}
	}
	return single(out, func(h histogramPoint) map[string]any { return h.Attributes })
}

// extremum is nil for an unset minimum or maximum, so that it is omitted.
func extremum[N int64 | float64](e metricdata.Extrema[N]) any {
	if v, ok := e.Value(); ok {
		return v
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type expBuckets struct {
	Offset       int32    `json:"offset"`
	BucketCounts []uint64 `json:"bucket_counts"`
}

type expHistogramPoint struct {
	Attributes    map[string]any `json:"attributes,omitempty"`
	Count         uint64         `json:"count"`
	Sum           any            `json:"sum"`
	Min           any            `json:"min,omitempty"`
	Max           any            `json:"max,omitempty"`
	Scale         int32          `json:"scale"`
	ZeroCount     uint64         `json:"zero_count"`
	ZeroThreshold float64        `json:"zero_threshold"`
	Positive      expBuckets     `json:"positive"`
	Negative      expBuckets     `json:"negative"`
}

func expHistogramShape[N int64 | float64](pts []metricdata.ExponentialHistogramDataPoint[N]) (any, bool) {
	sorted := sortByAttributes(pts, func(p metricdata.ExponentialHistogramDataPoint[N]) attribute.Set { return p.Attributes })
	out := make([]expHistogramPoint, len(sorted))
	for i, p := range sorted {
		out[i] = expHistogramPoint{
			Attributes:    attributesJSON(p.Attributes),
			Count:         p.Count,
			Sum:           p.Sum,
			Min:           extremum(p.Min),
			Max:           extremum(p.Max),
			Scale:         p.Scale,
			ZeroCount:     p.ZeroCount,
			ZeroThreshold: p.ZeroThreshold,
			Positive:      expBuckets{p.PositiveBucket.Offset, nonNil(p.PositiveBucket.Counts)},
			Negative:      expBuckets{p.NegativeBucket.Offset, nonNil(p.NegativeBucket.Counts)},
		}
	}
	return single(out, func(h expHistogramPoint) map[string]any { return h.Attributes })
}

type quantile struct {
	Quantile float64 `json:"quantile"`
	Value    float64 `json:"value"`
}

type summaryPoint struct {
	Attributes map[string]any `json:"attributes,omitempty"`
	Count      uint64         `json:"count"`
	Sum        float64        `json:"sum"`
	Quantiles  []quantile     `json:"quantiles"`
}

func summaryShape(pts []metricdata.SummaryDataPoint) (any, bool) {
	sorted := sortByAttributes(pts, func(p metricdata.SummaryDataPoint) attribute.Set { return p.Attributes })
	out := make([]summaryPoint, len(sorted))
	for i, p := range sorted {
		qs := make([]quantile, len(p.QuantileValues))
		for j, q := range p.QuantileValues {
			qs[j] = quantile{q.Quantile, q.Value}
		}
		out[i] = summaryPoint{Attributes: attributesJSON(p.Attributes), Count: p.Count, Sum: p.Sum, Quantiles: qs}
	}
	return single(out, func(s summaryPoint) map[string]any { return s.Attributes })
}
