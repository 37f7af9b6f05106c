// Package logging maps Kea's "loggers" configuration onto zerolog: outputs
// stdout, stderr, a file (with Kea's maxsize/maxver rotation) and syslog;
// severities and debuglevel; and Kea's logger names onto xdhcp components.
//
// A component asks for its logger by Kea name (e.g. "kea-dhcp4.ha-hooks");
// a name without its own entry inherits from the nearest configured
// ancestor, as in Kea.
package logging

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"gopkg.in/natefinch/lumberjack.v2"
)

// Kea logger names used by xdhcp components.
const (
	Root      = "kea-dhcp4"                  // daemon lifecycle, configuration
	Packets   = "kea-dhcp4.packets"          // per-packet I/O (DEBUG only)
	Leases    = "kea-dhcp4.leases"           // engine decisions (DEBUG per packet)
	Alloc     = "kea-dhcp4.alloc-engine"     // allocation
	Dhcpsrv   = "kea-dhcp4.dhcpsrv"          // lease store, memfile, LFC
	HA        = "kea-dhcp4.ha-hooks"         // high availability
	Commands  = "kea-dhcp4.commands"         // control channel
	LeaseCmds = "kea-dhcp4.lease-cmds-hooks" // lease commands
	Eval      = "kea-dhcp4.eval"             // classification
	XDP       = "kea-dhcp4.xdp"              // XDP/AF_XDP data path (xdhcp's own)
)

// Output is one output_options entry.
type Output struct {
	Output  string // stdout, stderr, syslog, syslog:NAME, or a file path
	MaxSize uint64 // bytes before rotation (file only); 0 = never
	MaxVer  int    // rotated files kept
}

// Entry is one configured logger.
type Entry struct {
	Name       string
	Severity   string // FATAL, ERROR, WARN, INFO, DEBUG, NONE
	DebugLevel int
	Outputs    []Output
}

// Set is a configured family of loggers.
type Set struct {
	mu      sync.Mutex
	entries map[string]zerolog.Logger
	closers []io.Closer
	def     zerolog.Logger
}

// Level converts a Kea severity to a zerolog level.
func Level(severity string) (zerolog.Level, error) {
	switch strings.ToUpper(severity) {
	case "FATAL":
		return zerolog.FatalLevel, nil
	case "ERROR":
		return zerolog.ErrorLevel, nil
	case "WARN":
		return zerolog.WarnLevel, nil
	case "INFO", "":
		return zerolog.InfoLevel, nil
	case "DEBUG":
		return zerolog.DebugLevel, nil
	case "NONE":
		return zerolog.Disabled, nil
	}
	return zerolog.NoLevel, fmt.Errorf("unknown severity %q", severity)
}

// New builds the loggers. base writes where no entry applies (Kea's default:
// INFO to stdout); pass zerolog.New(os.Stdout) for that.
func New(entries []Entry, base zerolog.Logger) (*Set, error) {
	s := &Set{entries: make(map[string]zerolog.Logger), def: base}
	for _, e := range entries {
		lvl, err := Level(e.Severity)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("logger %s: %w", e.Name, err)
		}
		var ws []io.Writer
		for _, o := range e.Outputs {
			w, c, err := open(o)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("logger %s: %w", e.Name, err)
			}
			if c != nil {
				s.closers = append(s.closers, c)
			}
			ws = append(ws, w)
		}
		var w io.Writer = os.Stdout
		if len(ws) == 1 {
			w = ws[0]
		} else if len(ws) > 1 {
			w = zerolog.MultiLevelWriter(ws...)
		}
		s.entries[e.Name] = zerolog.New(w).Level(lvl).With().Timestamp().Logger()
	}
	return s, nil
}

// open creates the writer for one output.
func open(o Output) (io.Writer, io.Closer, error) {
	switch {
	case o.Output == "stdout":
		return os.Stdout, nil, nil
	case o.Output == "stderr":
		return os.Stderr, nil, nil
	case o.Output == "syslog" || strings.HasPrefix(o.Output, "syslog:"):
		tag := strings.TrimPrefix(strings.TrimPrefix(o.Output, "syslog"), ":")
		if tag == "" {
			tag = "kea-dhcp4"
		}
		w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, tag)
		if err != nil {
			return nil, nil, fmt.Errorf("open syslog: %w", err)
		}
		return zerolog.SyslogLevelWriter(w), w, nil
	}
	f, err := os.OpenFile(o.Output, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open log file: %w", err)
	}
	f.Close()
	// lumberjack counts in MiB; Kea's maxsize is bytes (minimum 204800).
	mb := int((o.MaxSize + (1<<20 - 1)) >> 20)
	if o.MaxSize == 0 {
		mb = 1 << 20 // effectively never
	}
	lj := &lumberjack.Logger{Filename: o.Output, MaxSize: mb, MaxBackups: o.MaxVer}
	return lj, lj, nil
}

// Get returns the logger for a Kea logger name, tagged with that name
// ("logger"): the entry for the name itself, else for its nearest ancestor
// ("kea-dhcp4.ha-hooks" → "kea-dhcp4"), else the base logger.
//
// Get does not set the "component" key: a package tags the logger it is
// given once (`.With().Str("component", "ha")`), so each line carries
// exactly one. A caller that logs with the logger itself uses For.
func (s *Set) Get(name string) zerolog.Logger {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := name; ; {
		if l, ok := s.entries[n]; ok {
			return l.With().Str("logger", name).Logger()
		}
		i := strings.LastIndexByte(n, '.')
		if i < 0 {
			break
		}
		n = n[:i]
	}
	return s.def.With().Str("logger", name).Logger()
}

// For is Get with the "component" key set, for a caller that writes its
// own lines rather than handing the logger to a package that tags it.
func (s *Set) For(name, component string) zerolog.Logger {
	return s.Get(name).With().Str("component", component).Logger()
}

// Close flushes and closes file and syslog outputs.
func (s *Set) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.closers = nil
	return first
}
