//go:build !unix && !windows

package journal

import (
	"errors"
	"os"
)

const mappingAvailable = false

func mapFile(*os.File, int) ([]byte, func() error, error) {
	return nil, nil, errors.New("this platform cannot map a file into memory")
}

const createFlags = os.O_RDWR | os.O_CREATE | os.O_EXCL
