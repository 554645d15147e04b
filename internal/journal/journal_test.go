package journal

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

func newJournal(t testing.TB) *Journal {
	t.Helper()
	j, err := Create(filepath.Join(t.TempDir(), "journal-x.bin"), "0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// image is what a process that starts after this one dies would read.
func image(t *testing.T, j *Journal) []byte {
	t.Helper()
	data, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func recovered(t *testing.T, j *Journal, stamped uint64) map[string]Figure {
	t.Helper()
	figs, err := Recover(image(t, j), stamped)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Figure{}
	for _, f := range figs {
		out[f.Key+"|"+f.Sub] = f
	}
	return out
}

func int64Bytes(n int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(n)) }

// TestHandOverWithoutGapOrOverlap walks a count and a value through the
// generations and checks what a process dying at each step would leave.
func TestHandOverWithoutGapOrOverlap(t *testing.T) {
	j := newJournal(t)
	c, ok := j.NewCount(KindCounter, "requests", 0, nil)
	if !ok {
		t.Fatal("count not in the journal")
	}
	var v Value
	c.Add(5)
	if !j.Put(&v, KindValue, "version", "", TypeString, []byte("1.0"), 1) {
		t.Fatal("value not in the journal")
	}
	check := func(step string, stamped uint64, wantCount int64, wantValue string) {
		t.Helper()
		got := recovered(t, j, stamped)
		if got["requests|"].Count != wantCount {
			t.Errorf("%s: unsent count %d, want %d", step, got["requests|"].Count, wantCount)
		}
		if got["version|"].Value != wantValue {
			t.Errorf("%s: unsent value %q, want %q", step, got["version|"].Value, wantValue)
		}
	}
	check("recorded only", 0, 5, `"1.0"`)

	// Generation 1 takes both; its file is written, then committed.
	j.Begin(1)
	c.Drain()
	j.Mark(c, 1)
	j.MarkValues(1, 1)
	c.Add(2) // after the collection: not in generation 1
	check("marked, file not written", 0, 7, `"1.0"`)
	check("file written, not committed", 1, 2, "")
	j.Commit(1)
	check("committed", 0, 2, "")

	// Generation 2 fails to reach a file: its marks never count.
	j.Begin(2)
	c.Drain()
	j.Mark(c, 2)
	j.MarkValues(2, 1)
	if !j.Put(&v, KindValue, "version", "", TypeString, []byte("1.1"), 2) {
		t.Fatal("second value not in the journal")
	}
	check("generation 2 not on disk", 0, 2, `"1.1"`)

	// Generation 3 carries what 2 took, and more.
	c.Add(-10)
	j.Begin(3)
	c.Drain()
	j.Mark(c, 3)
	j.MarkValues(3, 2)
	check("generation 3 pending", 0, -8, `"1.1"`)
	j.Commit(3)
	check("generation 3 committed", 0, 0, "")
	if !j.Settled() {
		t.Error("every generation is committed, yet the journal is not settled")
	}
}

func TestCountsWrapAsGoIntegersDo(t *testing.T) {
	j := newJournal(t)
	c, _ := j.NewCount(KindCounter, "k", 0, nil)
	c.Add(math.MaxInt64)
	c.Add(1)
	if got := recovered(t, j, 0)["k|"].Count; got != math.MinInt64 {
		t.Fatalf("count %d, want the wrapped %d", got, int64(math.MinInt64))
	}
}

func TestMembersNestedAndElementsReadBackAsJSON(t *testing.T) {
	j := newJournal(t)
	m, _ := j.NewCount(KindMember, "ua", TypeString, []byte(`he said "hi"`))
	m.Add(3)
	var n Value
	j.Put(&n, KindNested, "cfg", "port", TypeInt, int64Bytes(-8080), 1)
	e1, _ := j.Element("list", TypeBool, []byte{1}, 2)
	e2, _ := j.Element("list", TypeJSON, []byte(`{"a":[1,2]}`), 3)
	_, _ = e1, e2
	figs, err := Recover(image(t, j), 0)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(figs, func(a, b int) bool { return figs[a].Key+figs[a].Value < figs[b].Key+figs[b].Value })
	want := []Figure{
		{Kind: KindNested, Key: "cfg", Sub: "port", Value: "-8080", Seq: 1},
		{Kind: KindElement, Key: "list", Value: `true`, Seq: 2},
		{Kind: KindElement, Key: "list", Value: `{"a":[1,2]}`, Seq: 3},
		{Kind: KindMember, Key: "ua", Sub: `"he said \"hi\""`, Count: 3},
	}
	if len(figs) != len(want) {
		t.Fatalf("got %+v, want %+v", figs, want)
	}
	for i := range want {
		if figs[i] != want[i] {
			t.Errorf("figure %d: got %+v, want %+v", i, figs[i], want[i])
		}
	}
}

func TestDroppedAndFreedRecordsAreNotRecovered(t *testing.T) {
	j := newJournal(t)
	var v Value
	j.Put(&v, KindValue, "k", "", TypeInt, int64Bytes(1), 1)
	j.Drop(&v)
	c, _ := j.NewCount(KindCounter, "c", 0, nil)
	c.Add(1)
	j.Free(c)
	if got := recovered(t, j, 0); len(got) != 0 {
		t.Fatalf("dropped figures came back: %+v", got)
	}
	// A freed record is reused.
	c2, _ := j.NewCount(KindCounter, "d", 0, nil)
	if c2.off != c.off {
		t.Errorf("a freed record was not reused: %d then %d", c.off, c2.off)
	}
}

func TestRetiredValuesStayUntilCommitted(t *testing.T) {
	j := newJournal(t)
	var v Value
	j.Put(&v, KindValue, "k", "", TypeInt, int64Bytes(7), 1)
	j.Begin(1)
	j.MarkValues(1, 1)
	j.Retire(&v, 1)
	if got := recovered(t, j, 0)["k|"].Value; got != "7" {
		t.Fatalf("a retired value not yet committed is gone: %q", got)
	}
	j.Commit(1)
	if got := recovered(t, j, 0); len(got) != 0 {
		t.Fatalf("a committed value came back: %+v", got)
	}
}

func TestAFullJournalFallsBackToMemory(t *testing.T) {
	j := newJournal(t)
	big := make([]byte, MaxRecord)
	var v Value
	if j.Put(&v, KindValue, "k", "", TypeString, big, 1) {
		t.Fatal("a value larger than a record was accepted")
	}
	n := 0
	for {
		c, ok := j.NewCount(KindCounter, "k", 0, nil)
		if !ok {
			if c.Count == nil {
				t.Fatal("no count in memory when the journal is full")
			}
			break
		}
		n++
	}
	if n != (Size-headerSize)/128 {
		t.Errorf("%d counts fit, want %d", n, (Size-headerSize)/128)
	}
}

func FuzzRecover(f *testing.F) {
	j, err := Create(filepath.Join(f.TempDir(), "j.bin"), "0123456789abcdef")
	if err != nil {
		f.Fatal(err)
	}
	c, _ := j.NewCount(KindMember, "ua", TypeString, []byte("x"))
	c.Add(1)
	var v Value
	j.Put(&v, KindNested, "cfg", "s", TypeJSON, []byte(`[1]`), 1)
	data, err := os.ReadFile(j.Path())
	if err != nil {
		f.Fatal(err)
	}
	top := binary.LittleEndian.Uint64(data[offTop:])
	f.Add(data[:top], uint64(0))
	f.Add(data[:headerSize], uint64(1))
	f.Fuzz(func(t *testing.T, data []byte, stamped uint64) {
		figs, err := Recover(data, stamped)
		if err != nil {
			return
		}
		for _, fig := range figs {
			if fig.Kind < KindCounter || fig.Kind > KindElement {
				t.Fatalf("recovered a figure of kind %d", fig.Kind)
			}
		}
	})
}

// A number replacing a number of the same type is written in place; any
// other change takes the spare record. Either way the latest value is the
// one recovered, and no record is left behind.
func TestValuesReplacedInPlaceOrInTurn(t *testing.T) {
	j := newJournal(t)
	var v Value
	j.Put(&v, KindNested, "cfg", "port", TypeInt, int64Bytes(1), 1)
	first := v.cur
	j.Put(&v, KindNested, "cfg", "port", TypeInt, int64Bytes(2), 2)
	if v.cur != first {
		t.Error("a number replacing a number was not written in place")
	}
	if got := recovered(t, j, 0)["cfg|port"]; got.Value != "2" || got.Seq != 2 {
		t.Fatalf("recovered %+v, want 2 at seq 2", got)
	}
	j.Put(&v, KindNested, "cfg", "port", TypeString, []byte("auto"), 3)
	if got := recovered(t, j, 0)["cfg|port"]; got.Value != `"auto"` || got.Seq != 3 {
		t.Fatalf("recovered %+v, want \"auto\" at seq 3", got)
	}
	again := v.cur
	j.Put(&v, KindNested, "cfg", "port", TypeString, []byte("auto"), 4)
	if got := recovered(t, j, 0)["cfg|port"]; v.cur != again || got.Seq != 4 {
		t.Fatalf("the same value again: record %d then %d, recovered %+v; want one record, seq 4", again, v.cur, got)
	}
	j.Put(&v, KindNested, "cfg", "port", TypeString, []byte("aut0"), 5)
	if got := recovered(t, j, 0)["cfg|port"]; got.Value != `"aut0"` {
		t.Fatalf("a string of the same length: recovered %+v", got)
	}
	j.Put(&v, KindNested, "cfg", "port", TypeFloat, binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.5)), 6)
	figs, err := Recover(image(t, j), 0)
	if err != nil || len(figs) != 1 || figs[0].Value != "0.5" {
		t.Fatalf("recovered %+v (%v), want the one value 0.5", figs, err)
	}
}

// On a full disk the journal says it is full; it never places a record on
// a page that has no disk block behind it, which would end the process
// with SIGBUS. The test needs a small file system of its own: a tmpfs
// mounted for it, which takes root (CI runs as root).
func TestAFullDiskIsAFullJournalNotAFault(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	j, err := Create(filepath.Join(dir, "journal.bin"), "0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		c, ok := j.NewCount(KindCounter, "key", 0, nil)
		c.Add(1) // a fault here ends the test binary
		if !ok {
			break
		}
		n++
	}
	if n == 0 || n >= (Size-headerSize)/128 {
		t.Fatalf("%d counts fit on a 2 MiB file system", n)
	}
	t.Logf("%d counts fit before the disk was full", n)
}

func TestEmptyOnlyOnceEverythingIsHandedOver(t *testing.T) {
	j := newJournal(t)
	if !j.Empty() {
		t.Fatal("a new journal is not empty")
	}
	c, _ := j.NewCount(KindCounter, "k", 0, nil)
	c.Add(1)
	if j.Empty() {
		t.Fatal("a journal with an unsent count is empty")
	}
	j.Begin(1)
	c.Drain()
	j.Mark(c, 1)
	if j.Empty() {
		t.Fatal("a journal whose generation is not committed is empty")
	}
	j.Commit(1)
	if !j.Empty() {
		t.Fatal("a journal whose figures are all committed is not empty")
	}
}
