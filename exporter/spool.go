package exporter

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"
	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

// DefaultSpoolLimit bounds each spool file when WithSpoolLimit is not
// given. An update at the item limit of counting-set hashes takes about
// 4 MiB; 16 MiB leaves room for longer values.
const DefaultSpoolLimit = 16 << 20

// A spool directory holds, per exporter (a process, in practice), these
// files; <token> is random per exporter:
//
//	owner-<token>.lock        locked while the exporter lives
//	carried-<token>.json      figures of failed updates, to go with the next
//	update-<token>-<n>.json   an update being sent, removed once it is not
//	directives.json           keys the server disabled, and its stop
//
// Figures are never in two of these files at once but for the instant
// between writing one and removing the other, so a process that exits at
// any moment leaves each figure on disk once (or, if it exits in that
// instant, twice: the price of never leaving it nowhere).
//
// An exporter claims the figure files of owners that are gone: their lock
// is free. The lock decides; two exporters sharing the directory never
// both claim the same files, and never touch a live owner's.
type spool struct {
	dir      string
	instance string // InstanceHash of the exporter's ID
	limit    int
	token    string
	owner    *flock.Flock
	updates  atomic.Uint64
	report   func(error)

	mu sync.Mutex // one claim or clear at a time
	// closed is set by the exporter's Shutdown. An update abandoned by a
	// Shutdown that ran out of time may end later: it then leaves the
	// files as they are, so that its figures stay on disk for the next
	// process (sent twice, should it be delivered after all, rather than
	// lost), and nothing is written after Shutdown returned.
	closed atomic.Bool
}

const (
	ownerPrefix    = "owner-"
	carriedPrefix  = "carried-"
	updatePrefix   = "update-"
	directivesFile = "directives.json"
	setAsideSuffix = ".unreadable"
)

// InstanceHash names an instance in file and directory names without
// revealing its ID, which the server takes as a credential: the first 16
// hex digits of the ID's SHA-256.
func InstanceHash(id uuid.UUID) string {
	sum := sha256.Sum256(id[:])
	return hex.EncodeToString(sum[:8])
}

// openSpool makes the directory (0700) and takes this exporter's lock.
func openSpool(dir string, id uuid.UUID, limit int, report func(error)) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("telemetry spool: %w", err)
	}
	var t [8]byte
	_, _ = rand.Read(t[:])
	s := &spool{dir: dir, instance: InstanceHash(id), limit: limit, token: hex.EncodeToString(t[:]), report: report}
	s.owner = flock.New(s.path(ownerPrefix + s.token + ".lock"))
	locked, err := s.owner.TryLock()
	if err != nil || !locked {
		return nil, fmt.Errorf("telemetry spool: cannot lock %s: %v", s.owner.Path(), err)
	}
	return s, nil
}

func (s *spool) path(name string) string { return filepath.Join(s.dir, name) }

// saveCarried writes the figures carried to the next update, or removes
// the file when there are none.
func (s *spool) saveCarried(entries []entry) {
	s.save(carriedPrefix+s.token+".json", entries)
}

// beginUpdate writes an update's figures before it is sent and returns
// the file's name, for endUpdate.
func (s *spool) beginUpdate(entries []entry) string {
	if s == nil {
		return ""
	}
	name := fmt.Sprintf("%s%s-%d.json", updatePrefix, s.token, s.updates.Add(1))
	s.save(name, entries)
	return name
}

// endUpdate removes an update's file: it was delivered, or its figures are
// now carried (and saved as such), or the server wants nothing more.
func (s *spool) endUpdate(name string) {
	if s != nil && name != "" {
		s.remove(name)
	}
}

func (s *spool) save(name string, entries []entry) {
	if s.closed.Load() {
		return
	}
	if len(entries) == 0 {
		s.remove(name)
		return
	}
	var w payload.Writer
	dropped := writeSpool(&w, s.instance, entries, s.limit)
	if dropped > 0 {
		s.report(fmt.Errorf("telemetry spool: %d items did not fit in %d bytes and are counted as %s instead", dropped, s.limit, payload.KeyDropped))
	}
	if err := writeAtomically(s.dir, name, w.Bytes()); err != nil {
		s.report(fmt.Errorf("telemetry spool: the figures stay in memory only: %w", err))
	}
}

func (s *spool) remove(name string) {
	if s.closed.Load() {
		return
	}
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.report(fmt.Errorf("telemetry spool: %w", err))
	}
}

// writeAtomically replaces dir/name with data: written to a temporary file,
// synced, renamed over the old one. A reader sees the old file or the new,
// never a part.
func writeAtomically(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable; where directories cannot be synced
// (Windows), the rename still is atomic.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// claimOrphans returns the figures left by exporters that are gone, file
// by file, and a function that deletes their files: call it once the
// figures are saved as this exporter's own. Files that cannot be read, or
// belong to another instance, are renamed aside and reported.
func (s *spool) claimOrphans() (files [][]entry, release func()) {
	if s == nil {
		return nil, func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, func() {}
	}
	var locks []*flock.Flock
	var done []string
	for token, names := range s.orphans() {
		lock := flock.New(s.path(ownerPrefix + token + ".lock"))
		if ok, err := lock.TryLock(); err != nil || !ok {
			continue // its owner lives
		}
		locks = append(locks, lock)
		for _, name := range names {
			if got, ok := s.read(name); ok {
				files = append(files, got)
				done = append(done, name)
			}
		}
	}
	return files, func() {
		for _, name := range done {
			s.remove(name)
		}
		for _, lock := range locks {
			_ = os.Remove(lock.Path())
			_ = lock.Unlock()
		}
	}
}

// orphans lists the figure files of other exporters by owner token. Lock
// files without figures are listed too (with no files) once they are an
// hour old, so that those of crashed processes are cleared; a younger one
// may be a live owner between making its lock file and locking it.
func (s *spool) orphans() map[string][]string {
	dirents, err := os.ReadDir(s.dir)
	if err != nil {
		s.report(fmt.Errorf("telemetry spool: %w", err))
		return nil
	}
	out := make(map[string][]string)
	var lockOnly []string
	for _, d := range dirents {
		name := d.Name()
		if token, ok := figuresOwner(name); ok && token != s.token {
			out[token] = append(out[token], name)
		} else if token, ok := lockOwner(name); ok && token != s.token && olderThan(d, staleLockAge) {
			lockOnly = append(lockOnly, token)
		}
	}
	for _, token := range lockOnly {
		if _, hasFigures := out[token]; !hasFigures {
			out[token] = nil
		}
	}
	return out
}

const staleLockAge = time.Hour

func olderThan(d fs.DirEntry, age time.Duration) bool {
	info, err := d.Info()
	return err == nil && time.Since(info.ModTime()) > age
}

func lockOwner(name string) (string, bool) {
	t, ok := strings.CutPrefix(name, ownerPrefix)
	if !ok || !strings.HasSuffix(t, ".lock") {
		return "", false
	}
	t = strings.TrimSuffix(t, ".lock")
	return t, t != ""
}

// figuresOwner returns the owner token of a figure file's name.
func figuresOwner(name string) (token string, ok bool) {
	if !strings.HasSuffix(name, ".json") {
		return "", false
	}
	base := strings.TrimSuffix(name, ".json")
	if t, found := strings.CutPrefix(base, carriedPrefix); found {
		return t, t != ""
	}
	if t, found := strings.CutPrefix(base, updatePrefix); found {
		token, _, _ = strings.Cut(t, "-")
		return token, token != ""
	}
	return "", false
}

// read reads one figure file; one that cannot be used is set aside.
func (s *spool) read(name string) ([]entry, bool) {
	data, err := os.ReadFile(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err == nil {
		var instance string
		var entries []entry
		if instance, entries, err = readSpool(data); err == nil {
			if instance == s.instance {
				return entries, true
			}
			err = errors.New("it belongs to another instance")
		}
	}
	s.setAside(name, err)
	return nil, false
}

// setAside renames a file that cannot be sent, so that it is reported
// once and never read again, but kept for whoever wants to look at it.
func (s *spool) setAside(name string, why error) {
	aside := name + setAsideSuffix
	if err := os.Rename(s.path(name), s.path(aside)); err != nil {
		why = fmt.Errorf("%w; setting it aside failed too: %v", why, err)
	}
	s.report(fmt.Errorf("telemetry spool: %s is not sent and was renamed %s: %w", s.path(name), aside, why))
}

// clear removes this exporter's figure files and those of owners that are
// gone: the server wants nothing more.
func (s *spool) clear() {
	if s == nil {
		return
	}
	_, release := s.claimOrphans()
	release()
	dirents, _ := os.ReadDir(s.dir)
	for _, d := range dirents {
		if token, ok := figuresOwner(d.Name()); ok && token == s.token {
			s.remove(d.Name())
		}
	}
}

// close lets go of the lock, and of its file when no figures are left for
// a later process to claim.
func (s *spool) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	if !s.hasOwnFigures() {
		_ = os.Remove(s.owner.Path())
	}
	_ = s.owner.Unlock()
}

func (s *spool) hasOwnFigures() bool {
	dirents, _ := os.ReadDir(s.dir)
	for _, d := range dirents {
		if token, ok := figuresOwner(d.Name()); ok && token == s.token {
			return true
		}
	}
	return false
}
