// Package crash is the process-wide panic policy for long-lived
// goroutines: a panic outside a per-packet or per-command handler means a
// bug that may have left a lock held or a data structure half-changed, so
// the process logs the panic and its stack through the configured logger
// and exits with status 2 (as Go's runtime does for an unrecovered panic),
// and the service manager restarts it.
//
// Per-packet and per-command handlers recover their own panics, count them
// and carry on; they must not use this package.
package crash

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"github.com/rs/zerolog"
)

// ExitCode is the exit status after a panic: Go's own for an unrecovered
// panic.
const ExitCode = 2

var (
	mu    sync.Mutex // taken by the first panic and never released
	flush func()     // set by SetFlush; guarded by flushMu
	// flushMu guards flush only; mu stays held once a panic is exiting.
	flushMu sync.Mutex
)

// SetFlush installs what must run before the process exits on a panic,
// e.g. closing the log outputs so their buffers reach the disk. nil
// removes it.
func SetFlush(f func()) {
	flushMu.Lock()
	flush = f
	flushMu.Unlock()
}

// Go runs fn on a new goroutine named name; a panic in it is handled by
// Recover.
func Go(log zerolog.Logger, name string, fn func()) {
	go func() {
		defer Recover(log, name)
		fn()
	}()
}

// Recover must be deferred directly (defer crash.Recover(log, "name")) in
// the function a long-lived goroutine runs. If the goroutine panics it
// logs the panic value and the goroutine's stack at error level, runs the
// flush function and exits with ExitCode. Deferred calls run in the usual
// order until Recover's turn, as they would before the runtime's own
// crash; those registered before Recover in the same function never run.
// Defer Recover last where an earlier deferred call could block on what
// the panic left behind (a lock, a wait group).
func Recover(log zerolog.Logger, name string) {
	r := recover()
	if r == nil {
		return
	}
	die(log, name, r, debug.Stack())
}

// die logs, flushes and exits. A second goroutine panicking meanwhile
// blocks here until the first has exited the process.
func die(log zerolog.Logger, name string, r any, stack []byte) {
	mu.Lock()
	log.Error().Str("goroutine", name).Str("panic", fmt.Sprint(r)).Str("stack", string(stack)).
		Msg("panic in a long-lived goroutine; exiting so the service manager restarts xdhcpd")
	// The logger may write nowhere (or be disabled at error level): leave
	// the panic on stderr too, as the runtime would.
	fmt.Fprintf(os.Stderr, "panic in goroutine %s: %v\n\n%s\n", name, r, stack)
	flushMu.Lock()
	f := flush
	flushMu.Unlock()
	if f != nil {
		f()
	}
	os.Exit(ExitCode)
}
