package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// The spool's files are opened by the functions here and in the
// platform's open_* file, never by os.Open or os.ReadFile: whatever is
// found in the directory, reading it must neither wait (a FIFO), nor
// follow a link elsewhere (to /dev/zero, or to a file the host should not
// touch), nor take more memory than one spool file may hold.

// errNotRegular refuses what is not a plain file.
var errNotRegular = errors.New("not a regular file (links, FIFOs, devices and directories are never read)")

// readRegular reads the regular file at path, if it holds at most limit
// bytes. The size is checked before reading, and the read stops one byte
// past limit too, so that a file that grows meanwhile cannot pass it.
func readRegular(path string, limit int) ([]byte, error) {
	f, err := openNoFollow(path, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if err := checkRegular(f); err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() > int64(limit) {
		return nil, tooLarge(info.Size(), limit)
	}
	data := make([]byte, 0, info.Size()+1)
	data, err = readAll(io.LimitReader(f, int64(limit)+1), data)
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, tooLarge(int64(len(data)), limit)
	}
	return data, nil
}

// readAll appends what r holds to data, as io.ReadAll does, but into the
// caller's buffer: sized from the file, it is read without growing.
func readAll(r io.Reader, data []byte) ([]byte, error) {
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
}

func tooLarge(size int64, limit int) error {
	return fmt.Errorf("it holds %d bytes, more than the %d a spool file may (WithSpoolLimit)", size, limit)
}

// checkRegular refuses an opened file that is not a regular one.
func checkRegular(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: its mode is %v", errNotRegular, info.Mode().Type())
	}
	return nil
}

// lockFile is an owner's lock: a regular file, created without following
// links (a link planted under its name would otherwise make the host
// create a file where the link points), held locked while it is open.
type lockFile struct {
	path string
	f    *os.File
}

// tryLockFile opens (or creates, mode 0600) the lock file at path and
// takes its exclusive lock without waiting. It returns nil and no error
// when another holder has the lock.
func tryLockFile(path string) (*lockFile, error) {
	f, err := openNoFollow(path, true)
	if err != nil {
		return nil, err
	}
	locked := false
	if err = checkRegular(f); err == nil {
		locked, err = tryLock(f)
	}
	if !locked {
		_ = f.Close()
		return nil, err
	}
	return &lockFile{path: path, f: f}, nil
}

// unlock lets go of the lock, which goes with the open file.
func (l *lockFile) unlock() { _ = l.f.Close() }

// onDescriptor runs call on f's descriptor, returning what call returns,
// or why the descriptor could not be had.
func onDescriptor(f *os.File, call func(fd uintptr) error) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var callErr error
	if err := conn.Control(func(fd uintptr) { callErr = call(fd) }); err != nil {
		return err
	}
	return callErr
}
