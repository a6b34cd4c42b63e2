package storage

import (
	"os"
	"syscall"
)

// datasync flushes f's data (and the metadata needed to read it back, such as its size) to stable
// storage; fdatasync skips the timestamps fsync would also write.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
