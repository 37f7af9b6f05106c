package lease

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzDir returns a directory removed after the test: on tmpfs
// (/dev/shm) when there is one, since every input costs an LFC's fsync,
// which on a busy disk slows fuzzing a hundredfold; otherwise t.TempDir.
func fuzzDir(t *testing.T) string {
	if d, err := os.MkdirTemp("/dev/shm", "xdhcp-lease-fuzz-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return t.TempDir()
}

// FuzzLoadFile feeds arbitrary contents to the whole lease-file loader
// (Open with persist, as the server starts). It must not panic; it either
// fails with a header or max-row-errors error that names the line, or
// loads a store whose report points only at lines of the file, and whose
// files, rewritten (torn tail repaired, schema converted, then an LFC
// compaction), load back to the same leases.
func FuzzLoadFile(f *testing.F) {
	hdr := Header + "\n"
	f.Add([]byte(hdr+strings.Join(labRows, "\n")+"\n"), uint8(0))
	f.Add([]byte(hdr+row1+row2+row1b+row1del), uint8(0))
	f.Add([]byte(hdr+"x\ny\n"+row1), uint8(1))
	f.Add([]byte(hdr+row1+row2[:20]), uint8(0)) // torn tail
	f.Add([]byte("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname\n192.0.2.1,0a:0b:0c:0d:0e:01,,600,1600,1,0,0,one\n"), uint8(0))
	f.Add([]byte(strings.TrimSuffix(Header, "\n")+",pool_id\n192.0.2.1,0a:0b:0c:0d:0e:01,,600,1600,1,0,0,one,0,,7\n"), uint8(0))
	f.Add([]byte(hdr+"192.0.2.9,,,86400,1795674521,1,0,0,,1,\n"), uint8(0))
	f.Add([]byte("address,hwaddr\n"), uint8(0))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, maxErrs uint8) {
		p := filepath.Join(fuzzDir(t), "kea-leases4.csv")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(data, []byte{'\n'})
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		s, rep, err := Open(Options{Path: p, Persist: true, MaxRowErrors: int(maxErrs % 4)})
		if err != nil {
			if !errors.Is(err, ErrBadHeader) && !errors.Is(err, ErrTooManyRowErrors) {
				t.Fatalf("Open failed with an unexpected error: %v", err)
			}
			if !strings.Contains(err.Error(), " line ") {
				t.Fatalf("Open error names no line: %v", err)
			}
			return
		}
		if rep.Leases != s.Count() {
			t.Fatalf("report says %d leases, store has %d", rep.Leases, s.Count())
		}
		for _, re := range rep.Errors {
			if re.Line < 2 || re.Line > lines || re.Reason == "" {
				t.Fatalf("row error at line %d of a %d-line file: %q", re.Line, lines, re.Reason)
			}
		}
		want := s.All()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		reopen := func(stage string) *Store {
			s, _, err := Open(Options{Path: p, Persist: true})
			if err != nil {
				t.Fatalf("reopen after %s: %v", stage, err)
			}
			sameLeases(t, s.All(), want)
			return s
		}
		s = reopen("load")
		switch err := s.RunLFC(); {
		case err == nil:
		case errors.Is(err, ErrLFCRunning):
			// a schema conversion's cleanup is running; Close waits for it
		case errors.Is(err, ErrTooManyRowErrors) && rep.RowErrors > lfcMaxRowErrors:
			// kea-lfc's own limit (100 bad rows), as in Kea
		default:
			t.Fatalf("LFC: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		reopen("LFC").Close()
	})
}
