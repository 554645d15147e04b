//go:build unix

package journal

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mappingAvailable reports whether this platform can share a file mapping.
const mappingAvailable = true

// mapFile maps size bytes of f read-write and shared: stores into the
// mapping are stores into the kernel's page cache of the file, which
// outlives the process however it ends.
func mapFile(f *os.File, size int) ([]byte, func() error, error) {
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping %s: %w", f.Name(), err)
	}
	return mem, func() error { return unix.Munmap(mem) }, nil
}

// createFlags make a new journal file without following a planted link.
const createFlags = os.O_RDWR | os.O_CREATE | os.O_EXCL | unix.O_NOFOLLOW
