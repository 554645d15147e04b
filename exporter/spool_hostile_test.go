//go:build unix

package exporter_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/telemetrybridge/telemetry/exporter"
)

// The tests in this file plant in a spool directory what someone (or
// something) could leave there: FIFOs, links to devices and to places
// outside, directories that others may write. The host must start, record,
// report its own figures and stop within its deadlines, and send nothing
// planted (runHost, expectOwnFigures).

// A FIFO or a link where the spool expects a file is neither waited on nor
// followed: it is reported once, set aside, and never read.
func TestPlantedFIFOsAndLinksAreNotRead(t *testing.T) {
	fifo := func(path string) error { return unix.Mkfifo(path, 0o600) }
	toZero := func(path string) error { return os.Symlink("/dev/zero", path) }
	for _, c := range []struct {
		kind, name string
		plant      func(path string) error
	}{
		{"fifo", "directives.json", fifo},
		{"fifo", "carried-planted.json", fifo},
		{"fifo", "update-planted-1.json", fifo},
		{"link to /dev/zero", "carried-planted.json", toZero},
		{"link to /dev/zero", "directives.json", toZero},
	} {
		t.Run(c.kind+" "+c.name, func(t *testing.T) {
			dir := t.TempDir()
			inst := exporter.SpoolInstanceDir(dir, testID)
			if err := os.MkdirAll(inst, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := c.plant(filepath.Join(inst, c.name)); err != nil {
				t.Fatal(err)
			}
			s, seen := runHost(t, dir)
			expectOwnFigures(t, s, map[string]string{"count": `1`})
			if n := seen.containing(c.name + " is not sent"); n != 1 {
				t.Errorf("reported %d times, want once: %v", n, seen.errs)
			}
		})
	}
}

// A spool directory, or an instance's directory in it, that another user
// owns or may write into is not used, as ssh refuses such key files: the
// host reports it once, carries its figures in memory, writes nothing
// there, and sends nothing planted there.
func TestSpoolDirectoryOthersControlIsNotUsed(t *testing.T) {
	for _, c := range []struct {
		name, want string
		spoil      func(t *testing.T, dir, inst string)
	}{
		{"world-writable spool directory", "may be written by other users", func(t *testing.T, dir, _ string) {
			chmod(t, dir, 0o777)
		}},
		{"group-writable instance directory", "may be written by other users", func(t *testing.T, _, inst string) {
			chmod(t, inst, 0o770)
		}},
		{"spool directory of another user", "is owned by user 65534", func(t *testing.T, dir, _ string) {
			if os.Getuid() != 0 {
				t.Skip("only root can give a directory to another user; this case runs as root")
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
		{"instance directory is a link", "is not a directory", func(t *testing.T, _, inst string) {
			elsewhere := t.TempDir()
			if err := os.Rename(inst, filepath.Join(elsewhere, "moved")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(elsewhere, "moved"), inst); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			planted := plant(t, dir, "update-planted-1.json", spoolText(map[string]string{"planted": "100"}))
			inst := filepath.Dir(planted)
			c.spoil(t, dir, inst)
			before := listTree(t, dir)
			s, seen := runHost(t, dir)
			expectOwnFigures(t, s, map[string]string{"count": `1`})
			if n := seen.containing(c.want); n != 1 {
				t.Errorf("the directory was reported %d times, want once: %v", n, seen.errs)
			}
			if seen.containing("kept in memory only") != 1 {
				t.Errorf("the host did not say that it keeps its figures in memory: %v", seen.errs)
			}
			if after := listTree(t, dir); after != before {
				t.Errorf("the host wrote into the directory:\nbefore: %s\nafter:  %s", before, after)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// listTree names what dir holds, links followed.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	out := ""
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out += path + " "
		if d.Type()&fs.ModeSymlink != 0 {
			entries, _ := os.ReadDir(path)
			for _, e := range entries {
				out += filepath.Join(path, e.Name()) + " "
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An owner's lock file that is a link (to a place outside the spool, where
// nothing is) is not followed: the host creates nothing there, leaves that
// owner's figures unclaimed, and reports it once.
func TestSymlinkedLockFileCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, "carried-planted.json", spoolText(map[string]string{"planted": "100"}))
	target := filepath.Join(t.TempDir(), "created-by-the-host")
	if err := os.Symlink(target, filepath.Join(instanceDir(dir), "owner-planted.lock")); err != nil {
		t.Fatal(err)
	}
	s, seen := runHost(t, dir)
	expectOwnFigures(t, s, map[string]string{"count": `1`})
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the host made a file where the lock's link points: %v", err)
	}
	if n := seen.containing("owner-planted.lock is not read"); n != 1 {
		t.Errorf("the linked lock was reported %d times, want once: %v", n, seen.errs)
	}
}
