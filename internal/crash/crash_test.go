package crash

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// childEnv selects what the re-executed test binary does (see TestMain).
const childEnv = "XDHCP_CRASH_TEST_CHILD"

// TestMain turns the test binary into the child process when childEnv is
// set: it runs a goroutine under the policy and reports through files in
// $XDHCP_CRASH_TEST_DIR.
func TestMain(m *testing.M) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		os.Exit(m.Run())
	}
	dir := os.Getenv("XDHCP_CRASH_TEST_DIR")
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		os.Exit(10)
	}
	log := zerolog.New(logf).With().Timestamp().Logger()
	SetFlush(func() { _ = os.WriteFile(filepath.Join(dir, "flushed"), []byte("yes"), 0o600); logf.Sync() })
	done := make(chan struct{})
	switch mode {
	case "panic":
		Go(log, "worker", func() { panicHere() })
	case "two-panics":
		for range 2 {
			Go(log, "worker", func() { panicHere() })
		}
	case "no-panic":
		Go(log, "worker", func() { close(done) })
	}
	select {
	case <-done:
		os.Exit(0)
	case <-time.After(10 * time.Second):
		os.Exit(11)
	}
}

// panicHere is a named frame the stack in the log must show.
func panicHere() { panic("boom in the worker") }

// runChild runs the test binary in mode and returns its exit code, the
// log lines it wrote and whether it flushed.
func runChild(t *testing.T, mode string) (code int, lines []map[string]any, flushed bool) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "XDHCP_CRASH_TEST_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run child: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatalf("child log: %v", err)
	}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("child log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	_, err = os.Stat(filepath.Join(dir, "flushed"))
	if code == 2 && !strings.Contains(stderr.String(), "panicHere") {
		t.Errorf("stderr lacks the stack:\n%s", stderr.String())
	}
	return code, lines, err == nil
}

// TestGoPanicExits: a panic in a goroutine started with Go is logged once
// at error level with its value and stack, the flush runs, and the process
// exits 2.
func TestGoPanicExits(t *testing.T) {
	for _, mode := range []string{"panic", "two-panics"} {
		t.Run(mode, func(t *testing.T) {
			code, lines, flushed := runChild(t, mode)
			if code != ExitCode {
				t.Fatalf("exit code %d, want %d", code, ExitCode)
			}
			if !flushed {
				t.Error("flush function did not run before exit")
			}
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want exactly 1 (the second panic must not log): %v", len(lines), lines)
			}
			l := lines[0]
			if l["level"] != "error" || l["goroutine"] != "worker" || l["panic"] != "boom in the worker" {
				t.Errorf("log line %v: want level error, goroutine worker, the panic value", l)
			}
			if st, _ := l["stack"].(string); !strings.Contains(st, "crash.panicHere") {
				t.Errorf("logged stack does not show the panicking frame:\n%s", st)
			}
		})
	}
}

// TestGoNoPanic: without a panic the goroutine runs to its end and nothing
// is logged.
func TestGoNoPanic(t *testing.T) {
	code, lines, flushed := runChild(t, "no-panic")
	if code != 0 || len(lines) != 0 || flushed {
		t.Fatalf("exit %d, %d log lines, flushed %v; want 0, 0, false", code, len(lines), flushed)
	}
}
