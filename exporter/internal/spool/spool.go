package spool

import (
	"context"
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

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/payload"
)

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
type Spool struct {
	dir      string // the instance's directory
	instance string // InstanceHash of the exporter's ID
	limit    int
	token    string
	owner    *lockFile
	updates  atomic.Uint64

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
	// noted are files left alone, whose problem was returned once: never
	// read or returned again by this exporter.
	noted map[string]bool
	// cutDirectives says once that not every disabled key was kept.
	cutDirectives sync.Once
}

const (
	instanceDirPrefix = "instance-"
	ownerPrefix       = "owner-"
	carriedPrefix     = "carried-"
	updatePrefix      = "update-"
	directivesFile    = "directives.json"
	setAsideSuffix    = ".unreadable"
	journalPrefix     = "journal-"
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
// revealing its ID: the first 16 hex digits of the ID's SHA-256.
func InstanceHash(id uuid.UUID) string {
	sum := sha256.Sum256(id[:])
	return hex.EncodeToString(sum[:8])
}

// InstanceDir is the directory under a spool directory where the files of
// instance id are: instance-<InstanceHash>.
func InstanceDir(dir string, id uuid.UUID) string {
	return filepath.Join(dir, instanceDirPrefix+InstanceHash(id))
}

// Open makes (0700) and checks the spool directory and the
// instance's directory in it, and takes this exporter's lock there.
func Open(dir string, id uuid.UUID, limit int) (*Spool, error) {
	inst, err := privateDirs(dir, id)
	if err != nil {
		return nil, fmt.Errorf("telemetry spool: %w", err)
	}
	var t [8]byte
	_, _ = rand.Read(t[:])
	s := &Spool{dir: inst, instance: InstanceHash(id), limit: limit, token: hex.EncodeToString(t[:])}
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
	inst := InstanceDir(dir, id)
	if err := os.Mkdir(inst, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if info, err = os.Lstat(inst); err == nil {
		err = checkPrivateDir(inst, info)
	}
	return inst, err
}

func (s *Spool) path(name string) string { return filepath.Join(s.dir, name) }

// Instance is the hash of the instance ID (InstanceHash) that the spool's
// files name.
func (s *Spool) Instance() string { return s.instance }

// JournalPath is where this exporter's journal goes (internal/journal):
// one of its files, claimed with them once it is gone.
func (s *Spool) JournalPath() string { return s.path(journalPrefix + s.token + ".bin") }

// RemoveJournal removes this exporter's journal, once it holds nothing
// that a later process would claim.
func (s *Spool) RemoveJournal() []error {
	var n notes
	_ = s.remove(&n, journalPrefix+s.token+".bin")
	return n
}

// SaveCarried writes the figures carried to the next update, or removes
// the file when there are none. It returns an error when they are not on
// disk as they are in memory.
func (s *Spool) SaveCarried(entries []convert.Entry, meta Meta) ([]error, error) {
	var n notes
	err := s.save(&n, carriedPrefix+s.token+".json", entries, meta)
	return n, err
}

// BeginUpdate writes an update's figures, of journal generations up to
// gen, before it is sent. It returns the file's name, for EndUpdate, and
// whether the figures are on disk.
func (s *Spool) BeginUpdate(entries []convert.Entry, meta Meta) (string, bool, []error) {
	if s == nil {
		return "", false, nil
	}
	name := fmt.Sprintf("%s%s-%d.json", updatePrefix, s.token, s.updates.Add(1))
	var n notes
	err := s.save(&n, name, entries, meta) // among the notes; the figures are in memory still
	return name, err == nil, n
}

// EndUpdate removes an update's file: it was delivered, or its figures are
// now carried (and saved as such), or the server wants nothing more.
func (s *Spool) EndUpdate(name string) []error {
	var n notes
	if s != nil && name != "" {
		_ = s.remove(&n, name)
	}
	return n
}

// ErrClosed says that nothing is written after Shutdown.
var ErrClosed = errors.New("telemetry spool: the exporter is shut down; nothing more is written")

// save writes entries to the file name, or removes it when there are
// none. A failure is noted, and returned: the caller must not then
// delete figures that were to be kept in this file.
func (s *Spool) save(n *notes, name string, entries []convert.Entry, meta Meta) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(entries) == 0 && len(meta.Absorbed) == 0 {
		return s.remove(n, name)
	}
	var w payload.Writer
	dropped := writeSpool(&w, s.instance, meta, entries, s.limit)
	if dropped > 0 {
		n.add(fmt.Errorf("telemetry spool: %d items did not fit in %d bytes and are counted as %s instead", dropped, s.limit, payload.KeyDropped))
	}
	if err := replaceFile(s.dir, name, w.Bytes(), !meta.Unsynced); err != nil {
		err = fmt.Errorf("telemetry spool: the figures stay in memory only: %w", err)
		n.add(err)
		return err
	}
	return nil
}

func (s *Spool) remove(n *notes, name string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("telemetry spool: %w", err)
		n.add(err)
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

// Clear removes this exporter's figure files and those of owners that are
// gone: the server wants nothing more. Claims are bounded, so it claims
// until nothing is left (or a claim's worth of files could not be read).
func (s *Spool) Clear() []error {
	if s == nil {
		return nil
	}
	var n notes
	for range maxClearClaims {
		c, release, problems := s.ClaimOrphans(context.Background())
		n = append(n, problems...)
		n = append(n, release()...)
		if c.Files == 0 {
			break
		}
	}
	dirents, _ := os.ReadDir(s.dir)
	for _, d := range dirents {
		// The journal stays mapped while the process lives (Windows cannot
		// delete it); a stopped instance never sends what it holds.
		if token, ok := figuresOwner(d.Name()); ok && token == s.token && !strings.HasPrefix(d.Name(), journalPrefix) {
			_ = s.remove(&n, d.Name())
		}
	}
	return n
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
func (s *Spool) Close(ctx context.Context) {
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

func (s *Spool) hasOwnFigures() bool {
	dirents, _ := os.ReadDir(s.dir)
	for _, d := range dirents {
		if token, ok := figuresOwner(d.Name()); ok && token == s.token {
			return true
		}
	}
	return false
}

// notes gathers the problems that one call to the spool met, which it
// returns for the exporter to report: the spool reports nothing itself.
type notes []error

func (n *notes) add(err error) { *n = append(*n, err) }
