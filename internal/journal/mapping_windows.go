//go:build windows

package journal

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

const mappingAvailable = true

// mapFile maps size bytes of f read-write through a file mapping object;
// the view is backed by the file, so what is stored survives the process.
func mapFile(f *os.File, size int) ([]byte, func() error, error) {
	h, err := windows.CreateFileMapping(windows.Handle(f.Fd()), nil, windows.PAGE_READWRITE, uint32(uint64(size)>>32), uint32(size), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping %s: %w", f.Name(), err)
	}
	addr, err := windows.MapViewOfFile(h, windows.FILE_MAP_WRITE, 0, 0, uintptr(size))
	if err != nil {
		_ = windows.CloseHandle(h)
		return nil, nil, fmt.Errorf("mapping %s: %w", f.Name(), err)
	}
	// The view is memory the Go heap does not manage; reading the address
	// through a pointer to it keeps vet's uintptr rule satisfied.
	mem := unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), size)
	return mem, func() error {
		err := windows.UnmapViewOfFile(addr)
		if cerr := windows.CloseHandle(h); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// createFlags make a new journal file; O_EXCL refuses an existing name,
// planted link or not.
const createFlags = os.O_RDWR | os.O_CREATE | os.O_EXCL
