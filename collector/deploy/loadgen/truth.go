package loadgen

import (
	"strconv"
	"sync"
)

// Truth is what the fleet accepted, kept as the fleet's questions ask it:
// totals, and instances per value by their latest update.
type Truth struct {
	mu sync.Mutex
	// Counter totals by key.
	Counters map[string]int64
	// Agents is each user-agent hash's total count, AgentInstances how
	// many distinct instances counted it.
	Agents         map[string]int64
	AgentInstances map[string]int
	// latest is each instance's last accepted round (0: none).
	latest map[int]int
	agents map[string]map[int]bool
}

// NewTruth returns an empty Truth.
func NewTruth() *Truth {
	return &Truth{Counters: map[string]int64{}, Agents: map[string]int64{}, AgentInstances: map[string]int{},
		latest: map[int]int{}, agents: map[string]map[int]bool{}}
}

// Record notes that the fleet accepted instance i's update of a round.
func (t *Truth) Record(i, round int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for j := range Counters {
		t.Counters[CounterName(j)] += CounterAdd(i, j, round)
	}
	for _, a := range Agents(i, round) {
		t.Agents[a.Hash] += a.Count
		if t.agents[a.Hash] == nil {
			t.agents[a.Hash] = map[int]bool{}
		}
		if !t.agents[a.Hash][i] {
			t.agents[a.Hash][i] = true
			t.AgentInstances[a.Hash]++
		}
	}
	t.latest[i] = max(t.latest[i], round)
}

// Instances is how many instances had an update accepted.
func (t *Truth) Instances() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.latest)
}

// Values counts instances by a value of their latest accepted update
// (of: Version, OS, ...).
func (t *Truth) Values(of func(i, round int) string) map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	for i, round := range t.latest {
		out[of(i, round)]++
	}
	return out
}

// FlagValues counts instances by their flag j.
func (t *Truth) FlagValues(j int) map[string]int {
	return t.Values(func(i, _ int) string { return strconv.FormatBool(Flag(i, j)) })
}

// Reported is every distinct value an instance sent (versions, agents,
// nested members) with how many instances sent it, for checking the
// privacy threshold.
func (t *Truth) Reported() map[string]int {
	t.mu.Lock()
	seen := map[string]map[int]bool{}
	note := func(v string, i int) {
		if seen[v] == nil {
			seen[v] = map[int]bool{}
		}
		seen[v][i] = true
	}
	for i, last := range t.latest {
		for round := 1; round <= last; round++ {
			note(Version(i, round), i)
		}
		note(OS(i), i)
		note(Arch(i), i)
	}
	out := map[string]int{}
	for v, n := range t.AgentInstances {
		out[v] = n
	}
	t.mu.Unlock()
	for v, is := range seen {
		out[v] = len(is)
	}
	return out
}
