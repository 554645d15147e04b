package exporter

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/payload"
)

// DefaultSpoolLimit bounds each spool file when WithSpoolLimit is not
// given: MaxUpdateBytes, as a spool file holds what one update sends.
const DefaultSpoolLimit = MaxUpdateBytes

// MaxUpdateBytes bounds the body of an update: 7 MiB, below the 8 MiB that
// the Collector receiver (and the Collector's HTTP servers) take by
// default. An update at the item limit of counting-set hashes takes about
// 4 MiB. Keys beyond it are left out of the update and counted under
// payload.KeyDropped.
const MaxUpdateBytes = convert.MaxUpdateBytes

// olderSpoolLimit is the bound spool files had before MaxUpdateBytes: a
// file of that size is still read, and what does not fit an update is
// counted as dropped.
const olderSpoolLimit = 16 << 20

// Bounds on what the spool reads, whoever wrote it. A spool file is
// parsed only once it is known to be a regular file of at most the spool's
// byte limit; these bound what is taken from it.
const (
	// maxSpoolKeyLen bounds a key read from the spool or kept in its
	// directives: 64 KiB, far beyond any real key, so that a file cannot
	// hand the host keys it will carry, compare and send on every update.
	maxSpoolKeyLen = 64 << 10
	// maxSpoolCount bounds the magnitude of an integer that merging adds
	// up (a count, a set member's count, a histogram's counts): 2^53, the
	// largest integer a float64 holds exactly, and so the largest a server
	// reading JSON numbers as floats receives intact. An entry beyond it is
	// not sent; with one claim reading at most maxClaimFiles files, what it
	// reads cannot overflow an int64 when merged.
	maxSpoolCount = 1 << 53
	// maxClaimFiles bounds the orphaned files one update reads; with the
	// byte budget (the spool limit) it bounds the memory and time a claim
	// takes. Files beyond it wait for the next update.
	maxClaimFiles = 256
)

// The spool directory given to WithSpool holds one directory per instance,
// instance-<InstanceHash>, so that instances sharing it never touch each
// other's files. The instance's directory holds, per exporter (a process,
// in practice), these files; <token> is random per exporter:
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
//
// Both directories must be private to the user (checkPrivateDir), and
// files are opened without following links or blocking, and read only
// when regular and within the byte limit (readRegular): nothing planted
// in the spool can make the host hang, run out of memory, or send
// figures that are not its own.
type spool struct {
	dir      string // the instance's directory
	instance string // InstanceHash of the exporter's ID
	limit    int
	token    string
	owner    *lockFile
	updates  atomic.Uint64
	report   func(error)

	mu sync.Mutex // one claim or clear at a time
	// held are the locks of orphans whose figures this exporter claimed
	// but could not save as its own: their files stay, locked, so that no
	// one claims them again while this exporter carries their figures;
	// close lets go of them.
	held []*lockFile
	// closed is set by the exporter's Shutdown. An update abandoned by a
	// Shutdown that ran out of time may end later: it then leaves the
	// files as they are, so that its figures stay on disk for the next
	// process (sent twice, should it be delivered after all, rather than
	// lost), and nothing is written after Shutdown returned.
	closed atomic.Bool

	notedMu sync.Mutex
	// noted are files reported and left alone: never read or reported
	// again by this exporter.
	noted map[string]bool
	// cutDirectives reports, once, that not every disabled key was kept.
	cutDirectives sync.Once
}

const (
	instanceDirPrefix = "instance-"
	ownerPrefix       = "owner-"
	carriedPrefix     = "carried-"
	updatePrefix      = "update-"
	directivesFile    = "directives.json"
	setAsideSuffix    = ".unreadable"
)

// ownedFiles are the files an owner keeps, by name: <prefix><token> then,
// when numbered, -<n>, then <suffix>. figuresOwner knows an owner's files
// by them, so a new kind of file is claimed and cleared once it is here.
var ownedFiles = []struct {
	prefix, suffix string
	numbered       bool
}{
	{carriedPrefix, ".json", false},
	{updatePrefix, ".json", true},
	{journalPrefix, ".bin", false},
}

// InstanceHash names an instance in file and directory names without
// revealing its ID, which the server takes as a credential: the first 16
// hex digits of the ID's SHA-256.
func InstanceHash(id uuid.UUID) string {
	sum := sha256.Sum256(id[:])
	return hex.EncodeToString(sum[:8])
}

// SpoolInstanceDir is the directory under a spool directory (WithSpool)
// where the exporter of instance id keeps its files: instance-<hash>, the
// hash of InstanceHash. Removing it forgets the instance's spooled figures
// and the server's directives for it, and nothing of other instances.
func SpoolInstanceDir(dir string, id uuid.UUID) string {
	return filepath.Join(dir, instanceDirPrefix+InstanceHash(id))
}

// openSpool makes (0700) and checks the spool directory and the
// instance's directory in it, and takes this exporter's lock there.
func openSpool(dir string, id uuid.UUID, limit int, report func(error)) (*spool, error) {
	inst, err := privateDirs(dir, id)
	if err != nil {
		return nil, fmt.Errorf("telemetry spool: %w", err)
	}
	var t [8]byte
	_, _ = rand.Read(t[:])
	s := &spool{dir: inst, instance: InstanceHash(id), limit: limit, token: hex.EncodeToString(t[:]), report: report}
	lockPath := s.path(ownerPrefix + s.token + ".lock")
	if s.owner, err = tryLockFile(lockPath); err != nil || s.owner == nil {
		return nil, fmt.Errorf("telemetry spool: cannot lock %s: %v", lockPath, err)
	}
	return s, nil
}

// privateDirs makes the spool directory and the instance's directory in
// it, and refuses either when others could write into it. The spool
// directory may be a link (to another disk, say); the instance's
// directory, made here, may not.
func privateDirs(dir string, id uuid.UUID) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	info, err := os.Stat(dir)
	if err == nil {
		err = checkPrivateDir(dir, info)
	}
	if err != nil {
		return "", err
	}
	inst := SpoolInstanceDir(dir, id)
	if err := os.Mkdir(inst, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if info, err = os.Lstat(inst); err == nil {
		err = checkPrivateDir(inst, info)
	}
	return inst, err
}

func (s *spool) path(name string) string { return filepath.Join(s.dir, name) }

// saveCarried writes the figures carried to the next update, or removes
// the file when there are none. It returns an error when they are not on
// disk as they are in memory.
func (s *spool) saveCarried(entries []convert.Entry, meta spoolMeta) error {
	return s.save(carriedPrefix+s.token+".json", entries, meta)
}

// beginUpdate writes an update's figures, of journal generations up to
// gen, before it is sent. It returns the file's name, for endUpdate, and
// whether the figures are on disk.
func (s *spool) beginUpdate(entries []convert.Entry, meta spoolMeta) (string, bool) {
	if s == nil {
		return "", false
	}
	name := fmt.Sprintf("%s%s-%d.json", updatePrefix, s.token, s.updates.Add(1))
	err := s.save(name, entries, meta) // reported; the figures are in memory still
	return name, err == nil
}

// endUpdate removes an update's file: it was delivered, or its figures are
// now carried (and saved as such), or the server wants nothing more.
func (s *spool) endUpdate(name string) {
	if s != nil && name != "" {
		_ = s.remove(name)
	}
}

// errSpoolClosed says that nothing is written after Shutdown.
var errSpoolClosed = errors.New("telemetry spool: the exporter is shut down; nothing more is written")

// save writes entries to the file name, or removes it when there are
// none. A failure is reported, and returned: the caller must not then
// delete figures that were to be kept in this file.
func (s *spool) save(name string, entries []convert.Entry, meta spoolMeta) error {
	if s.closed.Load() {
		return errSpoolClosed
	}
	if len(entries) == 0 && len(meta.absorbed) == 0 {
		return s.remove(name)
	}
	var w payload.Writer
	dropped := writeSpool(&w, s.instance, meta, entries, s.limit)
	if dropped > 0 {
		s.report(fmt.Errorf("telemetry spool: %d items did not fit in %d bytes and are counted as %s instead", dropped, s.limit, payload.KeyDropped))
	}
	if err := replaceFile(s.dir, name, w.Bytes(), !meta.unsynced); err != nil {
		err = fmt.Errorf("telemetry spool: the figures stay in memory only: %w", err)
		s.report(err)
		return err
	}
	return nil
}

func (s *spool) remove(name string) error {
	if s.closed.Load() {
		return errSpoolClosed
	}
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("telemetry spool: %w", err)
		s.report(err)
		return err
	}
	return nil
}

// writeAtomically replaces dir/name with data: written to a temporary file,
// synced, renamed over the old one. A reader sees the old file or the new,
// never a part.
func writeAtomically(dir, name string, data []byte) error { return replaceFile(dir, name, data, true) }

// replaceFile is writeAtomically, syncing only when durable. Without the
// syncs the replacement is as atomic for every process, and survives the
// process dying (the kernel has the file); only the machine losing power
// before the kernel writes it back may lose it. Checkpoints write so: a
// sync takes milliseconds to tens of them, which at four checkpoints a
// second would stretch their adaptive period far beyond 250 ms, to guard
// against what the memory-mapped journal does not guard against either.
func replaceFile(dir, name string, data []byte, durable bool) error {
	tmp, err := os.CreateTemp(dir, tempPrefix+"*") // mode 0600
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil && durable {
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
	if durable {
		syncDir(dir)
	}
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
// by file, and a function that deletes their files: call it only once the
// figures are saved as this exporter's own. Until it is called, and if it
// never is, the orphans stay locked by this exporter (until close), so that
// neither it nor another exporter claims their figures again while it
// carries them. One claim reads at most maxClaimFiles files and about one
// spool file's worth of bytes, and stops between owners once ctx is done
// (reading many large journals takes seconds, and a Shutdown's final
// update must keep its deadline); the rest wait for the next update. A file
// that cannot be used is set aside, one of another instance left alone;
// either is reported once.
func (s *spool) claimOrphans(ctx context.Context) (c claim, release func()) {
	if s == nil {
		return c, func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return c, func() {}
	}
	var owners []*claimedOwner
	absorbed := map[string]bool{}
	read := 0
	orphans := s.orphans()
	for _, token := range s.byAge(orphans) {
		names := orphans[token]
		if c.files >= maxClaimFiles || read >= s.readLimit() || ctx.Err() != nil {
			break // the rest is claimed later; a caller's deadline first
		}
		o := s.lockOrphan(token)
		if o == nil {
			continue
		}
		owners = append(owners, o)
		read += s.claimOwner(o, names, absorbed, read, &c)
	}
	// An owner that another claimed file names as absorbed was claimed by
	// a process that died before it could delete its files: its figures
	// are already there, so its files are deleted without being taken.
	for _, o := range owners {
		if absorbed[o.token] {
			o.entries, o.updates = nil, nil
		}
		c.entries = append(c.entries, o.entries...)
		c.updates = append(c.updates, o.updates...)
		c.owners = append(c.owners, o.token)
	}
	return c, s.releaser(owners)
}

// byAge lists the owners oldest first, by when each made its lock file
// (when its process started), so that a later process's values are taken
// as the newer ones. An owner without a lock file counts as the oldest.
func (s *spool) byAge(orphans map[string][]string) []string {
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

// claim is what claimOrphans took: the figures of each carried file and
// journal, oldest first, the update files to be sent again as they are,
// and the owners they came from.
type claim struct {
	entries [][]convert.Entry
	updates []claimedFile
	owners  []string
	files   int
}

// claimOwner reads the files of one orphan: its spool files first, whose
// generation stamps tell which of its journal's figures they hold, then
// its journal. It returns the bytes read.
func (s *spool) claimOwner(o *claimedOwner, names []string, absorbed map[string]bool, read int, c *claim) int {
	var stamped uint64
	var journals []string
	var files []claimedFile
	size := 0
	// Oldest first: the carried file, the updates in the order they were
	// written, then the journal, which holds what was recorded last.
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(fileOrder(a), fileOrder(b)) })
	for _, name := range names {
		if strings.HasPrefix(name, journalPrefix) {
			journals = append(journals, name)
			continue
		}
		if c.files >= maxClaimFiles || read+size >= s.readLimit() {
			// An owner is claimed whole or not at all: its files may hold
			// a figure on its way from one to another (withoutMoved).
			o.whole, o.done = false, nil
			return 0
		}
		entries, meta, n, status := s.read(name)
		switch status {
		case fileUsed:
			files = append(files, claimedFile{name: name, meta: meta, entries: entries})
			o.done = append(o.done, name)
			stamped = max(stamped, meta.gen)
			for _, t := range meta.absorbed {
				absorbed[t] = true
			}
			size += n
			c.files++
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
		entries, n, err := s.readJournal(name, stamped)
		size += n // its bytes count against the claim's bound, as a file's do
		switch {
		case errors.Is(err, errOtherInstance):
			s.note(name, err)
			o.whole = false
			continue
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			s.setAside(name, err)
			continue
		}
		kept, dropped, why := boundEntries(entries)
		if dropped > 0 {
			s.report(fmt.Errorf("telemetry spool: %s: %d items are not sent and are counted as %s instead: %w", s.path(name), dropped, payload.KeyDropped, why))
		}
		o.entries = append(o.entries, kept)
		o.done = append(o.done, name)
		c.files++
	}
	return size
}

// claimedFile is one spool file of an orphan, read.
type claimedFile struct {
	name    string
	meta    spoolMeta
	entries []convert.Entry
}

// withoutMoved returns the figures of an owner's spool files, leaving out
// those it was moving from one file to another when it died: the carried
// file's, when an update file took its version; an update file's, when
// the carried file replaces it. The carried file's figures come back as
// entries; the update files whole, to be sent again as they are.
func withoutMoved(files []claimedFile) (carried [][]convert.Entry, updates []claimedFile) {
	replaced := map[string]bool{}
	var carriedVersion uint64
	for _, f := range files {
		if strings.HasPrefix(f.name, carriedPrefix) {
			carriedVersion = f.meta.version
			for _, name := range f.meta.replaces {
				replaced[name] = true
			}
		}
	}
	for _, f := range files {
		switch {
		case strings.HasPrefix(f.name, carriedPrefix):
			if !tookVersion(files, carriedVersion) {
				carried = append(carried, f.entries)
			}
		case !replaced[f.name]:
			updates = append(updates, f)
		}
	}
	return carried, updates
}

// tookVersion reports whether an update file took the carried file's
// figures as of version v.
func tookVersion(files []claimedFile, v uint64) bool {
	for _, f := range files {
		if v != 0 && f.meta.took == v && strings.HasPrefix(f.name, updatePrefix) {
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
	updates []claimedFile     // its update files
	done    []string          // files whose figures the claim returned
	whole   bool              // no file of the owner is left
}

// lockOrphan takes the lock of the owner token, if it is gone.
func (s *spool) lockOrphan(token string) *claimedOwner {
	name := ownerPrefix + token + ".lock"
	if s.isNoted(name) {
		return nil
	}
	lock, err := tryLockFile(s.path(name))
	if err != nil {
		s.note(name, fmt.Errorf("the files of its owner are not claimed: %w", err))
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
func (s *spool) releaser(owners []*claimedOwner) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.closed.Load() {
				return // close let go of the locks; the files stay for the next process
			}
			for _, o := range owners {
				s.releaseOwner(o)
			}
		})
	}
}

func (s *spool) releaseOwner(o *claimedOwner) {
	for _, name := range o.done {
		if s.remove(name) != nil {
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
func (s *spool) readLimit() int { return max(s.limit, olderSpoolLimit) }

// orphans lists the figure files of other exporters by owner token. Lock
// files without figures are listed too (with no files) once they are an
// hour old, so that those of crashed processes are cleared; a younger one
// may be a live owner between making its lock file and locking it. Files
// already reported and left alone are not listed.
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
func (s *spool) read(name string) ([]convert.Entry, spoolMeta, int, fileStatus) {
	var meta spoolMeta
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
		s.setAside(name, err)
		return nil, meta, 0, fileGone
	}
	if instance != s.instance {
		s.note(name, errOtherInstance)
		return nil, meta, 0, fileLeft
	}
	kept, dropped, why := boundEntries(entries)
	if dropped > 0 {
		s.report(fmt.Errorf("telemetry spool: %s: %d items are not sent and are counted as %s instead: %w", s.path(name), dropped, payload.KeyDropped, why))
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

// setAside renames a file that cannot be sent, so that it is reported
// once and never read again, but kept for whoever wants to look at it. A
// link or a FIFO is renamed as itself, never what it points to.
func (s *spool) setAside(name string, why error) {
	aside := name + setAsideSuffix
	if err := os.Rename(s.path(name), s.path(aside)); err != nil {
		why = fmt.Errorf("%w; setting it aside failed too: %v", why, err)
		s.note(name, why) // not read again by this exporter, at least
		return
	}
	s.report(fmt.Errorf("telemetry spool: %s is not sent and was renamed %s: %w", s.path(name), aside, why))
}

// note reports a file that is left alone, once, and keeps this exporter
// from reading it again.
func (s *spool) note(name string, why error) {
	s.notedMu.Lock()
	defer s.notedMu.Unlock()
	if s.noted[name] {
		return
	}
	if s.noted == nil {
		s.noted = make(map[string]bool)
	}
	s.noted[name] = true
	s.report(fmt.Errorf("telemetry spool: %s is not read: %w", s.path(name), why))
}

func (s *spool) isNoted(name string) bool {
	s.notedMu.Lock()
	defer s.notedMu.Unlock()
	return s.noted[name]
}

// clear removes this exporter's figure files and those of owners that are
// gone: the server wants nothing more. Claims are bounded, so it claims
// until nothing is left (or a claim's worth of files could not be read).
func (s *spool) clear() {
	if s == nil {
		return
	}
	for range maxClearClaims {
		c, release := s.claimOrphans(context.Background())
		release()
		if c.files == 0 {
			break
		}
	}
	dirents, _ := os.ReadDir(s.dir)
	for _, d := range dirents {
		// The journal stays mapped while the process lives (Windows cannot
		// delete it); a stopped instance never sends what it holds.
		if token, ok := figuresOwner(d.Name()); ok && token == s.token && !strings.HasPrefix(d.Name(), journalPrefix) {
			_ = s.remove(d.Name())
		}
	}
}

// maxClearClaims bounds the claims of one clear, so that a directory
// filled with files cannot hold a stop for long; what is left is cleared
// by the next.
const maxClearClaims = 16

// close refuses every later write at once, then lets go of the locks, and
// of this exporter's lock file when no figures are left for a later
// process to claim. Orphans it holds still keep their files, for the next
// process. A claim under way holds the lock for as long as reading many
// orphaned files takes: close waits for it only until ctx is done, so that
// Shutdown keeps its deadline, and lets go of the locks once it ends.
func (s *spool) close(ctx context.Context) {
	if s == nil || !s.closed.CompareAndSwap(false, true) {
		return
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.hasOwnFigures() {
			_ = os.Remove(s.owner.path)
		}
		s.owner.unlock()
		for _, l := range s.held {
			l.unlock()
		}
		s.held = nil
	}()
	select {
	case <-released:
	case <-ctx.Done():
	}
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
