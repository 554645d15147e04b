//go:build windows

package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// openNoFollow opens path for reading, or creates it when create is set.
// FILE_FLAG_OPEN_REPARSE_POINT opens a symbolic link or junction itself,
// never its target, and the handle is refused unless it is a plain disk
// file: a reparse point, a directory, a pipe or a device is not read.
// Windows keeps named pipes out of ordinary directories, so nothing here
// can block the open. The share modes let other processes rename and
// delete the file, as they may on unix.
func openNoFollow(path string, create bool) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	disposition := uint32(windows.OPEN_EXISTING)
	if create {
		disposition = windows.OPEN_ALWAYS
	}
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	h, err := windows.CreateFile(name, windows.GENERIC_READ, share, nil, disposition,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err := checkHandle(h); err != nil {
		_ = windows.CloseHandle(h)
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// checkHandle refuses a handle that is not a plain disk file.
func checkHandle(h windows.Handle) error {
	if kind, err := windows.GetFileType(h); err != nil || kind != windows.FILE_TYPE_DISK {
		return errNotRegular
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return err
	}
	if info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		return fmt.Errorf("%w: it is a link or a directory", errNotRegular)
	}
	return nil
}

// tryLock takes an exclusive lock on f's first byte without waiting. It
// goes when the handle is closed, or when the process dies.
func tryLock(f *os.File) (bool, error) {
	err := onDescriptor(f, func(fd uintptr) error {
		return windows.LockFileEx(windows.Handle(fd),
			windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &windows.Overlapped{})
	})
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return false, nil
	}
	return err == nil, err
}

// checkPrivateDir only checks that path is a directory. Windows grants
// access by ACLs, not by mode bits and owners as unix does, and the
// default directory under %LocalAppData% is private to the user already;
// the unix checks have no counterpart that a mode test could make.
func checkPrivateDir(path string, info fs.FileInfo) error {
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	return nil
}
