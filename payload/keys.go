package payload

import (
	"strings"
)

// Telemetry keys are arbitrary strings, but OpenTelemetry instrument names
// must match [A-Za-z][A-Za-z0-9_./-]{0,254}. KeyToInstrumentName and
// InstrumentNameToKey translate between the two with a reversible escape:
//
//   - letters, digits, '_', '.' and '-' stand for themselves;
//   - every other byte, '/' included, becomes '/' and two upper-case hex
//     digits: "tls_client_hello_ua:3fa2" is named "tls_client_hello_ua/3A3fa2";
//   - a key that is empty or would not start with a letter gets the prefix
//     "k/_", which no escaped key can produce otherwise: "1st" is "k/_1st".
//
// Native instrument names have no escapes, so they come back unchanged.
const keyPrefix = "k/_"

const hexDigits = "0123456789ABCDEF"

// KeyToInstrumentName returns the instrument name that stands for key.
// The result may be longer than the 255 bytes an instrument name allows;
// callers must check that before creating an instrument with it.
func KeyToInstrumentName(key string) string {
	if key != "" && isLetter(key[0]) && !needsEscape(key) {
		return key
	}
	var b strings.Builder
	b.Grow(len(key) + len(keyPrefix) + 8)
	if key == "" || !isLetter(key[0]) {
		b.WriteString(keyPrefix)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if isPlain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('/')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

// InstrumentNameToKey reverses KeyToInstrumentName. A '/' that does not
// start a valid escape is kept as it is.
func InstrumentNameToKey(name string) string {
	rest, prefixed := strings.CutPrefix(name, keyPrefix)
	if !prefixed && strings.IndexByte(name, '/') < 0 {
		return name
	}
	var b strings.Builder
	b.Grow(len(rest))
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c == '/' && i+2 < len(rest) && isUpperHex(rest[i+1]) && isUpperHex(rest[i+2]) {
			b.WriteByte(unhex(rest[i+1])<<4 | unhex(rest[i+2]))
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func needsEscape(key string) bool {
	for i := 0; i < len(key); i++ {
		if !isPlain(key[i]) {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isPlain(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

// SplitFamily splits key at its first colon into the family and the
// suffix ("tls_client_hello_ua:3fa2" is family "tls_client_hello_ua",
// suffix "3fa2"). ok is false for a key without a colon. Families are how
// a disabled entry covers many keys and how one instrument carries them.
func SplitFamily(key string) (family, suffix string, ok bool) {
	return strings.Cut(key, ":")
}

// FamilyKey joins a family and a suffix into the key they stand for.
func FamilyKey(family, suffix string) string { return family + ":" + suffix }
