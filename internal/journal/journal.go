// Package journal keeps what a process recorded in a file mapped into
// memory, so that a figure whose recording call has returned outlives the
// process however it ends: os.Exit, SIGKILL, a panic elsewhere. A store
// into a shared mapping is a store into the kernel's page cache of the
// file; the kernel keeps the page when the process dies and writes it back
// in its own time. Only the machine losing power before that loses it.
//
// The journal is an arena of records after a fixed header. Counts (Add,
// Increment, a counting set's member) are records updated in place with
// one atomic add. Values (Set, SetNested, Append) are records written
// whole and then published; a changed value goes to a second record and
// the first is freed only once the second is published, so a death in the
// middle of a write leaves the previous value readable.
//
// # Handing figures over without a gap or an overlap
//
// Each collection of the telemetry reader is numbered (its generation).
// When it begins, every count is marked with what the collection takes
// (Count.Mark); values are marked by their sequence numbers (MarkValues).
// Once the collection's update is on disk in a spool file stamped with
// its generation, or delivered, the generation is committed (Commit).
// What the next process finds in an orphaned journal is
//
//	a count:  recorded − (marked, if its generation is committed, else sent)
//	a value:  published with a sequence number above the committed mark
//
// so figures that a spool file already holds are not taken again, and
// figures that no file holds are. A death between writing the spool file
// and Commit is covered by the stamp: a spool file of the owner stamped
// with the pending generation commits it (see Recover).
package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Size is the most a journal file grows to: the file takes disk space
// only as records need it (reserved 1 MiB at a time), and memory only for
// pages in use. 64 MiB holds the protocol's 100,000 items twice over (an
// interval's, and the previous one's until committed) with keys and
// members of up to 192 bytes.
const Size = 64 << 20

// MaxRecord is the largest record: a value longer than about 64 KiB is not
// kept in the journal (the caller reports it) and is as safe as the spool's
// checkpoints make it.
const MaxRecord = 64 << 10

// Header layout. Every field is 8-byte aligned for atomic access.
const (
	offMagic        = 0  // [8]byte
	offVersion      = 8  // uint64
	offInstance     = 16 // [16]byte, the instance hash in hex
	offSize         = 32 // uint64, the file's size
	offPendingGen   = 40 // uint64, the generation being handed over
	offCommittedGen = 48 // uint64, the latest generation on disk or delivered
	offSeqGen       = 56 // uint64, the generation of pendingSeq
	offPendingSeq   = 64 // uint64, the last value sequence number marked
	offSentSeq      = 72 // uint64, the mark before that, once committed
	offTop          = 80 // uint64, where the next new record starts
	headerSize      = 128
)

// Record layout: a record is a header of recordHeader bytes followed by
// its key, its sub-key or member, and its value.
const (
	rSize        = 0  // uint32, the record's size class, set once
	rState       = 4  // uint32: stateFree or stateLive
	rKind        = 8  // uint8
	rSubType     = 9  // uint8, the type of the member or sub-key text
	rValType     = 10 // uint8
	rKeyLen      = 12 // uint32
	rSubLen      = 16 // uint32
	rValLen      = 20 // uint32
	rSeq         = 24 // uint64: a value's sequence number; a count's mark generation
	rCount       = 32 // Count: 4 × int64
	recordHeader = 64
)

const (
	stateFree = 0
	stateLive = 1
)

// version is the layout's version: a journal of another version is not read.
const version = 1

var magic = [8]byte{'t', 'b', 'j', 'o', 'u', 'r', 'n', 'l'}

// Kind says what a record holds.
type Kind uint8

// Record kinds.
const (
	KindCounter Kind = iota + 1 // a key's count
	KindMember                  // a counting set's member and its count
	KindValue                   // a Set value
	KindNested                  // a SetNested sub-key's value
	KindElement                 // an Append element
)

// Type says how a value's bytes are to be read.
type Type uint8

// Value types.
const (
	TypeInt    Type = iota + 1 // 8 bytes, little-endian two's complement
	TypeFloat                  // 8 bytes, little-endian IEEE 754 bits
	TypeString                 // the bytes of the string
	TypeBool                   // 1 byte, 0 or 1
	TypeJSON                   // JSON text
)

// sizeClasses are the record sizes: freed records are reused by size.
var sizeClasses = [...]uint32{128, 256, 512, 1 << 10, 4 << 10, 16 << 10, MaxRecord}

// Journal is one process's journal file, mapped for its whole life. It is
// never unmapped while the process runs: a recording call that raced with
// a shutdown must find memory there, not a fault.
type Journal struct {
	mem  []byte
	path string
	// file stays open so that disk blocks can be reserved (reserved bytes
	// from the start) before records are placed on them: a store into a
	// page of a sparse file with no block behind it, on a full disk, would
	// end the process with SIGBUS.
	file     *os.File
	reserved uint64

	mu   sync.Mutex // the free lists and the top
	free [len(sizeClasses)][]uint32
	// later holds value records freed once their figures are committed.
	later []laterFree
}

type laterFree struct {
	off uint32
	seq uint64
}

// ErrUnavailable says that this platform cannot map files; callers fall
// back to figures in memory.
var ErrUnavailable = errors.New("telemetry journal: this platform cannot map a file into memory")

// Create makes a new journal file at path (which must not exist) for the
// instance whose hash is instance, and maps it.
func Create(path, instance string) (*Journal, error) {
	if !mappingAvailable {
		return nil, ErrUnavailable
	}
	f, err := os.OpenFile(path, createFlags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("telemetry journal: %w", err)
	}
	fail := func(err error) (*Journal, error) {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("telemetry journal: %s: %w", path, err)
	}
	if err := f.Truncate(Size); err != nil {
		return fail(err)
	}
	j := &Journal{path: path, file: f}
	if err := j.reserve(reserveStep); err != nil {
		return fail(err)
	}
	mem, _, err := mapFile(f, Size)
	if err != nil {
		return fail(err)
	}
	j.mem = mem
	copy(mem[offInstance:offInstance+16], instance)
	binary.LittleEndian.PutUint64(mem[offVersion:], version)
	binary.LittleEndian.PutUint64(mem[offSize:], Size)
	j.u64(offTop).Store(headerSize)
	copy(mem[offMagic:], magic[:]) // last: a journal without magic is empty
	return j, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

func (j *Journal) u64(off uint32) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&j.mem[off]))
}

func (j *Journal) u32(off uint32) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&j.mem[off]))
}

// alloc returns the offset of a free record that holds n bytes.
func (j *Journal) alloc(n int) (uint32, bool) {
	class := -1
	for i, size := range sizeClasses {
		if n <= int(size) {
			class = i
			break
		}
	}
	if class < 0 {
		return 0, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if l := j.free[class]; len(l) > 0 {
		off := l[len(l)-1]
		j.free[class] = l[:len(l)-1]
		return off, true
	}
	top := j.u64(offTop).Load()
	size := uint64(sizeClasses[class])
	if top+size > uint64(len(j.mem)) {
		return 0, false
	}
	if top+size > j.reserved && j.reserve(top+size-j.reserved) != nil {
		return 0, false // no room on disk: the caller keeps the figure in memory
	}
	binary.LittleEndian.PutUint32(j.mem[top+rSize:], uint32(size))
	j.u64(offTop).Store(top + size) // after the size: a reader never meets a sizeless record
	return uint32(top), true
}

// reserveStep is how much of the file is given disk blocks at a time.
const reserveStep = 1 << 20

// reserve gives the next n bytes of the file (rounded up to reserveStep)
// disk blocks, by writing zeros over them: portable, and a write that
// fails for want of space fails here, as an error, not later as a fault.
func (j *Journal) reserve(n uint64) error {
	n = (n + reserveStep - 1) / reserveStep * reserveStep
	n = min(n, Size-j.reserved)
	if n == 0 {
		return errors.New("the journal is full")
	}
	if _, err := j.file.WriteAt(make([]byte, n), int64(j.reserved)); err != nil {
		return err
	}
	j.reserved += n
	return nil
}

// release frees the record at off at once: its figures are no longer
// wanted (its key was overwritten or disabled) or are superseded.
func (j *Journal) release(off uint32) {
	j.u32(off + rState).Store(stateFree)
	size := binary.LittleEndian.Uint32(j.mem[off+rSize:])
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, s := range sizeClasses {
		if s == size {
			j.free[i] = append(j.free[i], off)
			return
		}
	}
}

// write fills the record at off: kind, key, sub and value, then publishes
// it with seq (values) and the live state. A reader of the file after a
// death sees either the whole record or none of it.
func (j *Journal) write(off uint32, k Kind, key string, subType Type, sub []byte, valType Type, val []byte, seq uint64) {
	j.setState(off, stateFree)
	r := j.mem[off:]
	r[rKind], r[rSubType], r[rValType] = byte(k), byte(subType), byte(valType)
	binary.LittleEndian.PutUint32(r[rKeyLen:], uint32(len(key)))
	binary.LittleEndian.PutUint32(r[rSubLen:], uint32(len(sub)))
	binary.LittleEndian.PutUint32(r[rValLen:], uint32(len(val)))
	n := recordHeader
	n += copy(r[n:], key)
	copy(r[n:], sub)
	copy(r[valueAt(len(key), len(sub)):], val)
	binary.LittleEndian.PutUint64(r[rSeq:], seq)
	j.setState(off, stateLive)
}

// valueAt is where a record's value starts: after the key and sub, on an
// 8-byte boundary, so that a number can be replaced with one atomic store.
func valueAt(keyLen, subLen int) int { return (recordHeader + keyLen + subLen + 7) &^ 7 }

// replaceNumber writes an 8-byte number over the value of the same type
// at value (in the published record at off), then the record's sequence
// number. A death between the two stores leaves the new number under the
// old sequence number: the value of a call that had not returned, sent or
// not as the old one would have been, which is what "the latest value"
// allows.
func (j *Journal) replaceNumber(value uint32, val []byte, seq uint64, off uint32) {
	binary.LittleEndian.PutUint64(j.mem[value:], binary.LittleEndian.Uint64(val))
	j.renumber(off, seq)
}

// renumber gives the published record at off the sequence number seq,
// after every store made to it before.
//
// Both are plain stores: a value record is written only under its owner's
// lock and read only by a later process, so no atomicity is needed, only
// order. A process is stopped between instructions, never within one, and
// a processor never loses a store it has retired, so a later process sees
// every store made before the death; what must not happen is the compiler
// moving the number's store after this one. The call to ordered, which
// is never inlined, is where every earlier store must have been made. An
// atomic store (XCHG on amd64) cost 10 to 15 ns here, on a path taken by
// every call whose value changes (BENCHMARKS.md).
func (j *Journal) renumber(off uint32, seq uint64) {
	ordered()
	binary.LittleEndian.PutUint64(j.mem[off+rSeq:], seq)
}

// setState sets the state of the record at off after every store made
// before, as renumber does: the record's owner writes it under its lock.
func (j *Journal) setState(off, state uint32) {
	ordered()
	binary.LittleEndian.PutUint32(j.mem[off+rState:], state)
}

// ordered does nothing, out of line: the compiler cannot move a store
// across a call it cannot see into, since the callee might read it.
//
//go:noinline
func ordered() {}

// Count is a count kept in the journal, or in memory when the journal is
// full or off. Recording adds to recorded; the collection that moves the
// count into the readers' sums remembers how far it moved (flushed); a mark says how
// far the telemetry reader's collection took it (marked, with the
// generation in the record), and sent how far a committed one did.
type Count struct {
	recorded atomic.Int64
	flushed  atomic.Int64
	sent     atomic.Int64
	marked   atomic.Int64
}

// Add records n. Sums wrap around as Go's int64 does.
func (c *Count) Add(n int64) { c.recorded.Add(n) }

// Drain returns what was recorded since the previous Drain; the caller
// adds it to the readers' sums. Calls to Drain of one count must not overlap.
func (c *Count) Drain() int64 {
	r := c.recorded.Load()
	d := r - c.flushed.Load()
	c.flushed.Store(r)
	return d
}

// Undrained returns what was recorded since the previous Drain, leaving
// it to the next. It must not overlap a Drain of the same count.
func (c *Count) Undrained() int64 { return c.recorded.Load() - c.flushed.Load() }

// Counted returns a count's handle for Mark and Free: its record, or 0 for
// a count in memory.
type Counted struct {
	*Count
	off uint32
}

// NewCount returns a count for key (and, for a counting set, the member
// of type t with text sub). When the journal is nil, full, or the key too
// long, the count lives in memory, and ok is false.
func (j *Journal) NewCount(k Kind, key string, t Type, sub []byte) (c Counted, ok bool) {
	if j != nil {
		if off, ok := j.alloc(valueAt(len(key), len(sub))); ok {
			j.write(off, k, key, t, sub, 0, nil, 0)
			return Counted{Count: (*Count)(unsafe.Pointer(&j.mem[off+rCount])), off: off}, true
		}
	}
	return Counted{Count: new(Count)}, j == nil
}

// Mark notes that the collection of generation gen took the count up to
// what was flushed. Counts are marked after Begin and before the
// collection's update is written. The order of the stores below is what
// keeps a count whole should the process die between any two of them.
func (j *Journal) Mark(c Counted, gen uint64) {
	if c.off == 0 {
		return
	}
	markGen := j.u64(c.off + rSeq)
	if markGen.Load() <= j.u64(offCommittedGen).Load() {
		c.sent.Store(c.marked.Load()) // the previous mark is on disk
	}
	markGen.Store(gen)
	c.marked.Store(c.flushed.Load())
}

// Free gives a count's record back once nothing will add to it.
func (j *Journal) Free(c Counted) {
	if j != nil && c.off != 0 {
		j.release(c.off)
	}
}

// Committed reports whether the count's latest mark is committed and
// nothing was recorded or moved after it: a retired count can then be
// freed.
func (j *Journal) Committed(c Counted) bool {
	if c.off == 0 {
		return true
	}
	r := c.recorded.Load()
	return j.u64(c.off+rSeq).Load() <= j.u64(offCommittedGen).Load() && r == c.flushed.Load() && r == c.marked.Load()
}

// Value is a journal-kept value (Set, a SetNested sub-key): two records
// used in turn, so that the previous value stays readable while the next
// is written. Its methods are called under the owner's lock.
type Value struct {
	cur   uint32 // the published record, or 0
	spare uint32
	// What cur holds, remembered so that replacing it reads nothing back
	// from the mapping: where its value starts, its type and length.
	at      uint32
	typ     Type
	typeLen uint32
}

// Put writes the value of key (sub-key sub for KindNested) with sequence
// number seq. It returns false when the value does not fit in a record or
// the journal is full: the value is then kept in memory only.
func (j *Journal) Put(v *Value, k Kind, key, sub string, t Type, val []byte, seq uint64) bool {
	if j == nil {
		return false
	}
	if v.cur != 0 && v.typ == t && int(v.typeLen) == len(val) {
		if len(val) == 8 && (t == TypeInt || t == TypeFloat) {
			j.replaceNumber(v.cur+v.at, val, seq, v.cur)
			return true
		}
		if bytes.Equal(j.mem[v.cur+v.at:v.cur+v.at+v.typeLen], val) {
			j.renumber(v.cur, seq) // the same value: only its number changes
			return true
		}
	}
	need := valueAt(len(key), len(sub)) + len(val)
	if v.spare == 0 || need > int(binary.LittleEndian.Uint32(j.mem[v.spare+rSize:])) {
		if v.spare != 0 {
			j.release(v.spare)
			v.spare = 0
		}
		off, ok := j.alloc(need)
		if !ok {
			return false
		}
		v.spare = off
	}
	j.write(v.spare, k, key, TypeString, []byte(sub), t, val, seq)
	v.cur, v.spare = v.spare, v.cur
	v.at, v.typ, v.typeLen = uint32(valueAt(len(key), len(sub))), t, uint32(len(val))
	if v.spare != 0 {
		j.setState(v.spare, stateFree) // superseded: the next Put reuses it
	}
	return true
}

// PutNumber is Put for an 8-byte number of type t (TypeInt or TypeFloat)
// given as its bits: a number replacing a number of the same type is
// written in place, with no slice to build or compare.
func (j *Journal) PutNumber(v *Value, k Kind, key, sub string, t Type, bits, seq uint64) bool {
	if j != nil && v.cur != 0 && v.typ == t && v.typeLen == 8 {
		binary.LittleEndian.PutUint64(j.mem[v.cur+v.at:], bits)
		j.renumber(v.cur, seq)
		return true
	}
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], bits)
	return j.Put(v, k, key, sub, t, buf[:], seq)
}

// Drop forgets a value that will not be sent: its key now holds another
// kind, or was disabled.
func (j *Journal) Drop(v *Value) {
	if j == nil {
		return
	}
	for _, off := range []uint32{v.cur, v.spare} {
		if off != 0 {
			j.release(off)
		}
	}
	*v = Value{}
}

// Retire frees a value's records once the update that took it is
// committed: the reader no longer holds it, but a death before the commit
// must still find it.
func (j *Journal) Retire(v *Value, seq uint64) {
	if j == nil {
		return
	}
	if v.spare != 0 {
		j.release(v.spare)
	}
	if v.cur != 0 {
		j.mu.Lock()
		j.later = append(j.later, laterFree{off: v.cur, seq: seq})
		j.mu.Unlock()
	}
	*v = Value{}
}

// Element writes one Append element; its record is given back by Retire.
func (j *Journal) Element(key string, t Type, val []byte, seq uint64) (Value, bool) {
	var v Value
	return v, j.Put(&v, KindElement, key, "", t, val, seq)
}

// Begin starts handing over the collection of generation gen.
func (j *Journal) Begin(gen uint64) {
	if j != nil {
		j.u64(offPendingGen).Store(gen)
	}
}

// MarkValues notes that the collection of generation gen took every value
// numbered up to seq.
func (j *Journal) MarkValues(gen, seq uint64) {
	if j == nil {
		return
	}
	if j.u64(offSeqGen).Load() <= j.u64(offCommittedGen).Load() {
		j.u64(offSentSeq).Store(j.u64(offPendingSeq).Load())
	}
	j.u64(offSeqGen).Store(gen)
	j.u64(offPendingSeq).Store(seq)
}

// Commit records that generation gen is on disk in a spool file or
// delivered, and frees the value records that it took.
func (j *Journal) Commit(gen uint64) {
	if j == nil || gen <= j.u64(offCommittedGen).Load() {
		return
	}
	j.u64(offCommittedGen).Store(gen)
	sent := j.u64(offSentSeq).Load()
	if j.u64(offSeqGen).Load() <= gen {
		sent = j.u64(offPendingSeq).Load()
	}
	j.mu.Lock()
	keep := j.later[:0]
	var done []uint32
	for _, l := range j.later {
		if l.seq <= sent {
			done = append(done, l.off)
		} else {
			keep = append(keep, l)
		}
	}
	j.later = keep
	j.mu.Unlock()
	for _, off := range done {
		j.release(off)
	}
}

// Settled reports whether every generation begun is committed: the file
// then holds nothing that a spool file or the server does not.
func (j *Journal) Settled() bool {
	return j == nil || j.u64(offPendingGen).Load() <= j.u64(offCommittedGen).Load()
}

// Empty reports whether the journal holds nothing that a later process
// would send: every generation begun is committed and no figure was
// recorded after the last one. A process that stopped cleanly then removes
// its journal instead of leaving it to be claimed.
func (j *Journal) Empty() bool {
	if j == nil || !j.Settled() {
		return j == nil
	}
	figs, err := Recover(j.mem[:j.u64(offTop).Load()], 0)
	return err == nil && len(figs) == 0
}
