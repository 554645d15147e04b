//go:build !windows && !(unix && !aix)

package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// openNoFollow, where neither O_NOFOLLOW with flock (unix but AIX) nor the
// Windows calls are at hand, refuses what Lstat shows to be other than a
// regular file before opening it: a link swapped in between the two is
// not caught, which is why the spool is not used here at all (tryLock
// fails). It is kept so that the package builds everywhere.
func openNoFollow(path string, create bool) (*os.File, error) {
	if info, err := os.Lstat(path); err == nil && !info.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: errNotRegular}
	} else if err != nil && !(create && errors.Is(err, fs.ErrNotExist)) {
		return nil, err
	}
	flag := os.O_RDONLY
	if create {
		flag |= os.O_CREATE
	}
	return os.OpenFile(path, flag, 0o600)
}

// tryLock fails: without a lock that dies with its process, two processes
// could claim the same orphaned figures. The exporter then reports that
// the spool cannot be used and keeps its figures in memory.
func tryLock(*os.File) (bool, error) {
	return false, fmt.Errorf("file locks are not supported on %s", runtime.GOOS)
}

// checkPrivateDir only checks that path is a directory: the spool is not
// used here anyway (tryLock).
func checkPrivateDir(path string, info fs.FileInfo) error {
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	return nil
}
