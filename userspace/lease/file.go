package lease

import (
	"errors"
	"fmt"
	"os"
)

// leaseFile is the current lease file, open for appending.
type leaseFile struct {
	path string
	f    *os.File
	size int64 // bytes known to be good; a failed append truncates back to it
}

// openAppend opens (creating if needed) the current lease file and writes
// the header into an empty one.
func openAppend(path string) (*leaseFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lease file for append: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat lease file: %w", err)
	}
	lf := &leaseFile{path: path, f: f, size: st.Size()}
	if lf.size == 0 {
		if err := lf.append([]byte(Header + "\n")); err != nil {
			f.Close()
			return nil, err
		}
	}
	return lf, nil
}

// append writes b with one write(2). On failure the file is truncated back
// so that the next append starts on a fresh line.
func (lf *leaseFile) append(b []byte) error {
	n, err := lf.f.Write(b)
	if err == nil && n == len(b) {
		lf.size += int64(n)
		return nil
	}
	if err == nil {
		err = errors.New("short write")
	}
	if terr := lf.f.Truncate(lf.size); terr != nil {
		err = errors.Join(err, fmt.Errorf("truncate after failed append: %w", terr))
	}
	return fmt.Errorf("append to lease file %s: %w", lf.path, err)
}

func (lf *leaseFile) close() error { return lf.f.Close() }

// repairTail fixes a torn last line found by the loader: a line that parsed
// gets its missing "\n"; garbage is cut off.
func repairTail(path string, t tail) error {
	if t.tornOK {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("repair lease file: %w", err)
		}
		_, err = f.Write([]byte{'\n'})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("repair lease file: %w", err)
		}
		return nil
	}
	if err := os.Truncate(path, t.tornFrom); err != nil {
		return fmt.Errorf("repair lease file: %w", err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
