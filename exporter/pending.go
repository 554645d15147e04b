package exporter

import "sync"

// pendingUpdates are updates that may have reached the server but were
// not delivered (a timeout once the request was written, a 5xx, an answer
// that could not be read). Merging their figures into a later update
// would count them twice at a server that took them, so each is sent again
// as it is, with its key and its spool file, until it is delivered or
// refused; a server that honours the key counts it once. Meanwhile newer
// collections are carried, never sent, so few updates are ever pending:
// the one in flight, or those one claim of a process now gone took.
type pendingUpdates struct {
	mu      sync.Mutex
	updates []*update // the oldest first
}

func (p *pendingUpdates) empty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.updates) == 0
}

// take removes and returns the oldest pending update, or nil.
func (p *pendingUpdates) take() *update {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.updates) == 0 {
		return nil
	}
	u := p.updates[0]
	p.updates = p.updates[1:]
	return u
}

// putBack makes u the oldest pending update again: it was not delivered.
func (p *pendingUpdates) putBack(u *update) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.updates = append([]*update{u}, p.updates...)
}

// add queues u, claimed from the spool, behind the others.
func (p *pendingUpdates) add(u *update) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.updates = append(p.updates, u)
}

// clear forgets every pending update: the server wants nothing more.
func (p *pendingUpdates) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.updates = nil
}
