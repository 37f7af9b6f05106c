package lease

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/crash"
)

// lfcMaxRowErrors is kea-lfc's limit on bad rows per input file.
const lfcMaxRowErrors = 100

// RunLFC runs a lease file cleanup now and returns when it has finished
// (docs/kea/memfile.md §7). Appends continue meanwhile. ErrLFCRunning if one is
// already running.
func (s *Store) RunLFC() error { return s.lfc(true) }

func (s *Store) lfcLoop(every time.Duration) {
	defer s.lfcWG.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.lfc(false); err != nil && !errors.Is(err, ErrLFCRunning) {
				s.log.Error().Err(err).Msg("lease file cleanup")
			}
		}
	}
}

// lfc switches the current file to .1 (under the writer lock, so no append
// is lost) and then compacts .2+.1 into .2, waiting for it if wait.
func (s *Store) lfc(wait bool) error {
	if !s.opts.Persist {
		return nil
	}
	if !s.lfcMu.TryLock() {
		return ErrLFCRunning
	}
	if err := s.rotateCurrent(); err != nil {
		s.lfcMu.Unlock()
		return err
	}
	run := func() error {
		defer s.lfcMu.Unlock()
		start := time.Now()
		n, err := cleanup(s.opts.Path, s.log)
		if err != nil {
			return err
		}
		s.log.Info().Int("leases", n).Float64("seconds", time.Since(start).Seconds()).Msg("lease file cleanup done")
		return nil
	}
	if wait {
		return run()
	}
	s.lfcWG.Add(1)
	crash.Go(s.log, "lease file cleanup", func() {
		defer s.lfcWG.Done()
		if err := run(); err != nil {
			s.log.Error().Err(err).Msg("lease file cleanup")
		}
	})
	return nil
}

// rotateCurrent is the server's step 1: if neither .completed nor .1 exists,
// the current file becomes .1 and a fresh current file is opened.
func (s *Store) rotateCurrent() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return ErrClosed
	}
	p := s.opts.Path
	if exists(p+".completed") || exists(p+".1") {
		return nil // a previous cleanup is unfinished: just finish it
	}
	if s.file != nil {
		if err := s.file.close(); err != nil {
			s.log.Warn().Err(err).Msg("close lease file before rotation")
		}
	}
	s.file = nil
	if err := os.Rename(p, p+".1"); err != nil {
		lf, oerr := openAppend(p)
		s.file = lf
		return errors.Join(fmt.Errorf("lfc: rename lease file: %w", err), oerr)
	}
	lf, err := openAppend(p)
	if err != nil {
		if rerr := os.Rename(p+".1", p); rerr == nil {
			lf, err = openAppend(p)
		}
		if err != nil {
			return fmt.Errorf("lfc: reopen lease file: %w", err)
		}
	}
	s.file = lf
	return nil
}

// cleanup is kea-lfc's part: compact .2+.1 into .completed, then rotate
// (delete .2 and .1, .completed → .2), holding the .pid file throughout. It
// returns the number of leases written.
func cleanup(path string, log zerolog.Logger) (int, error) {
	pid := path + ".pid"
	if err := checkPIDFile(pid); err != nil {
		return 0, err
	}
	if err := os.WriteFile(pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return 0, fmt.Errorf("lfc: write pid file: %w", err)
	}
	defer os.Remove(pid)
	n := -1
	if !exists(path + ".completed") {
		ld := newLoader(lfcMaxRowErrors, log)
		for _, f := range []string{path + ".2", path + ".1"} {
			if _, err := ld.loadFile(f); err != nil {
				return 0, fmt.Errorf("lfc: %w", err)
			}
		}
		if err := writeSnapshot(path+".output", ld.table()); err != nil {
			return 0, err
		}
		if err := os.Rename(path+".output", path+".completed"); err != nil {
			return 0, fmt.Errorf("lfc: %w", err)
		}
		n = ld.table().len()
	}
	for _, f := range []string{path + ".2", path + ".1"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("lfc: %w", err)
		}
	}
	if err := os.Rename(path+".completed", path+".2"); err != nil {
		return 0, fmt.Errorf("lfc: %w", err)
	}
	return n, nil
}

// writeSnapshot writes the header and one row per lease in address order,
// and syncs the file.
func writeSnapshot(path string, t *table) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("lfc: create output: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("lfc: close output: %w", cerr)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.WriteString(Header + "\n"); err != nil {
		return fmt.Errorf("lfc: write output: %w", err)
	}
	var (
		buf, ids []byte
		l        Lease
		werr     error
	)
	t.ascend(func(_ uint32, r *record) {
		if werr != nil {
			return
		}
		ids = r.fill(&l, t.parts(r), ids)
		buf = AppendRow(buf[:0], &l)
		_, werr = w.Write(buf)
	})
	if werr != nil {
		return fmt.Errorf("lfc: write output: %w", werr)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("lfc: write output: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("lfc: sync output: %w", err)
	}
	return nil
}

// checkPIDFile fails if path names another live process (a kea-lfc or
// another server's cleanup working on the same files).
func checkPIDFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil // no pid file: nobody is running
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return nil
	}
	if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("%w: %s names live process %d", ErrLFCRunning, path, pid)
	}
	return nil
}
