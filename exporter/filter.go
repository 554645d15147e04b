package exporter

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// maxServerKeys bounds how many keys a server may disable, so that a broken
// or hostile server cannot make the client hold an unbounded list.
const maxServerKeys = 10000

// keyFilter decides which keys may be kept and sent. Keys disabled at start
// are disabled for good; keys the server disables stay disabled until it
// enables them again. Readers see an immutable snapshot through an atomic
// pointer, so checking a key on a hot path takes no lock.
type keyFilter struct {
	permanent map[string]struct{}
	mu        sync.Mutex // serialises writers of server
	server    atomic.Pointer[map[string]struct{}]
	// version changes whenever the server's list does, so that recorders
	// can cache a key's verdict and recheck only then.
	version atomic.Uint64
}

func newKeyFilter(startup []string) *keyFilter {
	f := &keyFilter{permanent: make(map[string]struct{})}
	for _, entry := range startup {
		// An entry may itself be a comma-separated list, as configuration
		// often gives it ("os,, arch "): each part is trimmed, empty ones
		// are skipped.
		for k := range strings.SplitSeq(entry, ",") {
			if k = strings.TrimSpace(k); k != "" {
				f.permanent[k] = struct{}{}
			}
		}
	}
	f.server.Store(&map[string]struct{}{})
	return f
}

// disabled reports whether key, or its part before the first colon, is
// disabled.
func (f *keyFilter) disabled(key string) bool {
	server := *f.server.Load()
	if len(f.permanent) == 0 && len(server) == 0 {
		return false
	}
	if matches(f.permanent, key) || matches(server, key) {
		return true
	}
	return false
}

func matches(set map[string]struct{}, key string) bool {
	if len(set) == 0 {
		return false
	}
	if _, ok := set[key]; ok {
		return true
	}
	if i := strings.IndexByte(key, ':'); i >= 0 {
		_, ok := set[key[:i]]
		return ok
	}
	return false
}

// applyServer applies a response's directives. Enabling comes first so that
// a key in both lists ends up disabled. It reports whether the server list
// was cut at maxServerKeys.
func (f *keyFilter) applyServer(disable, enable []string) (truncated bool) {
	if len(disable) == 0 && len(enable) == 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := *f.server.Load()
	next := make(map[string]struct{}, len(old)+len(disable))
	for k := range old {
		next[k] = struct{}{}
	}
	for _, k := range enable {
		delete(next, k)
	}
	for _, k := range disable {
		if k == "" {
			continue
		}
		if len(next) >= maxServerKeys {
			truncated = true
			break
		}
		next[k] = struct{}{}
	}
	f.server.Store(&next)
	f.version.Add(1)
	return truncated
}

// serverKeys returns the keys the server has disabled, sorted.
func (f *keyFilter) serverKeys() []string {
	server := *f.server.Load()
	keys := make([]string, 0, len(server))
	for k := range server {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
