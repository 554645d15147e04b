package convert

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// Members come out in the order of their JSON text, equal texts counted
// together, whatever their lengths and shared beginnings: the order by
// head must agree with bytes.Compare.
func TestCountingSetSortsByText(t *testing.T) {
	texts := []string{`"a"`, `"ab"`, `"abcdefgh"`, `"abcdefg"`, `"abcdefghi"`, `"abcdefgh"`, `1`, `10`, `2`, `-1`, `true`, `{"X":1}`, `"a"`}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		texts = append(texts, strconv.Quote(strconv.FormatUint(rng.Uint64()%4096, 16+int(rng.Uint64()%2)*20)))
	}
	rng.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
	var s countingSet
	for _, text := range texts {
		start := len(s.arena)
		s.arena = append(s.arena, text...)
		s.add(start, 1)
	}
	s.settle()

	want := map[string]int64{}
	for _, text := range texts {
		want[text]++
	}
	var got []string
	for _, m := range s.members {
		text := string(s.valueOf(m))
		if m.count != want[text] {
			t.Errorf("%s counted %d times, want %d", text, m.count, want[text])
		}
		got = append(got, text)
	}
	if !slices.IsSortedFunc(got, func(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }) {
		t.Errorf("members out of order: %q", got)
	}
	if len(got) != len(want) {
		t.Errorf("%d members, want %d distinct texts", len(got), len(want))
	}
}
