package spool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/payload"
)

// ClaimOrphans returns the figures left by exporters that are gone, file
// by file, and a function that deletes their files: call it only once the
// figures are saved as this exporter's own. Until it is called, and if it
// never is, the orphans stay locked by this exporter (until close), so that
// neither it nor another exporter claims their figures again while it
// carries them. One claim reads at most maxClaimFiles files and about one
// spool file's worth of bytes, and stops between owners once ctx is done
// (reading many large journals takes seconds, and a Shutdown's final
// update must keep its deadline); the rest wait for the next update. A file
// that cannot be used is set aside, one of another instance left alone;
// either is among the problems returned, once.
func (s *Spool) ClaimOrphans(ctx context.Context) (c Claim, release func() []error, problems []error) {
	none := func() []error { return nil }
	if s == nil {
		return c, none, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return c, none, nil
	}
	var n notes
	var owners []*claimedOwner
	absorbed := map[string]bool{}
	read := 0
	orphans := s.orphans(&n)
	for _, token := range s.byAge(orphans) {
		names := orphans[token]
		if c.Files >= maxClaimFiles || read >= s.readLimit() || ctx.Err() != nil {
			break // the rest is claimed later; a caller's deadline first
		}
		o := s.lockOrphan(&n, token)
		if o == nil {
			continue
		}
		owners = append(owners, o)
		read += s.claimOwner(&n, o, names, absorbed, read, &c)
	}
	// An owner that another claimed file names as absorbed was claimed by
	// a process that died before it could delete its files: its figures
	// are already there, so its files are deleted without being taken.
	for _, o := range owners {
		if absorbed[o.token] {
			o.entries, o.updates = nil, nil
		}
		c.Entries = append(c.Entries, o.entries...)
		c.Updates = append(c.Updates, o.updates...)
		c.Owners = append(c.Owners, o.token)
	}
	return c, s.releaser(owners), n
}

// byAge lists the owners oldest first, by when each made its lock file
// (when its process started), so that a later process's values are taken
// as the newer ones. An owner without a lock file counts as the oldest.
func (s *Spool) byAge(orphans map[string][]string) []string {
	started := make(map[string]time.Time, len(orphans))
	tokens := make([]string, 0, len(orphans))
	for token := range orphans {
		if info, err := os.Lstat(s.path(ownerPrefix + token + ".lock")); err == nil {
			started[token] = info.ModTime()
		}
		tokens = append(tokens, token)
	}
	slices.SortFunc(tokens, func(a, b string) int {
		if c := started[a].Compare(started[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return tokens
}

// Claim is what ClaimOrphans took: the figures of each carried file and
// journal, oldest first, the update files to be sent again as they are,
// and the owners they came from.
type Claim struct {
	Entries [][]convert.Entry
	Updates []ClaimedFile
	Owners  []string
	Files   int
}

// claimOwner reads the files of one orphan: its spool files first, whose
// generation stamps tell which of its journal's figures they hold, then
// its journal. It returns the bytes read.
func (s *Spool) claimOwner(n *notes, o *claimedOwner, names []string, absorbed map[string]bool, read int, c *Claim) int {
	var stamped uint64
	var journals []string
	var files []ClaimedFile
	size := 0
	// Oldest first: the carried file, the updates in the order they were
	// written, then the journal, which holds what was recorded last.
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(fileOrder(a), fileOrder(b)) })
	for _, name := range names {
		if strings.HasPrefix(name, journalPrefix) {
			journals = append(journals, name)
			continue
		}
		if c.Files >= maxClaimFiles || read+size >= s.readLimit() {
			// An owner is claimed whole or not at all: its files may hold
			// a figure on its way from one to another (withoutMoved).
			o.whole, o.done = false, nil
			return 0
		}
		entries, meta, fileBytes, status := s.read(n, name)
		switch status {
		case fileUsed:
			files = append(files, ClaimedFile{Name: name, Meta: meta, Entries: entries})
			o.done = append(o.done, name)
			stamped = max(stamped, meta.Gen)
			for _, t := range meta.Absorbed {
				absorbed[t] = true
			}
			size += fileBytes
			c.Files++
		case fileLeft:
			o.whole = false
		}
	}
	carried, updates := withoutMoved(files)
	o.entries = append(o.entries, carried...)
	o.updates = append(o.updates, updates...)
	for _, name := range journals {
		if read > 0 && read+size >= s.readLimit() {
			// The rest wait for the next update, and the owner with them:
			// its journal needs the stamps of its spool files.
			o.whole, o.done, o.entries, o.updates = false, nil, nil, nil
			return 0
		}
		entries, journalBytes, err := s.readJournal(name, stamped)
		size += journalBytes // its bytes count against the claim's bound, as a file's do
		switch {
		case errors.Is(err, errOtherInstance):
			s.note(n, name, err)
			o.whole = false
			continue
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			s.setAside(n, name, err)
			continue
		}
		kept, dropped, why := boundEntries(entries)
		if dropped > 0 {
			n.add(fmt.Errorf("telemetry spool: %s: %d items are not sent and are counted as %s instead: %w", s.path(name), dropped, payload.KeyDropped, why))
		}
		o.entries = append(o.entries, kept)
		o.done = append(o.done, name)
		c.Files++
	}
	return size
}

// claimedFile is one spool file of an orphan, read.
type ClaimedFile struct {
	Name    string
	Meta    Meta
	Entries []convert.Entry
}

// withoutMoved returns the figures of an owner's spool files, leaving out
// those it was moving from one file to another when it died: the carried
// file's, when an update file took its version; an update file's, when
// the carried file replaces it. The carried file's figures come back as
// entries; the update files whole, to be sent again as they are.
func withoutMoved(files []ClaimedFile) (carried [][]convert.Entry, updates []ClaimedFile) {
	replaced := map[string]bool{}
	var carriedVersion uint64
	for _, f := range files {
		if strings.HasPrefix(f.Name, carriedPrefix) {
			carriedVersion = f.Meta.Version
			for _, name := range f.Meta.Replaces {
				replaced[name] = true
			}
		}
	}
	for _, f := range files {
		switch {
		case strings.HasPrefix(f.Name, carriedPrefix):
			if !tookVersion(files, carriedVersion) {
				carried = append(carried, f.Entries)
			}
		case !replaced[f.Name]:
			updates = append(updates, f)
		}
	}
	return carried, updates
}

// tookVersion reports whether an update file took the carried file's
// figures as of version v.
func tookVersion(files []ClaimedFile, v uint64) bool {
	for _, f := range files {
		if v != 0 && f.Meta.Took == v && strings.HasPrefix(f.Name, updatePrefix) {
			return true
		}
	}
	return false
}

// fileOrder ranks an owner's files from the oldest figures to the newest.
func fileOrder(name string) uint64 {
	if strings.HasPrefix(name, carriedPrefix) {
		return 0
	}
	if rest, ok := strings.CutPrefix(name, updatePrefix); ok {
		_, n, _ := strings.Cut(strings.TrimSuffix(rest, ".json"), "-")
		if v, err := strconv.ParseUint(n, 10, 63); err == nil {
			return 1 + v
		}
	}
	return math.MaxUint64
}

// claimedOwner is an orphan's lock, taken by a claim, and the files the
// claim took from it.
type claimedOwner struct {
	token   string
	lock    *lockFile
	entries [][]convert.Entry // the figures of its carried file and journal
	updates []ClaimedFile     // its update files
	done    []string          // files whose figures the claim returned
	whole   bool              // no file of the owner is left
}

// lockOrphan takes the lock of the owner token, if it is gone.
func (s *Spool) lockOrphan(n *notes, token string) *claimedOwner {
	name := ownerPrefix + token + ".lock"
	if s.isNoted(name) {
		return nil
	}
	lock, err := tryLockFile(s.path(name))
	if err != nil {
		s.note(n, name, fmt.Errorf("the files of its owner are not claimed: %w", err))
		return nil
	}
	if lock == nil {
		return nil // its owner lives
	}
	s.held = append(s.held, lock)
	return &claimedOwner{token: token, lock: lock, whole: true}
}

// releaser returns the function that deletes what a claim took: the
// files, and the lock file of an owner left with none. An owner whose
// file could not be deleted stays locked, so that its figures are not
// claimed twice.
func (s *Spool) releaser(owners []*claimedOwner) func() []error {
	var once sync.Once
	return func() []error {
		var n notes
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.closed.Load() {
				return // close let go of the locks; the files stay for the next process
			}
			for _, o := range owners {
				s.releaseOwner(&n, o)
			}
		})
		return n
	}
}

func (s *Spool) releaseOwner(n *notes, o *claimedOwner) {
	for _, name := range o.done {
		if s.remove(n, name) != nil {
			return
		}
	}
	if o.whole {
		_ = os.Remove(o.lock.path)
	}
	o.lock.unlock()
	s.held = slices.DeleteFunc(s.held, func(l *lockFile) bool { return l == o.lock })
}

// readLimit bounds a spool file that is read: the byte limit, or the
// default one if it is larger, so that lowering WithSpoolLimit does not
// refuse files written before.
func (s *Spool) readLimit() int { return max(s.limit, olderSpoolLimit) }

// orphans lists the figure files of other exporters by owner token. Lock
// files without figures are listed too (with no files) once they are an
// hour old, so that those of crashed processes are cleared; a younger one
// may be a live owner between making its lock file and locking it. Files
// already noted and left alone are not listed.
func (s *Spool) orphans(n *notes) map[string][]string {
	dirents, err := os.ReadDir(s.dir)
	if err != nil {
		n.add(fmt.Errorf("telemetry spool: %w", err))
		return nil
	}
	out := make(map[string][]string)
	var lockOnly []string
	for _, d := range dirents {
		name := d.Name()
		if s.isNoted(name) {
			continue
		}
		if strings.HasPrefix(name, tempPrefix) && olderThan(d, staleTempAge) {
			_ = os.Remove(s.path(name)) // a write that died before its rename
			continue
		}
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

// tempPrefix names the files writeAtomically writes before renaming them;
// one older than staleTempAge was left by a process that died mid-write.
const (
	tempPrefix   = ".tmp-"
	staleTempAge = 10 * time.Minute
)

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

// figuresOwner returns the owner token of a figure file's name (one of
// ownedFiles).
func figuresOwner(name string) (token string, ok bool) {
	for _, f := range ownedFiles {
		base, found := strings.CutSuffix(name, f.suffix)
		if !found {
			continue
		}
		if token, found = strings.CutPrefix(base, f.prefix); !found {
			continue
		}
		if f.numbered {
			token, _, _ = strings.Cut(token, "-")
		}
		return token, token != ""
	}
	return "", false
}

// fileStatus is what reading a figure file came to.
type fileStatus int

const (
	fileGone fileStatus = iota // absent, or set aside as unusable
	fileUsed                   // its figures were read
	fileLeft                   // left alone: another instance's
)

// errOtherInstance leaves alone a file that names another instance: it
// is not this exporter's to send, nor to rename or delete.
var errOtherInstance = errors.New("it belongs to another instance, and is left alone")

// read reads one figure file and returns its entries within the spool's
// bounds (boundEntries), and its size. A file that cannot be used is set
// aside.
func (s *Spool) read(n *notes, name string) ([]convert.Entry, Meta, int, fileStatus) {
	var meta Meta
	data, err := readRegular(s.path(name), s.readLimit())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, meta, 0, fileGone
	}
	var instance string
	var entries []convert.Entry
	if err == nil {
		instance, meta, entries, err = readSpool(data)
	}
	if err != nil {
		s.setAside(n, name, err)
		return nil, meta, 0, fileGone
	}
	if instance != s.instance {
		s.note(n, name, errOtherInstance)
		return nil, meta, 0, fileLeft
	}
	kept, dropped, why := boundEntries(entries)
	if dropped > 0 {
		n.add(fmt.Errorf("telemetry spool: %s: %d items are not sent and are counted as %s instead: %w", s.path(name), dropped, payload.KeyDropped, why))
	}
	return kept, meta, len(data), fileUsed
}

// boundEntries keeps, in order, the entries of a spool file that hold to
// the bounds of what the spool reads: a key of at most maxSpoolKeyLen
// bytes, given once, integers within maxSpoolCount, payload.MaxItems items
// in all. It counts the items of the others under payload.KeyDropped, and
// returns how many there were and why the first was left out.
func boundEntries(entries []convert.Entry) (kept []convert.Entry, dropped int, why error) {
	seen := make(map[string]bool, len(entries))
	total := 0
	for _, en := range entries {
		n := max(en.Value.Items(), 1)
		err := entryWithinBounds(en)
		switch {
		case err != nil:
		case seen[en.Key]:
			err = fmt.Errorf("key %.64q is given twice", en.Key)
		case total+n > payload.MaxItems:
			err = fmt.Errorf("more than %d items", payload.MaxItems)
		}
		if err != nil {
			dropped += n
			why = cmp.Or(why, err)
			continue
		}
		seen[en.Key] = true
		total += n
		kept = append(kept, en)
	}
	if dropped > 0 {
		slices.SortFunc(kept, convert.ByKey)
		kept = convert.AddDropped(kept, dropped)
	}
	return kept, dropped, why
}

func entryWithinBounds(en convert.Entry) error {
	if len(en.Key) > maxSpoolKeyLen {
		return fmt.Errorf("a key of %d bytes, more than the %d read", len(en.Key), maxSpoolKeyLen)
	}
	if !convert.IntegersWithin(en.Value, maxSpoolCount) {
		return fmt.Errorf("key %.64q holds an integer beyond ±2^53", en.Key)
	}
	return nil
}

// setAside renames a file that cannot be sent, so that it is noted once
// and never read again, but kept for whoever wants to look at it. A
// link or a FIFO is renamed as itself, never what it points to.
func (s *Spool) setAside(n *notes, name string, why error) {
	aside := name + setAsideSuffix
	if err := os.Rename(s.path(name), s.path(aside)); err != nil {
		why = fmt.Errorf("%w; setting it aside failed too: %v", why, err)
		s.note(n, name, why) // not read again by this exporter, at least
		return
	}
	n.add(fmt.Errorf("telemetry spool: %s is not sent and was renamed %s: %w", s.path(name), aside, why))
}

// note notes a file that is left alone, once, and keeps this exporter
// from reading it again.
func (s *Spool) note(n *notes, name string, why error) {
	s.notedMu.Lock()
	defer s.notedMu.Unlock()
	if s.noted[name] {
		return
	}
	if s.noted == nil {
		s.noted = make(map[string]bool)
	}
	s.noted[name] = true
	n.add(fmt.Errorf("telemetry spool: %s is not read: %w", s.path(name), why))
}

func (s *Spool) isNoted(name string) bool {
	s.notedMu.Lock()
	defer s.notedMu.Unlock()
	return s.noted[name]
}
