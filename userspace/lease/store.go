package lease

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/crash"
)

// Errors returned by the Store; test with errors.Is.
var (
	ErrExists           = errors.New("lease already exists")
	ErrNotFound         = errors.New("lease not found")
	ErrInvalid          = errors.New("invalid lease")
	ErrClosed           = errors.New("lease store closed")
	ErrBadHeader        = errors.New("bad lease file header")
	ErrTooManyRowErrors = errors.New("too many lease file row errors")
	ErrLFCRunning       = errors.New("lease file cleanup is in progress")
	// ErrConflict is returned by stores shared with other servers (the
	// PostgreSQL backend) when a conditional write finds the lease changed
	// since it was read.
	ErrConflict = errors.New("lease changed in the database since it was read")
)

// Options configures a Store (lease-database, docs/kea/memfile.md §12).
type Options struct {
	Path         string           // lease-database.name
	Persist      bool             // false: memory only, no file at all
	MaxRowErrors int              // per file; 0 = unlimited
	LFCInterval  time.Duration    // 0 = never (an LFC still runs after loading a file that needed conversion)
	OnChange     func(Change)     // after every committed change; see Store
	Now          func() time.Time // clock; nil = time.Now
	Logger       zerolog.Logger   // zero value = no logging
}

// Store is the lease set: in memory with indexes, and (when Persist) in a
// Kea 2.2 memfile that every mutation appends to before it becomes visible.
//
// It is safe for concurrent use. Readers share a read lock and never wait for
// file writes; mutations are serialised by a writer lock that also covers the
// file append and the OnChange call, so OnChange sees changes in commit order.
// OnChange runs without the read lock held: it may call the Store's read
// methods but must not call its mutating methods (that would deadlock).
type Store struct {
	opts Options
	log  zerolog.Logger

	wmu    sync.Mutex // serialises mutations, appends and the LFC file switch
	file   *leaseFile // nil when !Persist
	lock   *fileLock  // "<Path>.lock", held from Open to Close; nil when !Persist
	closed bool
	buf    []byte

	mu  sync.RWMutex // guards idx
	idx *memIndex

	lfcMu   sync.Mutex // held while an LFC runs
	lfcWG   sync.WaitGroup
	stop    chan struct{}
	stopped sync.Once
}

// Open loads the lease files (if Persist) with Kea's rules and opens the
// current file for appending. With Persist it first locks "<Path>.lock"
// (see LockSuffix): while one Store has the file open, another Open of the
// same path, in this process or another, fails with ErrLocked naming the
// holder's pid.
func Open(opts Options) (*Store, *LoadReport, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{opts: opts, log: opts.Logger.With().Str("component", "lease").Logger(), stop: make(chan struct{})}
	if !opts.Persist {
		s.idx = newMemIndex()
		return s, &LoadReport{}, nil
	}
	if opts.Path == "" {
		return nil, nil, fmt.Errorf("open lease store: %w: empty path", ErrInvalid)
	}
	lock, err := lockLeaseFile(opts.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("open lease store: %w", err)
	}
	s.lock = lock
	rep, err := s.load()
	if err != nil {
		if rerr := lock.release(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, nil, err
	}
	if rep.NeedsConversion {
		if err := s.lfc(false); err != nil {
			s.log.Error().Err(err).Msg("lease file conversion")
		}
	}
	if opts.LFCInterval > 0 {
		s.lfcWG.Add(1)
		crash.Go(s.log, "lease file cleanup timer", func() { s.lfcLoop(opts.LFCInterval) })
	}
	return s, rep, nil
}

// load reads the lease files into s and opens the current one for
// appending; the caller holds the lock.
func (s *Store) load() (*LoadReport, error) {
	opts := s.opts
	if err := checkPIDFile(opts.Path + ".pid"); err != nil {
		return nil, err
	}
	ld := newLoader(opts.MaxRowErrors, s.log)
	var files []string
	if exists(opts.Path + ".completed") {
		files = []string{opts.Path + ".completed"}
	} else {
		files = []string{opts.Path + ".2", opts.Path + ".1"}
	}
	for _, f := range files {
		if _, err := ld.loadFile(f); err != nil {
			return nil, fmt.Errorf("load leases: %w", err)
		}
	}
	t, err := ld.loadFile(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("load leases: %w", err)
	}
	if t.torn && !t.empty {
		if err := repairTail(opts.Path, t); err != nil {
			return nil, err
		}
		ld.report.Repaired = true
		s.log.Warn().Str("file", opts.Path).Bool("kept", t.tornOK).Msg("repaired torn last line of the lease file")
	}
	if s.file, err = openAppend(opts.Path); err != nil {
		return nil, err
	}
	s.idx = buildMemIndex(ld.table())
	rep := ld.report
	rep.Leases = s.idx.t.len()
	s.log.Info().Int("leases", rep.Leases).Int("rows", rep.Rows).Int("row_errors", rep.RowErrors).Msg("leases loaded")
	return rep, nil
}

// Close stops the LFC timer, waits for a running LFC and closes the file.
func (s *Store) Close() error {
	s.stopped.Do(func() { close(s.stop) })
	s.lfcWG.Wait()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.file != nil {
		if cerr := s.file.close(); cerr != nil {
			err = fmt.Errorf("close lease file: %w", cerr)
		}
	}
	if rerr := s.lock.release(); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return err
}

// normalize copies l, checks it and brings the user context into Kea's form.
func normalize(l *Lease) (*Lease, error) {
	if l == nil {
		return nil, fmt.Errorf("%w: nil lease", ErrInvalid)
	}
	c := l.Clone()
	if len(c.HWAddr) == 0 {
		c.HWAddr = nil
	}
	if len(c.ClientID) == 0 {
		c.ClientID = nil
	}
	if err := validate(c); err != nil {
		return nil, err
	}
	if c.ValidLifetime == 0 {
		return nil, fmt.Errorf("%w: lease %v has valid lifetime 0 (that row means deletion)", ErrInvalid, c.Addr)
	}
	if strings.ContainsAny(c.Hostname, "\n\r") {
		return nil, fmt.Errorf("%w: hostname of %v contains a line break", ErrInvalid, c.Addr)
	}
	uc, err := FormatUserContext(c.UserContext)
	if err != nil {
		return nil, fmt.Errorf("%w: lease %v: %w", ErrInvalid, c.Addr, err)
	}
	c.UserContext = uc
	return c, nil
}

type putMode int

const (
	modeAdd putMode = iota
	modeUpdate
	modeUpsert
)

func (s *Store) put(l *Lease, mode putMode) (added bool, err error) {
	c, err := normalize(l)
	if err != nil {
		return false, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	exists := s.idx.has(addrKey(c.Addr)) // only wmu holders change idx
	switch {
	case mode == modeAdd && exists:
		return false, fmt.Errorf("add lease %v: %w", c.Addr, ErrExists)
	case mode == modeUpdate && !exists:
		return false, fmt.Errorf("update lease %v: %w", c.Addr, ErrNotFound)
	}
	if err := s.appendRow(c); err != nil {
		return false, err
	}
	var old *Lease
	if exists && s.opts.OnChange != nil {
		old = s.idx.get(addrKey(c.Addr))
	}
	s.mu.Lock()
	s.idx.put(c) // copies c into the table
	s.mu.Unlock()
	s.notify(old, c)
	return !exists, nil
}

// Add stores a new lease; ErrExists if the address is leased.
func (s *Store) Add(l *Lease) error {
	_, err := s.put(l, modeAdd)
	return err
}

// Update replaces the lease at l.Addr; ErrNotFound if there is none.
func (s *Store) Update(l *Lease) error {
	_, err := s.put(l, modeUpdate)
	return err
}

// Put adds or replaces the lease at l.Addr and reports whether it was added.
func (s *Store) Put(l *Lease) (added bool, err error) { return s.put(l, modeUpsert) }

// Delete removes the lease at addr, appending it with valid lifetime 0 (so
// its expire column is its cltt, as Kea writes it). It returns the removed
// lease; ErrNotFound if there is none.
func (s *Store) Delete(addr netip.Addr) (*Lease, error) {
	if !addr.Is4() {
		return nil, fmt.Errorf("delete lease %v: %w", addr, ErrNotFound)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	old := s.idx.get(addrKey(addr))
	if old == nil {
		return nil, fmt.Errorf("delete lease %v: %w", addr, ErrNotFound)
	}
	row := *old
	row.ValidLifetime = 0
	if err := s.appendRow(&row); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.idx.del(addrKey(addr))
	s.mu.Unlock()
	if s.opts.OnChange != nil {
		s.notify(old.Clone(), nil)
	}
	return old, nil
}

// appendRow writes one row; the caller holds wmu.
func (s *Store) appendRow(l *Lease) error {
	if s.file == nil {
		if s.opts.Persist {
			return fmt.Errorf("append lease %v: %w", l.Addr, errors.New("lease file is not open"))
		}
		return nil
	}
	s.buf = AppendRow(s.buf[:0], l)
	return s.file.append(s.buf)
}

// notify hands old and new to OnChange; they must be the callee's to keep
// (nothing else refers to them).
func (s *Store) notify(old, new *Lease) {
	if s.opts.OnChange != nil {
		s.opts.OnChange(Change{Old: old, New: new})
	}
}
