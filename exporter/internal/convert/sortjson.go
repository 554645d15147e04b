package convert

import (
	"bytes"
	"encoding/binary"
)

// sortByAttrs sorts points by the JSON text of their attributes, as
// bytes.Compare orders it. JSON text holds no zero byte (control
// characters are escaped), which chunk relies on.
//
// The attribute sets of one metric mostly share long beginnings
// ({"http.request.method":"GET","http.response.status_code":200,...), so a
// comparison sort compares the same bytes again in every comparison, and
// at 100,000 points it spent a third of the conversion there. This is a
// multikey quicksort (Bentley and Sedgewick) on 8-byte chunks: points are
// split by the chunk at one depth, and only those that tie go on to the
// next chunk. Each point's chunk for the depth at hand is kept in the
// point, so partitioning reads the points in order instead of reaching
// into the arena for every comparison.
func sortByAttrs[P any](points []withAttrs[P], arena []byte) {
	multikey(points, arena, 0)
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

// multikey sorts points that tie up to depth: it reads their chunks at
// depth, then sorts by them.
func multikey[P any](points []withAttrs[P], arena []byte, depth int) {
	if len(points) <= 16 {
		insertionSort(points, arena, depth)
		return
	}
	for i := range points {
		points[i].chunk = chunk(arena[points[i].start:points[i].end], depth)
	}
	byChunk(points, arena, depth)
}

// byChunk sorts points whose chunks at depth are read.
func byChunk[P any](points []withAttrs[P], arena []byte, depth int) {
	for len(points) > 16 {
		pivot := points[len(points)/2].chunk
		// Three-way partition: [0,lt) below the pivot's chunk, [lt,gt)
		// equal to it, [gt,n) above it.
		lt, i, gt := 0, 0, len(points)
		for i < gt {
			switch c := points[i].chunk; {
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
		byChunk(points[:lt], arena, depth)
		if pivot&0xFF != 0 { // the equal ones have not ended: on to the next chunk
			multikey(points[lt:gt], arena, depth+8)
		}
		points = points[gt:]
	}
	insertionSort(points, arena, depth)
}

// insertionSort sorts a few points on what follows the depth they share.
func insertionSort[P any](points []withAttrs[P], arena []byte, depth int) {
	text := func(p *withAttrs[P]) []byte { return arena[p.start+min(depth, p.end-p.start) : p.end] }
	for i := 1; i < len(points); i++ {
		for j := i; j > 0 && bytes.Compare(text(&points[j-1]), text(&points[j])) > 0; j-- {
			points[j-1], points[j] = points[j], points[j-1]
		}
	}
}
