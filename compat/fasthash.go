package compat

import "strconv"

// FastHash returns the 32-bit FNV-1a hash of input in lower-case hex,
// without leading zeros. It is for telling values apart cheaply, not for
// security.
func FastHash(input []byte) string {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for _, c := range input {
		h ^= uint32(c)
		h *= prime32
	}
	return strconv.FormatUint(uint64(h), 16)
}
