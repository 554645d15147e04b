package exporter

import (
	"bytes"
	"fmt"
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
		got := slices.Clone(texts)
		sortByText(got, func(b *[]byte) []byte { return *b })
		want := slices.Clone(texts)
		slices.SortFunc(want, bytes.Compare)
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("round %d, %d texts: position %d is %q, want %q", round, n, i, got[i], want[i])
			}
		}
	}
}

func BenchmarkSortAttributeTexts(b *testing.B) {
	texts := make([][]byte, 100_000)
	for i := range texts {
		texts[i] = fmt.Appendf(nil, `{"cache.hit":%v,"http.request.method":"%s","url.template":"/api/v1/items/%d"}`,
			i%3 == 0, []string{"GET", "POST", "PUT"}[i%3], i*7919%100_000)
	}
	work := make([][]byte, len(texts))
	b.Run("impl=multikey", func(b *testing.B) {
		for b.Loop() {
			copy(work, texts)
			sortByText(work, func(b *[]byte) []byte { return *b })
		}
	})
	b.Run("impl=pdqsort", func(b *testing.B) {
		for b.Loop() {
			copy(work, texts)
			slices.SortFunc(work, bytes.Compare)
		}
	})
}
