package convert

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortByTextOrdersAsBytesCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{`{"a":`, `"GET"`, `"POST"`, `,`, `}`, `1`, `12`, `"\u00e9"`, "é", `{`, ""}
	for round := range 200 {
		n := r.IntN(300)
		texts := make([][]byte, n)
		for i := range texts {
			var b []byte
			if round%2 == 0 { // long shared beginnings, as attribute sets have
				b = append(b, `{"cache.hit":false,"http.request.method":`...)
			}
			for range r.IntN(12) {
				b = append(b, alphabet[r.IntN(len(alphabet))]...)
			}
			texts[i] = b
		}
		var arena []byte
		points := make([]withAttrs[int], len(texts))
		for i, t := range texts {
			points[i] = withAttrs[int]{start: len(arena), end: len(arena) + len(t), p: i}
			arena = append(arena, t...)
		}
		sortByAttrs(points, arena)
		got := make([][]byte, len(points))
		for i, p := range points {
			got[i] = arena[p.start:p.end]
		}
		want := slices.Clone(texts)
		slices.SortFunc(want, bytes.Compare)
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("round %d, %d texts: position %d is %q, want %q", round, n, i, got[i], want[i])
			}
		}
	}
}
