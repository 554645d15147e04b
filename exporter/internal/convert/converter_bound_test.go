package convert

import "testing"

// A converter whose arena grew past maxKeptBody is not kept for the next
// update; one within it is.
func TestBuffersLetGoOfAConverterGrownPastTheBound(t *testing.T) {
	var b Buffers
	small := b.TakeConverter()
	small.arena = make([]byte, 0, 1<<10)
	b.ReturnConverter(small)
	if got := b.TakeConverter(); got != small {
		t.Fatal("a converter within the bound was not kept")
	}
	big := b.TakeConverter()
	big.arena = make([]byte, 0, maxKeptBody+1)
	b.ReturnConverter(big)
	if got := b.TakeConverter(); got == big || cap(got.arena) > maxKeptBody {
		t.Fatalf("a converter holding %d bytes of arena was kept", cap(got.arena))
	}
}
