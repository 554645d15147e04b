package fleetprocessor

// recentInstances remembers the k instances that most recently reported a
// series, which is all the privacy threshold needs: at least k distinct
// instances reported the series since t exactly when the k-th most recent
// of them did. The state per series is thus k pairs, whatever the number
// of instances.
type recentInstances struct {
	ids  []uint64
	seen []int64 // unix nanoseconds, paired with ids
}

// note records that instance id reported at now, keeping at most k.
func (r *recentInstances) note(id uint64, now int64, k int) {
	oldest := 0
	for i, have := range r.ids {
		if have == id {
			r.seen[i] = now
			return
		}
		if r.seen[i] < r.seen[oldest] {
			oldest = i
		}
	}
	if len(r.ids) < k {
		r.ids = append(r.ids, id)
		r.seen = append(r.seen, now)
		return
	}
	r.ids[oldest], r.seen[oldest] = id, now
}

// reachedBy reports whether at least k distinct instances reported at or
// after since.
func (r *recentInstances) reachedBy(k int, since int64) bool {
	n := 0
	for _, t := range r.seen {
		if t >= since {
			n++
		}
	}
	return n >= k
}

// newest is when the series was last reported (0 if never).
func (r *recentInstances) newest() int64 {
	var t int64
	for _, s := range r.seen {
		t = max(t, s)
	}
	return t
}
