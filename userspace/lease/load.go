package lease

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
)

// maxReportedErrors bounds LoadReport.Errors; RowErrors still counts all.
const maxReportedErrors = 100

// LoadReport describes what Open (or an LFC pass) read.
type LoadReport struct {
	Files           []string   // files read, in load order
	Rows            int        // data rows read (header and blank lines excluded)
	Leases          int        // leases in memory after loading
	RowErrors       int        // rows skipped because they could not be parsed
	Errors          []RowError // the first 100 row errors
	NeedsConversion bool       // a file had an older or newer schema (an LFC rewrites it)
	Repaired        bool       // the current file ended in a torn line and was fixed
}

// RowError is one skipped row.
type RowError struct {
	File   string
	Line   int // 1-based, the header is line 1
	Reason string
}

// schemaMode is how a file's header relates to the current schema.
type schemaMode int

const (
	schemaCurrent   schemaMode = iota
	schemaUpgrade              // fewer columns: pad with defaults
	schemaDowngrade            // more columns (2.4+ pool_id): drop extras
)

// loader applies lease files to one lease set with Kea's rules (docs/kea/memfile.md §5).
type loader struct {
	t         *table // see table()
	report    *LoadReport
	maxErrors int // per file; 0 = unlimited
	log       zerolog.Logger
	p         rowParser // the fast path for current-schema rows
	blob      []byte    // scratch for building blobs
}

func newLoader(maxErrors int, log zerolog.Logger) *loader {
	return &loader{report: &LoadReport{}, maxErrors: maxErrors, log: log}
}

// table returns the lease set loaded so far.
func (ld *loader) table() *table {
	if ld.t == nil {
		ld.t = newTable()
	}
	return ld.t
}

// tail says how the file ended, so the current file can be repaired.
type tail struct {
	torn     bool  // the last line has no "\n"
	tornOK   bool  // ... but it parsed (or is the header): append "\n"
	tornFrom int64 // offset where the torn line starts: truncate there otherwise
	empty    bool  // the file has no header at all
}

// loadFile reads one lease file. A missing file is not an error.
func (ld *loader) loadFile(path string) (tail, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return tail{empty: true}, nil
	}
	if err != nil {
		return tail{}, fmt.Errorf("open lease file: %w", err)
	}
	defer f.Close()
	ld.report.Files = append(ld.report.Files, path)
	return ld.read(path, f)
}

func (ld *loader) read(path string, r io.Reader) (tail, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		t       tail
		off     int64
		lineNo  int
		mode    schemaMode
		hdrCols int
		errs    int
		cols    = make([]string, 0, 16)
		long    []byte
		set     = ld.table()
	)
	for {
		start := off
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return t, fmt.Errorf("read %s: %w", path, err)
		}
		off += int64(len(line))
		if len(line) == 0 {
			break // EOF
		}
		lineNo++
		terminated := line[len(line)-1] == '\n'
		if terminated {
			line = line[:len(line)-1] // still in the read buffer: parsed in place
		} else {
			t.torn, t.tornFrom = true, start
		}
		if lineNo == 1 {
			if mode, hdrCols, err = checkHeader(string(line)); err != nil {
				return t, fmt.Errorf("%s line 1: %w", path, err)
			}
			if mode != schemaCurrent {
				ld.report.NeedsConversion = true
				ld.log.Warn().Str("file", path).Int("columns", hdrCols).Msg("lease file schema differs from 2.1, it will be converted")
			}
			t.tornOK = true
			if !terminated {
				break
			}
			continue
		}
		if len(line) == 0 {
			if !terminated {
				break
			}
			continue
		}
		ld.report.Rows++
		var perr error
		if mode == schemaCurrent && ld.p.parse(line) {
			ld.applyParsed(set)
		} else {
			cols = splitCols(cols[:0], string(line))
			var l *Lease
			if l, perr = parseVersioned(cols, mode, hdrCols); perr == nil {
				ld.apply(set, l)
			}
		}
		if perr == nil {
			t.tornOK = true
		} else {
			t.tornOK = false
			if !terminated {
				perr = fmt.Errorf("torn last line: %w", perr)
			}
			errs++
			ld.rowError(path, lineNo, perr)
			if ld.maxErrors > 0 && errs > ld.maxErrors {
				return t, fmt.Errorf("%s line %d: %w: %d row errors exceed max-row-errors %d", path, lineNo, ErrTooManyRowErrors, errs, ld.maxErrors)
			}
		}
		if !terminated {
			break
		}
	}
	if lineNo == 0 {
		t.empty = true
	}
	return t, nil
}

func (ld *loader) rowError(path string, line int, err error) {
	ld.report.RowErrors++
	if len(ld.report.Errors) < maxReportedErrors {
		ld.report.Errors = append(ld.report.Errors, RowError{File: path, Line: line, Reason: err.Error()})
		ld.log.Warn().Str("file", path).Int("line", line).Err(err).Msg("skipping bad lease row")
	}
}

// apply is Kea's rule: the last row for an address wins, valid 0 deletes.
func (ld *loader) apply(t *table, l *Lease) {
	if l.ValidLifetime == 0 {
		t.remove(addrKey(l.Addr))
		return
	}
	t.put(l)
}

// applyParsed is apply for the row in ld.p.
func (ld *loader) applyParsed(t *table) {
	p := &ld.p
	k := p.rec.addr
	if p.rec.valid == 0 {
		t.remove(k)
		return
	}
	_, r, ok := t.lookup(k)
	if !ok {
		_, r = t.insert(k)
	}
	blob := r.blob
	*r = p.rec
	r.blob = blob
	if !p.needsBlob() {
		t.setBlob(r, nil)
		return
	}
	ld.blob = appendBlob(ld.blob[:0], p.host, p.uc, p.cid)
	t.setBlob(r, ld.blob)
}

func splitCols(dst []string, s string) []string {
	for {
		i := strings.IndexByte(s, ',')
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i+1:]
	}
}

// checkHeader compares a header with the schema by position.
func checkHeader(line string) (schemaMode, int, error) {
	names := strings.Split(line, ",")
	if len(names) < minColumns {
		return 0, 0, fmt.Errorf("%w: header has %d columns, need at least %d: %q", ErrBadHeader, len(names), minColumns, line)
	}
	for i := 0; i < len(names) && i < len(Columns); i++ {
		if names[i] != Columns[i] {
			return 0, 0, fmt.Errorf("%w: column %d is %q, expected %q", ErrBadHeader, i+1, names[i], Columns[i])
		}
	}
	switch {
	case len(names) < len(Columns):
		return schemaUpgrade, len(names), nil
	case len(names) > len(Columns):
		return schemaDowngrade, len(names), nil
	}
	return schemaCurrent, len(names), nil
}

// columnDefaults are the values an upgraded row gets for missing columns.
var columnDefaults = []string{9: "0", 10: ""}

// parseVersioned brings a row to the current schema, then parses it.
func parseVersioned(cols []string, mode schemaMode, hdrCols int) (*Lease, error) {
	n := len(cols)
	switch mode {
	case schemaUpgrade:
		if n < hdrCols || n > len(Columns) {
			return nil, fmt.Errorf("row has %d columns, header has %d", n, hdrCols)
		}
		for i := n; i < len(Columns); i++ {
			cols = append(cols, columnDefaults[i])
		}
	case schemaDowngrade:
		if n < len(Columns) || n > hdrCols {
			return nil, fmt.Errorf("row has %d columns, header has %d", n, hdrCols)
		}
		cols = cols[:len(Columns)]
	default:
		if n != len(Columns) {
			return nil, fmt.Errorf("row has %d columns, expected %d", n, len(Columns))
		}
	}
	return ParseRow(cols)
}
