package lease

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrLocked means another process (or another Store in this process) has
// the lease file open; test with errors.Is.
var ErrLocked = errors.New("lease file is in use")

// LockSuffix names the lock file next to the lease file: "<name>.lock".
// Kea 2.2 has no lease-file lock (its only guard is kea-lfc's ".pid"), so the
// name is ours.
//
// The lock is not taken on the lease file itself because the LFC renames
// that file to ".1" and opens a new one (docs/kea/memfile.md §7): a flock on the old
// inode would no longer guard the name. The lock file is never renamed or
// removed; after its flock is taken it holds the holder's pid for the error
// message of a second instance. flock dies with its process, so a crash
// leaves no obstacle, only a stale pid that the next holder overwrites.
const LockSuffix = ".lock"

// fileLock is an exclusive flock(2) on "<lease file>.lock".
type fileLock struct {
	path string
	f    *os.File
}

// lockLeaseFile takes the lock of the lease file at path without waiting.
// flock locks belong to the open file description, so a second Store in the
// same process conflicts too.
func lockLeaseFile(path string) (*fileLock, error) {
	lp := path + LockSuffix
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lease lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked by %s (another xdhcpd on the same lease-database name?)", ErrLocked, lp, lockHolder(lp))
		}
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write pid to %s: %w", lp, err)
	}
	if _, err := f.WriteAt(pid, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write pid to %s: %w", lp, err)
	}
	return &fileLock{path: lp, f: f}, nil
}

// lockHolder describes the process named in a held lock file.
func lockHolder(lp string) string {
	b, err := os.ReadFile(lp)
	if err != nil {
		return "a process whose pid cannot be read (" + err.Error() + ")"
	}
	s := strings.TrimSpace(string(b))
	if pid, err := strconv.Atoi(s); err == nil && pid > 0 {
		if pid == os.Getpid() {
			return "pid " + s + " (this process: the lease file is already open here)"
		}
		return "pid " + s
	}
	return "a process that has not written its pid yet"
}

// release empties the pid (so it names nobody) and drops the lock. The file
// stays: removing it would let a waiting opener lock an unlinked inode
// while a third one locks a new file of the same name.
func (l *fileLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	terr := l.f.Truncate(0)
	cerr := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	if err := errors.Join(terr, cerr); err != nil {
		return fmt.Errorf("release %s: %w", l.path, err)
	}
	return nil
}
