// Package loadgen simulates a fleet of instances for the deploy tests and
// benchmarks: each instance sends updates of 50 keys (counters, a version,
// a counting set of user-agent hashes with a long tail, nested values and
// readings), written with the payload package's Writer, straight to the
// fleet's load balancer. It keeps the ground truth of every update the
// fleet accepted, to check the fleet's answers against.
package loadgen

import (
	"fmt"
	"strconv"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

// Counters is how many counter keys each update carries (c00, c01, ...).
const Counters = 40

// Flags is how many boolean keys each update carries (f0, f1, ...).
const Flags = 5

// InstanceID is the UUID of simulated instance i of a run with the seed:
// the same on every run, so that a test can say which instance is which.
func InstanceID(seed uint32, i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", seed, i)
}

// CounterName is the key of counter j.
func CounterName(j int) string { return fmt.Sprintf("c%02d", j) }

// CounterAdd is what instance i adds to counter j in a round.
func CounterAdd(i, j, round int) int64 { return int64((i+j)%7 + round) }

// Version is instance i's version in a round: most run one of three
// releases, a tenth upgrade in round 2, and one in a thousand runs a
// build of its own (which the privacy threshold must hide).
func Version(i, round int) string {
	switch {
	case i%1000 == 999:
		return "dev-" + strconv.Itoa(i)
	case round >= 2 && i%10 == 0:
		return "2.1.0"
	case i%4 == 0:
		return "1.0.0"
	case i%4 == 1:
		return "1.1.0"
	}
	return "2.0.0"
}

// Agent is one member of an instance's counting set of user agents.
type Agent struct {
	Hash  string
	Count int64
}

// Agents are the user-agent hashes instance i counts in a round: a common
// one (a fifth of the fleet each), a middling one (one in 200), a tail one
// that four instances share (fewer than the privacy threshold, however
// large the fleet) and one its own.
func Agents(i, round int) []Agent {
	return []Agent{
		{"ua-common-" + strconv.Itoa(i%5), int64(round)},
		{"ua-mid-" + strconv.Itoa(i%200), 1},
		{"ua-tail-" + strconv.Itoa(i/4), 1},
		{fmt.Sprintf("ua-own-%06d", i), 1},
	}
}

// OS and Arch are the string members of instance i's nested "build" value;
// Cores is its number member (a reading).
func OS(i int) string   { return [...]string{"linux", "darwin", "windows"}[i%3] }
func Arch(i int) string { return [...]string{"amd64", "arm64"}[i%2] }
func Cores(i int) int64 { return int64(i%16 + 1) }

// Flag is instance i's boolean f<j>.
func Flag(i, j int) bool { return (i>>j)&1 == 1 }

// Goroutines and HeapAlloc are instance i's readings.
func Goroutines(i int) int64 { return int64(i%50 + 10) }
func HeapAlloc(i int) int64  { return int64(i%100+1) << 20 }

// WriteUpdate appends instance i's update of a round to buf: 40 counters,
// version, agent, build, goroutines, memory and 5 flags (50 keys).
func WriteUpdate(w *payload.Writer, buf []byte, id string, i, round int, now time.Time) []byte {
	w.Reset(buf)
	w.BeginUpdate(id, now)
	data := w.BeginData()
	for j := range Counters {
		w.Name(CounterName(j))
		w.Int(CounterAdd(i, j, round))
	}
	w.Name("version")
	w.String(Version(i, round))
	w.Name("agent")
	w.BeginList()
	for _, a := range Agents(i, round) {
		w.CountedValue(strconv.AppendQuote(nil, a.Hash), a.Count)
	}
	w.EndList()
	w.Name("build")
	w.BeginObject()
	w.Name("arch")
	w.String(Arch(i))
	w.Name("cores")
	w.Int(Cores(i))
	w.Name("os")
	w.String(OS(i))
	w.EndObject()
	w.Name(payload.KeyGoroutines)
	w.Int(Goroutines(i))
	w.Name(payload.KeyMemory)
	w.BeginObject()
	w.Name(payload.MemberHeapAlloc)
	w.Int(HeapAlloc(i))
	w.Name(payload.MemberSys)
	w.Int(2 * HeapAlloc(i))
	w.EndObject()
	for j := range Flags {
		w.Name("f" + strconv.Itoa(j))
		w.Bool(Flag(i, j))
	}
	w.EndData(data)
	return w.EndUpdate()
}
