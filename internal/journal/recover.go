package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/telemetrybridge/telemetry/payload"
)

// Figure is one thing an orphaned journal holds that no spool file or
// server has: an unsent count, or a value published after the last
// committed mark.
type Figure struct {
	Kind Kind
	Key  string
	// Sub is a counting set member's value (as JSON text) or a SetNested
	// sub-key (as the string itself).
	Sub string
	// Value is a value's JSON text; empty for counts.
	Value string
	// Seq orders values: the higher one is the later call.
	Seq uint64
	// Count is a count's unsent amount.
	Count int64
}

// HeaderSize is how many bytes ReadHeader reads.
const HeaderSize = headerSize

// Header is what the file says of itself, for the caller's checks.
type Header struct {
	Instance   string
	PendingGen uint64
	// Used is how many bytes from the start of the file hold the header
	// and the records: what Recover needs to read.
	Used uint64
}

// ReadHeader reads a journal image's header.
func ReadHeader(data []byte) (Header, error) {
	if len(data) < headerSize || !bytes.Equal(data[offMagic:offMagic+8], magic[:]) {
		return Header{}, errors.New("not a telemetry journal (no header)")
	}
	if v := binary.LittleEndian.Uint64(data[offVersion:]); v != version {
		return Header{}, fmt.Errorf("a telemetry journal of version %d; this version reads %d", v, version)
	}
	return Header{
		Instance:   string(bytes.TrimRight(data[offInstance:offInstance+16], "\x00")),
		PendingGen: binary.LittleEndian.Uint64(data[offPendingGen:]),
		Used:       binary.LittleEndian.Uint64(data[offTop:]),
	}, nil
}

// Recover reads a journal image left by a process that is gone and
// returns what it holds that was not handed over. stamped is the highest
// generation stamped in that process's spool files: a generation whose
// update reached a file before the process could commit it counts as
// committed. Recover reads the image defensively: it may be truncated,
// damaged or planted, and then yields an error, never a panic.
func Recover(data []byte, stamped uint64) ([]Figure, error) {
	if _, err := ReadHeader(data); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	committed := max(le.Uint64(data[offCommittedGen:]), stamped)
	sentSeq := le.Uint64(data[offSentSeq:])
	if le.Uint64(data[offSeqGen:]) <= committed {
		sentSeq = le.Uint64(data[offPendingSeq:])
	}
	top := le.Uint64(data[offTop:])
	if top > uint64(len(data)) || top < headerSize {
		return nil, fmt.Errorf("damaged telemetry journal: records end at %d of %d bytes", top, len(data))
	}
	var out []Figure
	for off := uint64(headerSize); off < top; {
		size := uint64(le.Uint32(data[off+rSize:]))
		if !validSize(size) || off+size > top {
			return nil, fmt.Errorf("damaged telemetry journal: a record of %d bytes at %d", size, off)
		}
		r := data[off : off+size]
		off += size
		if le.Uint32(r[rState:]) != stateLive {
			continue
		}
		f, keep, err := readRecord(r, committed, sentSeq)
		if err != nil {
			return nil, fmt.Errorf("damaged telemetry journal: record at %d: %w", off-size, err)
		}
		if keep {
			out = append(out, f)
		}
	}
	return out, nil
}

func validSize(size uint64) bool {
	for _, s := range sizeClasses {
		if uint64(s) == size {
			return true
		}
	}
	return false
}

// readRecord reads one live record and says whether it holds anything
// unsent.
func readRecord(r []byte, committed, sentSeq uint64) (Figure, bool, error) {
	le := binary.LittleEndian
	keyLen, subLen, valLen := uint64(le.Uint32(r[rKeyLen:])), uint64(le.Uint32(r[rSubLen:])), uint64(le.Uint32(r[rValLen:]))
	if keyLen+subLen+valLen > uint64(len(r)) { // each is below 2^32: no overflow
		return Figure{}, false, errors.New("its lengths pass its end")
	}
	at := uint64(valueAt(int(keyLen), int(subLen)))
	if at+valLen > uint64(len(r)) {
		return Figure{}, false, errors.New("its lengths pass its end")
	}
	f := Figure{Kind: Kind(r[rKind]), Key: string(r[recordHeader : recordHeader+keyLen]), Seq: le.Uint64(r[rSeq:])}
	sub, val := r[recordHeader+keyLen:recordHeader+keyLen+subLen], r[at:at+valLen]
	switch f.Kind {
	case KindCounter, KindMember:
		sent := le.Uint64(r[rCount+16:])
		if f.Seq <= committed {
			sent = le.Uint64(r[rCount+24:])
		}
		f.Count = int64(le.Uint64(r[rCount:]) - sent)
		if f.Kind == KindMember {
			text, err := ValueJSON(Type(r[rSubType]), sub)
			if err != nil {
				return Figure{}, false, err
			}
			f.Sub = text
		}
		f.Seq = 0
		return f, f.Count != 0, nil
	case KindValue, KindNested, KindElement:
		if f.Seq <= sentSeq {
			return Figure{}, false, nil
		}
		text, err := ValueJSON(Type(r[rValType]), val)
		if err != nil {
			return Figure{}, false, err
		}
		f.Sub, f.Value = string(sub), text
		return f, true, nil
	}
	return Figure{}, false, fmt.Errorf("unknown kind %d", f.Kind)
}

// ValueJSON writes a journal value as the JSON text an update carries.
func ValueJSON(t Type, b []byte) (string, error) {
	switch t {
	case TypeInt:
		if len(b) == 8 {
			return strconv.FormatInt(int64(binary.LittleEndian.Uint64(b)), 10), nil
		}
	case TypeFloat:
		if len(b) == 8 {
			f := math.Float64frombits(binary.LittleEndian.Uint64(b))
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return "", errors.New("a number JSON cannot carry")
			}
			var w payload.Writer
			if err := w.Float(f); err != nil {
				return "", err
			}
			return string(w.Bytes()), nil
		}
	case TypeString:
		var w payload.Writer
		w.String(string(b))
		return string(w.Bytes()), nil
	case TypeBool:
		if len(b) == 1 && b[0] <= 1 {
			return strconv.FormatBool(b[0] == 1), nil
		}
	case TypeJSON:
		if _, err := payload.ParseValue(b, payload.ParseOptions{}); err != nil {
			return "", fmt.Errorf("a value that is not JSON: %w", err)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("a value of type %d and %d bytes", t, len(b))
}
