package journal

import (
	"encoding/binary"
	"strconv"
	"testing"
)

// BenchmarkPutChangingNumber replaces the numbers of 1,000 sub-keys in
// turn, each with a new value: the journal's share of a SetNested whose
// value changes on every call.
func BenchmarkPutChangingNumber(b *testing.B) {
	j := newJournal(b)
	vals := make([]Value, 1000)
	subs := make([]string, len(vals))
	var buf [8]byte
	for i := range vals {
		subs[i] = "agent-" + strconv.Itoa(i)
		j.Put(&vals[i], KindNested, "http_user_agent", subs[i], TypeInt, buf[:], uint64(i+1))
	}
	b.ResetTimer()
	for i := range b.N {
		k := i % len(vals)
		binary.LittleEndian.PutUint64(buf[:], uint64(i))
		j.Put(&vals[k], KindNested, "http_user_agent", subs[k], TypeInt, buf[:], uint64(len(vals)+i))
	}
}

// BenchmarkPutNumberChanging is BenchmarkPutChangingNumber through
// PutNumber, as the bridge writes an int, int64 or float64.
func BenchmarkPutNumberChanging(b *testing.B) {
	j := newJournal(b)
	vals := make([]Value, 1000)
	subs := make([]string, len(vals))
	for i := range vals {
		subs[i] = "agent-" + strconv.Itoa(i)
		j.PutNumber(&vals[i], KindNested, "http_user_agent", subs[i], TypeInt, 0, uint64(i+1))
	}
	b.ResetTimer()
	for i := range b.N {
		k := i % len(vals)
		j.PutNumber(&vals[k], KindNested, "http_user_agent", subs[k], TypeInt, uint64(i), uint64(len(vals)+i))
	}
}

// BenchmarkPutChangingString replaces the strings of 1,000 sub-keys in
// turn with strings of the same length: each is written whole into the
// value's other record and published.
func BenchmarkPutChangingString(b *testing.B) {
	j := newJournal(b)
	vals := make([]Value, 1000)
	subs := make([]string, len(vals))
	texts := [][]byte{[]byte("text-one"), []byte("text-two")}
	for i := range vals {
		subs[i] = "agent-" + strconv.Itoa(i)
		j.Put(&vals[i], KindNested, "http_user_agent", subs[i], TypeString, texts[0], uint64(i+1))
	}
	b.ResetTimer()
	for i := range b.N {
		k := i % len(vals)
		j.Put(&vals[k], KindNested, "http_user_agent", subs[k], TypeString, texts[(i/len(vals)+1)%2], uint64(len(vals)+i))
	}
}
