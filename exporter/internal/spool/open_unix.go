//go:build unix && !aix

package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openNoFollow opens path for reading, or creates it (mode 0600) when
// create is set. O_NOFOLLOW refuses a link as the last element, and
// O_NONBLOCK keeps the open of a FIFO from waiting for a writer; the
// caller then checks what it opened (checkRegular). On a regular file
// O_NONBLOCK changes nothing.
func openNoFollow(path string, create bool) (*os.File, error) {
	flag := os.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o600)
	// Linux and macOS say ELOOP for a link under O_NOFOLLOW, FreeBSD
	// EMLINK: both are a link here.
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: it is a symbolic link", errNotRegular)}
	}
	return f, err
}

// tryLock takes f's exclusive flock without waiting. A flock belongs to
// the open file, not to the process as fcntl locks do, so two exporters
// in one process exclude each other too; it goes when the file is
// closed, or when the process dies.
func tryLock(f *os.File) (bool, error) {
	err := onDescriptor(f, func(fd uintptr) error { return unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB) })
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// checkPrivateDir refuses a spool directory that someone else could
// change, as ssh refuses such key files: a directory that others may
// write into could be given files that speak for the host. It must be
// owned by this process's user (or by root, who is trusted anyway) and
// writable by no group and no other user.
func checkPrivateDir(path string, info fs.FileInfo) error {
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s may be written by other users (mode %v): make it private (chmod go-w) or choose another directory", path, perm)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: the owner of the directory cannot be checked", path)
	}
	if uid := os.Getuid(); int(st.Uid) != uid && st.Uid != 0 {
		return fmt.Errorf("%s is owned by user %d, not by this process's user %d: choose a directory of your own", path, st.Uid, uid)
	}
	return nil
}
