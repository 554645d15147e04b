package compat

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"testing"
)

// The benchmarks in this file record as a web server that embedded the
// documented package did: every hash is a new string, so the caller boxes
// it on each call, and nested values change from call to call.

// userAgents are 1,000 distinct User-Agent headers of realistic length.
func userAgents() [][]byte {
	uas := make([][]byte, 1000)
	for i := range uas {
		uas[i] = []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" +
			strconv.Itoa(100+i%40) + ".0." + strconv.Itoa(i) + ".0 Safari/537.36")
	}
	return uas
}

// BenchmarkSetNestedChanging cycles over 1,000 sub-keys, and the value
// changes on every call (a number the caller boxes).
func BenchmarkSetNestedChanging(b *testing.B) {
	subs := make([]string, 1000)
	for i := range subs {
		subs[i] = FastHash([]byte("agent-" + strconv.Itoa(i)))
	}
	sides(b, func(b *testing.B, r recorder) {
		for i, sub := range subs { // every sub-key already set
			r.SetNested("http_user_agent", sub, i)
		}
		settle(b)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				r.SetNested("http_user_agent", subs[i%len(subs)], 1000+i)
				i++
			}
		})
	})
}

// BenchmarkAppendUniqueFresh records 1,000 distinct values, each a string
// made anew on every call (the text FastHash gives, formatted from the
// hash), as a request handler makes it; every value has been seen before.
// The hashing of the header itself is left to BenchmarkRequest: FNV-1a of
// a 100-byte header costs more than either side's recording.
func BenchmarkAppendUniqueFresh(b *testing.B) {
	uas := userAgents()
	hashes := make([]uint64, len(uas))
	for i, ua := range uas {
		hashes[i], _ = strconv.ParseUint(FastHash(ua), 16, 32)
	}
	sides(b, func(b *testing.B, r recorder) {
		for _, h := range hashes {
			r.AppendUnique("http_user_agent_count", strconv.FormatUint(h, 16))
		}
		settle(b)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				r.AppendUnique("http_user_agent_count", strconv.FormatUint(hashes[i%len(hashes)], 16))
				i++
			}
		})
	})
}

// BenchmarkRequest is one request's worth of the calls such a server made.
// Both sides hash the header with this package's FastHash, so that the
// figures compare recording alone (BenchmarkFastHash compares the hashes).
func BenchmarkRequest(b *testing.B) {
	uas := userAgents()
	sides(b, func(b *testing.B, r recorder) {
		for _, ua := range uas {
			h := FastHash(ua)
			r.SetNested("http_user_agent", h, string(ua))
			r.AppendUnique("http_user_agent_count", h)
			r.Increment("http_request_count")
		}
		settle(b)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				ua := uas[i%len(uas)]
				h := FastHash(ua)
				r.SetNested("http_user_agent", h, string(ua))
				r.AppendUnique("http_user_agent_count", h)
				r.Increment("http_request_count")
				i++
			}
		})
	})
}

// clientHello is shaped like the TLS ClientHello summary such a server
// recorded on every handshake.
type clientHello struct {
	Version            uint16
	CipherSuites       []uint16
	Extensions         []uint16
	CompressionMethods []uint8
	Curves             []uint16
	Points             []uint8
}

func BenchmarkSetNestedClientHello(b *testing.B) {
	hellos := make([]clientHello, 100)
	for i := range hellos {
		h := clientHello{Version: 0x0303, CompressionMethods: []uint8{0}, Points: []uint8{0}}
		for j := range 10 + i%20 {
			h.CipherSuites = append(h.CipherSuites, uint16(0x1301+j))
			h.Extensions = append(h.Extensions, uint16(j*3+i%5))
			h.Curves = append(h.Curves, uint16(29+j%3))
		}
		hellos[i] = h
	}
	sides(b, func(b *testing.B, r recorder) {
		settle(b)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				h := hellos[i%len(hellos)]
				r.SetNested("tls_client_hello", strconv.Itoa(i%len(hellos)), h)
				i++
			}
		})
	})
}

// BenchmarkFastHash hashes a 101-byte User-Agent header: this package's
// FastHash, hash/fnv with strconv (what a careful caller would write), and
// the original's hash/fnv with fmt.Sprintf. FNV-1a is one multiply per
// byte, each waiting for the one before, so the loop cannot go faster than
// that chain; what is left to save is around it.
func BenchmarkFastHash(b *testing.B) {
	uas := userAgents()
	b.Run("impl=compat", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_ = FastHash(uas[i%len(uas)])
		}
	})
	b.Run("impl=fnv-strconv", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			h := fnv.New32a()
			_, _ = h.Write(uas[i%len(uas)])
			_ = strconv.FormatUint(uint64(h.Sum32()), 16)
		}
	})
	b.Run("impl=original", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			h := fnv.New32a()
			_, _ = h.Write(uas[i%len(uas)])
			_ = fmt.Sprintf("%x", h.Sum32())
		}
	})
}

// BenchmarkGoStatement compares recording with starting a goroutine to
// record, as the documented package's users did (`go
// telemetry.Increment(...)`) so that a call could never hold up a request.
// Recording here never blocks, so the goroutine buys nothing and costs its
// start.
func BenchmarkGoStatement(b *testing.B) {
	initForBench(b)
	Increment("http_requests")
	b.Run("call=direct", func(b *testing.B) {
		settle(b)
		for b.Loop() {
			Increment("http_requests")
		}
	})
	b.Run("call=go-statement", func(b *testing.B) {
		var wg sync.WaitGroup
		settle(b)
		for b.Loop() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				Increment("http_requests")
			}()
		}
		wg.Wait()
	})
}
