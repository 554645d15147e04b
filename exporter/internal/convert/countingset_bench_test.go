package convert

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkCountingSetSettle sorts and merges the members of a counting
// set of 10,000 user-agent hashes, as an update of BenchmarkUpdate does.
func BenchmarkCountingSetSettle(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	var arena []byte
	var members []counted
	var s countingSet
	for range 10_000 {
		start := len(arena)
		arena = strconv.AppendQuote(arena, strconv.FormatUint(uint64(rng.Uint32()), 16))
		s.arena = arena
		s.add(start, 1)
	}
	members = append(members, s.members...)
	b.ResetTimer()
	for range b.N {
		s.members = append(s.members[:0], members...)
		s.settle()
	}
}
