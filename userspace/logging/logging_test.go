package logging

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestLevels(t *testing.T) {
	for sev, want := range map[string]zerolog.Level{
		"FATAL": zerolog.FatalLevel, "ERROR": zerolog.ErrorLevel, "WARN": zerolog.WarnLevel,
		"INFO": zerolog.InfoLevel, "DEBUG": zerolog.DebugLevel, "NONE": zerolog.Disabled,
	} {
		if got, err := Level(sev); err != nil || got != want {
			t.Errorf("%s: %v %v", sev, got, err)
		}
	}
	if _, err := Level("LOUD"); err == nil {
		t.Error("unknown severity accepted")
	}
}

func TestInheritanceAndFileOutput(t *testing.T) {
	dir := t.TempDir()
	rootLog := filepath.Join(dir, "root.log")
	haLog := filepath.Join(dir, "ha.log")
	s, err := New([]Entry{
		{Name: Root, Severity: "WARN", Outputs: []Output{{Output: rootLog}}},
		{Name: HA, Severity: "DEBUG", DebugLevel: 99, Outputs: []Output{{Output: haLog, MaxSize: 10240000, MaxVer: 2}}},
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	leases, ha, root := s.For(Leases, "lease"), s.Get(HA).With().Str("component", "ha").Logger(), s.For(Root, "daemon")
	leases.Info().Msg("info-dropped") // inherits WARN from kea-dhcp4
	leases.Warn().Msg("warn-kept")    // written to root.log
	ha.Debug().Msg("ha-debug-kept")   // own entry at DEBUG
	root.Debug().Msg("root-debug-drop")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rootOut, _ := os.ReadFile(rootLog)
	haOut, _ := os.ReadFile(haLog)
	if strings.Contains(string(rootOut), "info-dropped") || strings.Contains(string(rootOut), "root-debug-drop") {
		t.Errorf("root log has messages below WARN: %s", rootOut)
	}
	if !strings.Contains(string(rootOut), "warn-kept") || !strings.Contains(string(rootOut), `"component":"lease"`) ||
		!strings.Contains(string(rootOut), `"logger":"kea-dhcp4.leases"`) {
		t.Errorf("root log misses the inherited warning: %s", rootOut)
	}
	if !strings.Contains(string(haOut), "ha-debug-kept") || !strings.Contains(string(haOut), `"logger":"kea-dhcp4.ha-hooks"`) {
		t.Errorf("ha log: %s", haOut)
	}
}

func TestBadOutput(t *testing.T) {
	if _, err := New([]Entry{{Name: Root, Outputs: []Output{{Output: "/nonexistent-dir/x.log"}}}}, zerolog.Nop()); err == nil {
		t.Fatal("unwritable log file accepted")
	}
}

// keyCount returns how often key occurs at the top level of one JSON
// object (encoding/json's maps would hide a duplicate).
func keyCount(t *testing.T, line []byte, key string) int {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(line))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", line)
	}
	n := 0
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if k == key {
			n++
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	return n
}

// TestOneComponentPerLine: a line carries exactly one "component" key,
// whether a package tags the logger Get gave it (as ha, lease, dhcp,
// pipeline, server and xdppath do) or the caller logs through For.
func TestOneComponentPerLine(t *testing.T) {
	var buf bytes.Buffer
	s, err := New(nil, zerolog.New(&buf))
	if err != nil {
		t.Fatal(err)
	}
	pkg := s.Get(HA).With().Str("component", "ha").Logger() // as ha.New does
	pkg.Warn().Msg("from a package")
	own := s.For(XDP, "daemon")
	own.Warn().Msg("from the caller")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("lines: %q", buf.String())
	}
	for i, want := range []string{`"component":"ha"`, `"component":"daemon"`} {
		if n := keyCount(t, lines[i], "component"); n != 1 {
			t.Errorf("line %d has %d component keys: %s", i, n, lines[i])
		}
		if n := keyCount(t, lines[i], "logger"); n != 1 {
			t.Errorf("line %d has %d logger keys: %s", i, n, lines[i])
		}
		if !bytes.Contains(lines[i], []byte(want)) {
			t.Errorf("line %d: want %s: %s", i, want, lines[i])
		}
	}
}
