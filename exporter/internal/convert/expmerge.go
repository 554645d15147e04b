package convert

import (
	"math"
	"slices"

	"github.com/telemetrybridge/telemetry/payload"
)

// expMaxBuckets is how many buckets a side of a merged exponential
// histogram may span, unless one of the merged already spans more: the
// SDK's default (160). Two histograms at a fine scale whose figures lie
// far apart would otherwise span millions of buckets once merged.
const expMaxBuckets = 160

// addExpHistograms adds up two exponential histograms of one attribute
// set, as the SDK's aggregator grows one: both are brought to the smaller
// scale by downscaling (bucket index >> the scale difference, which puts
// each bucket into the coarser one that contains it), and further down
// while a side would span more than expMaxBuckets; then buckets, zero
// counts, counts and sums add up, and min and max are the extremes. The
// result is exact at its scale.
//
// Of two different zero thresholds the larger is kept, and the buckets of
// the other that lie wholly within it count as zeros.
func addExpHistograms(o, n payload.ExpHistogram) payload.ExpHistogram {
	if o.ZeroThreshold != n.ZeroThreshold {
		zt := max(o.ZeroThreshold, n.ZeroThreshold)
		o, n = foldIntoZero(o, zt), foldIntoZero(n, zt)
	}
	limit := max(expMaxBuckets, len(o.Positive.Counts), len(n.Positive.Counts), len(o.Negative.Counts), len(n.Negative.Counts))
	scale := min(o.Scale, n.Scale)
	for {
		pLo, pHi := expSpan(o.Scale, o.Positive, n.Scale, n.Positive, scale)
		nLo, nHi := expSpan(o.Scale, o.Negative, n.Scale, n.Negative, scale)
		if pHi-pLo < int64(limit) && nHi-nLo < int64(limit) {
			break
		}
		scale-- // every index of int32 range fits by scale - 32: this ends
	}
	sum := payload.ExpHistogram{
		Count:         o.Count + n.Count,
		Sum:           addNumbers(o.Sum, n.Sum),
		Scale:         scale,
		ZeroCount:     o.ZeroCount + n.ZeroCount,
		ZeroThreshold: n.ZeroThreshold,
		Positive:      addExpBuckets(o.Scale, o.Positive, n.Scale, n.Positive, scale),
		Negative:      addExpBuckets(o.Scale, o.Negative, n.Scale, n.Negative, scale),
	}
	sum.Min, sum.HasMin = extreme(o.Min, o.HasMin, n.Min, n.HasMin, -1)
	sum.Max, sum.HasMax = extreme(o.Max, o.HasMax, n.Max, n.HasMax, 1)
	return sum
}

// expRange is the first and last bucket index of b, at scale from, once
// downscaled to scale; ok is false when b has no buckets.
func expRange(from int32, b payload.ExpBuckets, scale int32) (lo, hi int64, ok bool) {
	if len(b.Counts) == 0 {
		return 0, 0, false
	}
	shift := uint(int64(from) - int64(scale))
	lo = int64(b.Offset) >> shift
	hi = (int64(b.Offset) + int64(len(b.Counts)) - 1) >> shift
	return lo, hi, true
}

// expSpan is the range of bucket indexes, at scale, of two sides merged.
func expSpan(oScale int32, o payload.ExpBuckets, nScale int32, n payload.ExpBuckets, scale int32) (lo, hi int64) {
	oLo, oHi, oOK := expRange(oScale, o, scale)
	nLo, nHi, nOK := expRange(nScale, n, scale)
	switch {
	case oOK && nOK:
		return min(oLo, nLo), max(oHi, nHi)
	case oOK:
		return oLo, oHi
	case nOK:
		return nLo, nHi
	}
	return 0, 0
}

// addExpBuckets adds up two sides at scale, which neither is finer than.
func addExpBuckets(oScale int32, o payload.ExpBuckets, nScale int32, n payload.ExpBuckets, scale int32) payload.ExpBuckets {
	if len(o.Counts) == 0 && len(n.Counts) == 0 {
		return payload.ExpBuckets{Offset: n.Offset >> uint(int64(nScale)-int64(scale))}
	}
	lo, hi := expSpan(oScale, o, nScale, n, scale)
	counts := make([]uint64, hi-lo+1)
	for _, side := range []struct {
		from int32
		b    payload.ExpBuckets
	}{{oScale, o}, {nScale, n}} {
		shift := uint(int64(side.from) - int64(scale))
		for i, c := range side.b.Counts {
			counts[(int64(side.b.Offset)+int64(i))>>shift-lo] += c
		}
	}
	return payload.ExpBuckets{Offset: int32(lo), Counts: counts}
}

// foldIntoZero counts the buckets of h whose every figure is within zt of
// zero as zeros, and makes zt its zero threshold.
func foldIntoZero(h payload.ExpHistogram, zt float64) payload.ExpHistogram {
	if h.ZeroThreshold == zt {
		return h
	}
	h.ZeroThreshold = zt
	for _, b := range []*payload.ExpBuckets{&h.Positive, &h.Negative} {
		// Bucket i holds magnitudes in (base^i, base^(i+1)], base =
		// 2^(2^-scale): its upper bound is 2^((i+1) * 2^-scale).
		k := 0
		for k < len(b.Counts) && math.Exp2(math.Ldexp(float64(int64(b.Offset)+int64(k)+1), -int(h.Scale))) <= zt {
			h.ZeroCount += b.Counts[k]
			k++
		}
		if k > 0 {
			b.Counts = slices.Clone(b.Counts[k:])
			b.Offset += int32(k)
		}
	}
	return h
}
