package fleetprocessor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The values the processor keeps in its storage each start with a tag
// (what it is, and the format's version) and a CRC-32C of the rest, so
// that a value damaged on disk, or written by something else, is told
// apart from a good one before it is decoded.
const (
	tagRecord   = "FR1"
	tagSnapshot = "FS1"
	tagLogStart = "FP1"
	headerLen   = 3 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// seal puts tag and the body's checksum in front of body, which starts
// headerLen bytes into b.
func seal(b []byte, tag string) []byte {
	copy(b, tag)
	binary.LittleEndian.PutUint32(b[3:], crc32.Checksum(b[headerLen:], castagnoli))
	return b
}

// open checks tag and checksum and returns the body.
func open(b []byte, tag string) ([]byte, error) {
	if len(b) < headerLen || string(b[:3]) != tag {
		return nil, fmt.Errorf("not a %s value (%d bytes)", tag, len(b))
	}
	if crc32.Checksum(b[headerLen:], castagnoli) != binary.LittleEndian.Uint32(b[3:]) {
		return nil, errors.New("checksum mismatch")
	}
	return b[headerLen:], nil
}

// record is one entry of the log: an update the processor applied (its
// key, the time it was applied at, its data as pmetric protobuf), or an
// export, whose sweep changes the state too and is replayed in its place.
type record struct {
	generation, seq uint64
	export          bool
	at              int64
	key             string
	data            []byte
}

// encode writes the record: generation, seq, kind, at, key length, key,
// data. The generation and seq say which log and which place the record
// belongs to, so that a stale record is never replayed as a current one.
func (r record) encode() []byte {
	b := make([]byte, headerLen, headerLen+8+8+1+8+binary.MaxVarintLen64+len(r.key)+len(r.data))
	b = binary.LittleEndian.AppendUint64(b, r.generation)
	b = binary.LittleEndian.AppendUint64(b, r.seq)
	kind := byte(0)
	if r.export {
		kind = 1
	}
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.at))
	b = binary.AppendUvarint(b, uint64(len(r.key)))
	b = append(b, r.key...)
	b = append(b, r.data...)
	return seal(b, tagRecord)
}

func decodeRecord(b []byte) (record, error) {
	body, err := open(b, tagRecord)
	if err != nil {
		return record{}, err
	}
	const fixed = 8 + 8 + 1 + 8
	if len(body) < fixed {
		return record{}, errors.New("record too short")
	}
	r := record{
		generation: binary.LittleEndian.Uint64(body),
		seq:        binary.LittleEndian.Uint64(body[8:]),
		export:     body[16] == 1,
		at:         int64(binary.LittleEndian.Uint64(body[17:])),
	}
	n, used := binary.Uvarint(body[fixed:])
	rest := body[fixed+max(used, 0):]
	if used <= 0 || n > uint64(len(rest)) {
		return record{}, errors.New("record's key overruns it")
	}
	r.key, r.data = string(rest[:n]), rest[n:]
	return r, nil
}

// logStart is where the log begins: kept beside the snapshot, so that the
// records can be replayed even when the snapshot cannot be read.
func encodeLogStart(generation, pos uint64) []byte {
	b := make([]byte, headerLen, headerLen+16)
	b = binary.LittleEndian.AppendUint64(b, generation)
	b = binary.LittleEndian.AppendUint64(b, pos)
	return seal(b, tagLogStart)
}

func decodeLogStart(b []byte) (generation, pos uint64, err error) {
	body, err := open(b, tagLogStart)
	if err != nil {
		return 0, 0, err
	}
	if len(body) != 16 {
		return 0, 0, fmt.Errorf("log start of %d bytes", len(body))
	}
	return binary.LittleEndian.Uint64(body), binary.LittleEndian.Uint64(body[8:]), nil
}
