// Package keatest runs a real ISC Kea 2.2 kea-dhcp4 for tests, the demo and
// the bench: start it on a configuration in a directory of its own
// (optionally inside a network namespace), wait until its control socket
// answers status-get, send it commands, stop it. It also writes
// configurations in the spelling Kea 2.2 accepts and renders the HA pair
// template (hapair.go).
//
// Nothing here needs the testing package: callers that are tests turn the
// returned errors into t.Fatal or a skip.
package keatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// HooksDir is where Debian's Kea 2.2 packages install the hook libraries.
const HooksDir = "/usr/lib/x86_64-linux-gnu/kea/hooks"

// Hook names the hook libraries the tests load.
const (
	HookLeaseCmds = "libdhcp_lease_cmds.so"
	HookHA        = "libdhcp_ha.so"
)

// ErrNotInstalled is returned by Installed when kea-dhcp4 or a hook is missing.
var ErrNotInstalled = errors.New("kea-dhcp4 not installed")

// Installed returns the path of kea-dhcp4, or an error wrapping
// ErrNotInstalled when it or one of the named hook libraries is missing.
func Installed(hooks ...string) (string, error) {
	bin, err := exec.LookPath("kea-dhcp4")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotInstalled, err)
	}
	for _, h := range hooks {
		if _, err := os.Stat(filepath.Join(HooksDir, h)); err != nil {
			return "", fmt.Errorf("%w: hook %s: %w", ErrNotInstalled, h, err)
		}
	}
	return bin, nil
}

// Options says how to run one kea-dhcp4.
type Options struct {
	Bin        string        // kea-dhcp4 to run; "" = found on PATH
	Dir        string        // required: pid and lock files, and Output unless set
	ConfigPath string        // required: the configuration file (see WriteConfig)
	Socket     string        // required: the control socket the configuration names
	Netns      string        // run through `ip netns exec Netns`; "" = this namespace
	Output     string        // stdout and stderr, appended; "" = Dir/kea.out
	Wait       time.Duration // how long to wait for status-get; 0 = 15 s

	// Optional. Bin may be any server that takes -c and answers
	// status-get on Socket (the bench starts xdhcpd this way).
	OwnProcessGroup bool            // run in a process group of its own, so a terminal's Ctrl-C reaches the caller only, who stops the server
	Context         context.Context // cancelling it during the wait kills the server and returns its error; nil = never
}

// Kea is a running kea-dhcp4.
type Kea struct {
	opts Options
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, valid after done
}

// Start runs kea-dhcp4 (or o.Bin) -c o.ConfigPath with KEA_PIDFILE_DIR and
// KEA_LOCKFILE_DIR set to o.Dir, and returns once its control socket
// answers status-get with result 0. It fails (and leaves no process
// behind) when the server exits first, does not answer within o.Wait, or
// o.Context is cancelled.
func Start(o Options) (*Kea, error) {
	if o.Dir == "" || o.ConfigPath == "" || o.Socket == "" {
		return nil, errors.New("keatest: Dir, ConfigPath and Socket are required")
	}
	if o.Bin == "" {
		bin, err := Installed()
		if err != nil {
			return nil, err
		}
		o.Bin = bin
	}
	if o.Output == "" {
		o.Output = filepath.Join(o.Dir, "kea.out")
	}
	if o.Wait == 0 {
		o.Wait = 15 * time.Second
	}
	name := filepath.Base(o.Bin) // kea-dhcp4, or the other server Bin names
	ctxDone := (<-chan struct{})(nil)
	if o.Context != nil {
		ctxDone = o.Context.Done()
	}
	out, err := os.OpenFile(o.Output, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kea output: %w", err)
	}
	defer out.Close()       // the child has its own descriptor
	_ = os.Remove(o.Socket) // a stale socket of an earlier run would answer nothing
	args := []string{"-c", o.ConfigPath}
	var cmd *exec.Cmd
	if o.Netns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", o.Netns, o.Bin}, args...)...)
	} else {
		cmd = exec.Command(o.Bin, args...)
	}
	cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+o.Dir, "KEA_LOCKFILE_DIR="+o.Dir)
	cmd.Stdout, cmd.Stderr = out, out
	if o.OwnProcessGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	k := &Kea{opts: o, cmd: cmd, done: make(chan struct{})}
	go func() { k.err = cmd.Wait(); close(k.done) }()
	deadline := time.Now().Add(o.Wait)
	for {
		if r, err := Command(o.Socket, "status-get", nil); err == nil && r.Result == 0 {
			return k, nil
		}
		select {
		case <-k.done:
			return nil, fmt.Errorf("%s exited during start-up (%w):\n%s", name, k.exitErr(), k.Tail(4096))
		case <-ctxDone:
			_ = k.Kill()
			return nil, fmt.Errorf("start %s: %w", name, o.Context.Err())
		default:
		}
		if time.Now().After(deadline) {
			_ = k.Kill()
			return nil, fmt.Errorf("%s did not answer status-get on %s within %v:\n%s", name, o.Socket, o.Wait, k.Tail(4096))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exitErr is the process's exit error, or a plain one for a clean exit.
func (k *Kea) exitErr() error {
	if k.err != nil {
		return k.err
	}
	return errors.New("exit status 0")
}

// Socket returns the control socket.
func (k *Kea) Socket() string { return k.opts.Socket }

// Pid returns the process id of what Start ran (ip, when in a namespace,
// which execs kea-dhcp4 in place).
func (k *Kea) Pid() int { return k.cmd.Process.Pid }

// Command sends one command to this Kea (see the package-level Command).
func (k *Kea) Command(command string, args any) (*Response, error) {
	return Command(k.opts.Socket, command, args)
}

// Exited reports whether the process has exited.
func (k *Kea) Exited() bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

// Wait waits at most d for the process to exit and returns its exit code,
// or minus the signal number when a signal ended it.
func (k *Kea) Wait(d time.Duration) (int, error) {
	select {
	case <-k.done:
	case <-time.After(d):
		return 0, fmt.Errorf("kea-dhcp4 did not exit within %v", d)
	}
	if k.err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(k.err, &ee) {
		return 0, fmt.Errorf("wait for kea-dhcp4: %w", k.err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal()), nil
	}
	return ee.ExitCode(), nil
}

// Stop sends SIGTERM and waits up to grace for the exit, then SIGKILL. It
// returns an error when SIGKILL was needed; stopping an exited Kea is a no-op.
func (k *Kea) Stop(grace time.Duration) error {
	if k.Exited() {
		return nil
	}
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
		return nil
	case <-time.After(grace):
	}
	_ = k.Kill()
	return fmt.Errorf("kea-dhcp4 did not stop within %v of SIGTERM", grace)
}

// Kill sends SIGKILL and waits for the process to go.
func (k *Kea) Kill() error {
	if k.Exited() {
		return nil
	}
	if err := k.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill kea-dhcp4: %w", err)
	}
	<-k.done
	return nil
}

// Tail returns the last n bytes of Kea's output file.
func (k *Kea) Tail(n int) string {
	b, _ := os.ReadFile(k.opts.Output)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Response is a control-channel answer.
type Response struct {
	Result    int             `json:"result"`
	Text      string          `json:"text"`
	Arguments json.RawMessage `json:"arguments"`
}

// Command sends {"command": command, "arguments": args} (arguments left
// out when nil) on a Kea unix control socket and decodes the one answer.
// It reads one JSON value rather than to EOF, so it works whether or not
// the server closes the connection.
func Command(sock, command string, args any) (*Response, error) {
	req := map[string]any{"command": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", command, err)
	}
	return Send(sock, b)
}

// Send writes a raw request on a control socket and decodes the answer.
func Send(sock string, req []byte) (*Response, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", sock, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		return nil, fmt.Errorf("send to %s: %w", sock, err)
	}
	var r Response
	if err := json.NewDecoder(c).Decode(&r); err != nil {
		return nil, fmt.Errorf("read reply from %s: %w", sock, err)
	}
	return &r, nil
}

// Check runs `kea-dhcp4 -t` on a configuration text in a temporary
// directory and returns nil when Kea accepts it, else an error carrying
// Kea's output.
func Check(bin string, config []byte) error {
	dir, err := os.MkdirTemp("", "keatest")
	if err != nil {
		return fmt.Errorf("check config: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "kea.json")
	if err := os.WriteFile(path, config, 0o600); err != nil {
		return fmt.Errorf("check config: %w", err)
	}
	cmd := exec.Command(bin, "-t", path)
	cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+dir, "KEA_LOCKFILE_DIR="+dir, "KEA_LOGGER_DESTINATION=stderr")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kea-dhcp4 -t: %w\n%s", err, out)
	}
	return nil
}

// WriteConfig writes a configuration ({"Dhcp4": …}, as JSON text or any
// value encoding/json marshals) to path in the spelling Kea 2.2 accepts:
// the loggers' "output-options" (newer Kea, and xdhcpd) become
// "output_options". Nothing else is changed.
func WriteConfig(path string, config any) error {
	b, err := Kea22(config)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write kea config: %w", err)
	}
	return nil
}

// Kea22 returns config as indented JSON with the loggers' output options
// spelled output_options. config is JSON text ([]byte or string, without
// comments) or a value to marshal.
func Kea22(config any) ([]byte, error) {
	var text []byte
	switch c := config.(type) {
	case []byte:
		text = c
	case string:
		text = []byte(c)
	default:
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("encode kea config: %w", err)
		}
		text = b
	}
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode kea config: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("decode kea config: data after the top-level object")
	}
	if dh, ok := v["Dhcp4"].(map[string]any); ok {
		loggers, _ := dh["loggers"].([]any)
		for _, l := range loggers {
			m, ok := l.(map[string]any)
			if !ok {
				continue
			}
			if oo, ok := m["output-options"]; ok {
				if _, both := m["output_options"]; both {
					return nil, errors.New("kea config: a logger has both output-options and output_options")
				}
				delete(m, "output-options")
				m["output_options"] = oo
			}
		}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode kea config: %w", err)
	}
	return append(b, '\n'), nil
}
