package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// xdhcpdBin is the daemon built once for the end-to-end tests.
var xdhcpdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xdhcpd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	xdhcpdBin = filepath.Join(dir, "xdhcpd")
	out, err := exec.Command("go", "build", "-o", xdhcpdBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build xdhcpd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a daemon started for a test.
type proc struct {
	cmd  *exec.Cmd
	out  *os.File
	sock string
	done chan error
}

// startXdhcpd runs xdhcpd -c cfg inside ns and waits until its control
// socket answers status-get. The process is stopped when the test ends.
func startXdhcpd(t *testing.T, ns *testenv.Netns, cfgPath, sock string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"-c", cfgPath}, extra...)
	var cmd *exec.Cmd
	if ns != nil {
		cmd = ns.Command(xdhcpdBin, args...)
	} else {
		cmd = exec.Command(xdhcpdBin, args...)
	}
	return startCmd(t, cmd, cfgPath, sock)
}

// startCmd starts cmd (an xdhcpd, however launched) with its output in
// cfgPath.log and waits until sock answers status-get. The process is
// stopped when the test ends; a failed test shows the log's tail.
func startCmd(t *testing.T, cmd *exec.Cmd, cfgPath, sock string) *proc {
	t.Helper()
	logf, err := os.Create(cfgPath + ".log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, out: logf, sock: sock, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		p.stop(t)
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(cfgPath + ".log")
			t.Logf("xdhcpd log (last 4 KiB):\n%s", tail(b, 4096))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if r, err := ctlCmd(sock, `{"command":"status-get"}`); err == nil && r.Result == 0 {
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			b, _ := os.ReadFile(cfgPath + ".log")
			t.Fatalf("xdhcpd exited during start-up: %v\n%s", err, tail(b, 4096))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("xdhcpd did not answer on its control socket within 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits (SIGKILL after 10 s). Idempotent.
func (p *proc) stop(t *testing.T) error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
		t.Errorf("xdhcpd did not stop within 10 s of SIGTERM")
		return err
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// reply is a control-channel answer.
type reply struct {
	Result    int             `json:"result"`
	Text      string          `json:"text"`
	Arguments json.RawMessage `json:"arguments"`
}

// ctlCmd sends one command on a Kea-style unix control socket.
func ctlCmd(sock, cmd string) (*reply, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, cmd); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return nil, err
	}
	var r reply
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("control reply %q: %w", b, err)
	}
	return &r, nil
}

// statistic reads one statistic's current value.
func statistic(t *testing.T, sock, name string) int64 {
	t.Helper()
	r, err := ctlCmd(sock, fmt.Sprintf(`{"command":"statistic-get","arguments":{"name":%q}}`, name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string][][]any
	if err := json.Unmarshal(r.Arguments, &m); err != nil || len(m[name]) == 0 {
		t.Fatalf("statistic %s: %s %v", name, r.Arguments, err)
	}
	return int64(m[name][0][0].(float64))
}

// perfResult is what a perfdhcp run reported.
type perfResult struct {
	DiscoverSent, OfferReceived, RequestSent, AckReceived int
	Rate                                                  float64
	Output                                                string
}

var (
	reSent     = regexp.MustCompile(`sent packets: (\d+)`)
	reReceived = regexp.MustCompile(`received packets: (\d+)`)
	reRate     = regexp.MustCompile(`Rate: ([0-9.]+)`)
)

// runPerfdhcp runs perfdhcp (bounded by its -p and a hard timeout) and
// parses its DISCOVER-OFFER and REQUEST-ACK blocks.
func runPerfdhcp(t *testing.T, ns *testenv.Netns, args ...string) perfResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"netns", "exec", ns.Name, "perfdhcp"}, args...)
	out, err := exec.CommandContext(ctx, "ip", full...).CombinedOutput()
	// perfdhcp exits 3 when any exchange was incomplete; the numbers decide.
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 3) {
		t.Fatalf("perfdhcp %v: %v\n%s", args, err, out)
	}
	res := perfResult{Output: string(out)}
	blocks := strings.Split(string(out), "***")
	for i, b := range blocks {
		var sent, recv *int
		switch {
		case strings.Contains(b, "DISCOVER-OFFER"):
			sent, recv = &res.DiscoverSent, &res.OfferReceived
		case strings.Contains(b, "REQUEST-ACK"):
			sent, recv = &res.RequestSent, &res.AckReceived
		default:
			continue
		}
		if i+1 < len(blocks) {
			body := blocks[i+1]
			if m := reSent.FindStringSubmatch(body); m != nil {
				*sent, _ = strconv.Atoi(m[1])
			}
			if m := reReceived.FindStringSubmatch(body); m != nil {
				*recv, _ = strconv.Atoi(m[1])
			}
		}
	}
	if m := reRate.FindStringSubmatch(string(out)); m != nil {
		res.Rate, _ = strconv.ParseFloat(m[1], 64)
	}
	if res.DiscoverSent == 0 {
		t.Fatalf("could not parse perfdhcp output:\n%s", out)
	}
	return res
}

// leaseRow is one row of a Kea memfile.
type leaseRow struct {
	addr, hw, cid string
	valid         int64
}

// readLeaseFile parses a memfile (header checked) into rows in file order.
func readLeaseFile(t *testing.T, path string) []leaseRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rows []leaseRow
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if !strings.HasPrefix(line, "address,hwaddr,client_id,valid_lifetime,expire,subnet_id") {
				t.Fatalf("bad lease file header %q", line)
			}
			continue
		}
		if line == "" {
			continue
		}
		c := strings.Split(line, ",")
		if len(c) < 11 {
			t.Fatalf("short lease row %q", line)
		}
		v, err := strconv.ParseInt(c[3], 10, 64)
		if err != nil {
			t.Fatalf("lease row %q: %v", line, err)
		}
		rows = append(rows, leaseRow{addr: c[0], hw: c[1], cid: c[2], valid: v})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// checkLeaseFile asserts that the file holds one lease row per ACK and that
// no address was ever leased to two clients (nor a client given two).
func checkLeaseFile(t *testing.T, path string, acks int64) {
	t.Helper()
	rows := readLeaseFile(t, path)
	var leased int64
	owner := map[string]string{}
	addrOf := map[string]string{}
	for _, r := range rows {
		if r.valid == 0 {
			continue
		}
		leased++
		if o, ok := owner[r.addr]; ok && o != r.hw {
			t.Errorf("address %s leased to %s and %s", r.addr, o, r.hw)
		}
		owner[r.addr] = r.hw
		if a, ok := addrOf[r.hw]; ok && a != r.addr {
			t.Errorf("client %s holds %s and %s", r.hw, a, r.addr)
		}
		addrOf[r.hw] = r.addr
	}
	if leased != acks {
		t.Errorf("lease file has %d lease rows, server sent %d ACKs: every ACK must be written", leased, acks)
	}
	t.Logf("lease file: %d rows, %d addresses, %d ACKs", len(rows), len(owner), acks)
}
