package logging

import (
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
	leases, ha, root := s.Get(Leases), s.Get(HA), s.Get(Root)
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
	if !strings.Contains(string(rootOut), "warn-kept") || !strings.Contains(string(rootOut), `"component":"leases"`) {
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
