package exporter

import (
	"bytes"
	"encoding/binary"
)

// sortByText sorts points by the text that text(p) returns, as
// bytes.Compare orders it, for texts that hold no zero byte (JSON text has
// none: control characters are escaped).
//
// The attribute sets of one metric mostly share long beginnings
// ({"http.request.method":"GET","http.response.status_code":200,...), so a
// comparison sort compares the same bytes again in every comparison, and
// a collection of 100,000 points spent a third of its conversion there.
// This is a multikey quicksort (Bentley and Sedgewick) on 8-byte chunks:
// points are split by the chunk at one depth, and only those that tie go
// on to the next chunk, so each byte is looked at about once per point.
func sortByText[P any](points []P, text func(*P) []byte) {
	multikey(points, text, 0)
}

// chunk is the 8 bytes of t from depth on, big-endian, padded with zero
// bytes past its end; a zero last byte means that t ends in this chunk.
func chunk(t []byte, depth int) uint64 {
	if depth+8 <= len(t) {
		return binary.BigEndian.Uint64(t[depth:])
	}
	var b [8]byte
	if depth < len(t) {
		copy(b[:], t[depth:])
	}
	return binary.BigEndian.Uint64(b[:])
}

func multikey[P any](points []P, text func(*P) []byte, depth int) {
	for len(points) > 16 {
		pivot := chunk(text(&points[len(points)/2]), depth)
		// Three-way partition: [0,lt) below the pivot's chunk, [lt,gt)
		// equal to it, [gt,n) above it.
		lt, i, gt := 0, 0, len(points)
		for i < gt {
			switch c := chunk(text(&points[i]), depth); {
			case c < pivot:
				points[lt], points[i] = points[i], points[lt]
				lt++
				i++
			case c > pivot:
				gt--
				points[i], points[gt] = points[gt], points[i]
			default:
				i++
			}
		}
		multikey(points[:lt], text, depth)
		if pivot&0xFF != 0 { // the equal ones have not ended: on to the next chunk
			multikey(points[lt:gt], text, depth+8)
		}
		points = points[gt:]
	}
	// Few left: insertion sort on what follows the shared depth.
	for i := 1; i < len(points); i++ {
		for j := i; j > 0 && compareFrom(text(&points[j-1]), text(&points[j]), depth) > 0; j-- {
			points[j-1], points[j] = points[j], points[j-1]
		}
	}
}

func compareFrom(a, b []byte, depth int) int {
	return bytes.Compare(a[min(depth, len(a)):], b[min(depth, len(b)):])
}
