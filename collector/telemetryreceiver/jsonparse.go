package telemetryreceiver

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// parseJSON reads one JSON value into the forms that encoding/json gives
// an `any` with UseNumber: map[string]any, []any, string, json.Number,
// bool and nil, with the same treatment of invalid UTF-8 and lone
// surrogates (U+FFFD) and the same nesting limit.
//
// It exists because encoding/json scans its input twice through a
// byte-at-a-time state machine and builds maps through reflection, which
// took half of the receiver's time per update; this parser reads the input
// once. FuzzParseJSON holds it to encoding/json's results.
func parseJSON(data []byte) (any, error) {
	return parseJSONLimited(data, -1)
}

// errTooManyValues reports input over the limit of parseJSONLimited.
var errTooManyValues = errors.New("too many JSON values")

// parseJSONLimited is parseJSON that gives up with errTooManyValues past
// maxValues values (members, elements and scalars alike; -1: no limit),
// which bounds the memory a small body of tiny values can take.
func parseJSONLimited(data []byte, maxValues int) (any, error) {
	p := parser{data: data, left: maxValues}
	p.skipSpace()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.errorf("unexpected %q after the top-level value", p.data[p.pos])
	}
	return v, nil
}

// maxDepth is encoding/json's limit of nested objects and arrays.
const maxDepth = 10000

var errEnd = errors.New("unexpected end of JSON input")

type parser struct {
	data  []byte
	pos   int
	depth int
	left  int // values still allowed; negative: no limit
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: "+format, append([]any{p.pos}, args...)...)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (any, error) {
	if p.pos >= len(p.data) {
		return nil, errEnd
	}
	if p.left == 0 {
		return nil, errTooManyValues
	}
	p.left--
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.string()
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	default:
		return nil, p.errorf("invalid character %q looking for a value", c)
	}
}

func (p *parser) literal(word string, v any) (any, error) {
	if len(p.data)-p.pos < len(word) {
		if string(p.data[p.pos:]) == word[:len(p.data)-p.pos] {
			return nil, errEnd
		}
	} else if string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return v, nil
	}
	return nil, p.errorf("invalid literal, expected %s", word)
}

// expect consumes c after optional space.
func (p *parser) expect(c byte, what string) error {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return errEnd
	}
	if p.data[p.pos] != c {
		return p.errorf("invalid character %q %s", p.data[p.pos], what)
	}
	p.pos++
	return nil
}

func (p *parser) enter() error {
	p.pos++ // the opening bracket
	if p.depth++; p.depth > maxDepth {
		return p.errorf("exceeded max depth")
	}
	p.skipSpace()
	if p.pos >= len(p.data) {
		return errEnd
	}
	return nil
}

func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	m := make(map[string]any)
	if p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return m, nil
	}
	for {
		if p.data[p.pos] != '"' {
			return nil, p.errorf("invalid character %q looking for the beginning of an object key", p.data[p.pos])
		}
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		if err := p.expect(':', "after an object key"); err != nil {
			return nil, err
		}
		p.skipSpace()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[key] = v
		if done, err := p.next('}', "after an object member"); err != nil || done {
			return m, err
		}
	}
}

func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	a := make([]any, 0, 4)
	if p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if done, err := p.next(']', "after an array element"); err != nil || done {
			return a, err
		}
	}
}

// next consumes the comma before another member or element (and the space
// after it), or the closing bracket, reporting whether it was the latter.
func (p *parser) next(closing byte, what string) (done bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, errEnd
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.data) {
			return false, errEnd
		}
		return false, nil
	case closing:
		p.pos++
		p.depth--
		return true, nil
	}
	return false, p.errorf("invalid character %q %s", p.data[p.pos], what)
}

func (p *parser) number() (any, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos >= len(p.data):
		return nil, errEnd
	case p.data[p.pos] == '0':
		p.pos++
	case '1' <= p.data[p.pos] && p.data[p.pos] <= '9':
		p.digits()
	default:
		return nil, p.errorf("invalid character %q in numeric literal", p.data[p.pos])
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if err := p.someDigits(); err != nil {
			return nil, err
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if err := p.someDigits(); err != nil {
			return nil, err
		}
	}
	return json.Number(p.data[start:p.pos]), nil
}

func (p *parser) digits() {
	for p.pos < len(p.data) && '0' <= p.data[p.pos] && p.data[p.pos] <= '9' {
		p.pos++
	}
}

func (p *parser) someDigits() error {
	start := p.pos
	p.digits()
	if p.pos == start {
		if p.pos >= len(p.data) {
			return errEnd
		}
		return p.errorf("invalid character %q in numeric literal", p.data[p.pos])
	}
	return nil
}

// string reads a quoted string. The common case, no escapes and valid
// UTF-8, is one scan and one copy.
func (p *parser) string() (string, error) {
	p.pos++ // the opening quote
	start := p.pos
	ascii := true
	for p.pos < len(p.data) {
		switch c := p.data[p.pos]; {
		case c == '"':
			s := p.data[start:p.pos]
			p.pos++
			if ascii || utf8.Valid(s) {
				return string(s), nil
			}
			return string(appendValid(nil, s)), nil
		case c == '\\':
			return p.escapedString(start)
		case c < 0x20:
			return "", p.errorf("invalid character %q in string literal", c)
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.pos++
	}
	return "", errEnd
}

// escapedString finishes a string that has escapes, from start.
func (p *parser) escapedString(start int) (string, error) {
	buf := appendValid(make([]byte, 0, p.pos-start+16), p.data[start:p.pos])
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("invalid character %q in string literal", c)
		case c != '\\':
			runStart := p.pos
			for p.pos < len(p.data) && p.data[p.pos] != '"' && p.data[p.pos] != '\\' && p.data[p.pos] >= 0x20 {
				p.pos++
			}
			buf = appendValid(buf, p.data[runStart:p.pos])
			continue
		}
		if p.pos+1 >= len(p.data) {
			return "", errEnd
		}
		esc := p.data[p.pos+1]
		p.pos += 2
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				r = p.lowSurrogate(r)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			p.pos--
			return "", p.errorf("invalid character %q in string escape code", esc)
		}
	}
	return "", errEnd
}

// hex4 reads the four hex digits of a \u escape.
func (p *parser) hex4() (rune, error) {
	if len(p.data)-p.pos < 4 {
		return 0, errEnd
	}
	var r rune
	for i, c := range p.data[p.pos : p.pos+4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			p.pos += i
			return 0, p.errorf("invalid character %q in \\u hexadecimal character escape", c)
		}
		r = r<<4 | rune(d)
	}
	p.pos += 4
	return r, nil
}

// lowSurrogate completes the surrogate pair that high begins, when a \u
// escape of a low surrogate follows; otherwise high stands alone and
// becomes U+FFFD, and what follows is read on its own.
func (p *parser) lowSurrogate(high rune) rune {
	if len(p.data)-p.pos >= 6 && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
		save := p.pos
		p.pos += 2
		if low, err := p.hex4(); err == nil {
			if r := utf16.DecodeRune(high, low); r != utf8.RuneError {
				return r
			}
		}
		p.pos = save
	}
	return utf8.RuneError
}

// appendValid appends s with each byte that is not part of valid UTF-8
// replaced by U+FFFD, as encoding/json does.
func appendValid(dst, s []byte) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}
