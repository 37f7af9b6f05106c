// Package hamodes reads config/testdata/ha-modes, the HA mode and role
// fixtures three packages check (config's loader, ha.Config.Validate, and
// real kea-dhcp4 2.2 in userspace/daemon): each file's first line is
// "// want: <Kea's HAConfig::validate text>" for a combination Kea 2.2
// refuses, or "// accepted"; the configuration follows.
package hamodes

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Fixture is one file.
type Fixture struct {
	Path string
	Want string // Kea's refusal text; "" = accepted
	Body []byte // the configuration (after the first line)
}

// Name is the file's base name (a subtest name).
func (f Fixture) Name() string { return filepath.Base(f.Path) }

// Load reads every fixture; a missing directory fails t.
func Load(t testing.TB) []Fixture {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(here), "..", "..", "config", "testdata", "ha-modes")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ha-modes fixtures in %s: %v", dir, err)
	}
	out := make([]Fixture, 0, len(files))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		first, body, _ := strings.Cut(string(b), "\n")
		f := Fixture{Path: p, Want: strings.TrimPrefix(first, "// want: "), Body: []byte(body)}
		if first == "// accepted" {
			f.Want = ""
		}
		out = append(out, f)
	}
	return out
}
