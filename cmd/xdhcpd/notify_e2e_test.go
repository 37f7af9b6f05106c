package main

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// TestNotifyPartnerDown: the sd_notify protocol on the UDP path of an HA
// server whose partner never answers. READY=1 comes once the data path
// and HA have started, while HA still waits for the partner (it cannot
// serve the pair's scopes yet; a start timeout must not kill it for
// that); WATCHDOG=1 comes while the UDP workers take their probes;
// SIGHUP gives RELOADING=1 then READY=1, also when the reload is refused
// (then STATUS= says so); SIGTERM gives STOPPING=1.
func TestNotifyPartnerDown(t *testing.T) {
	testenv.RequireRoot(t)
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "eth0", haSrvAddr[0]+"/24", cliNS, "hc0", haCliAddr+"/24")
	n := newHANode(t, 0, "xdhcpd", srvNS, "udp") // server2 (198.18.0.12) does not exist
	ntf := newNotifyListener(t)
	cmd := srvNS.Command(xdhcpdBin, "-c", n.cfg)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+ntf.path, "WATCHDOG_USEC=1000000")
	start := time.Now()
	p := startCmd(t, cmd, n.cfg, n.sock)

	ready := ntf.wait(t, "READY=1", 10*time.Second)
	st := n.status()
	t.Logf("READY=1 after %v (%q); HA state %q, partner %q", time.Since(start).Round(time.Millisecond), ready, st.Local, st.Partner)
	if st.err != nil {
		t.Fatal(st.err)
	}
	if st.Local == "load-balancing" || st.Local == "hot-standby" {
		t.Fatalf("HA state %q with the partner down: the test does not show READY=1 before HA serves", st.Local)
	}
	ntf.wait(t, "WATCHDOG=1", 3*time.Second)
	ntf.wait(t, "WATCHDOG=1", 3*time.Second)

	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ntf.wait(t, "RELOADING=1", 10*time.Second)
	if m := ntf.wait(t, "READY=1", 10*time.Second); strings.Contains(m, "refused") {
		t.Errorf("a good reload reported as refused: %q", m)
	}

	// A reload that needs a restart is refused; the service is still ready.
	b, err := os.ReadFile(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"eth0"`)) {
		t.Fatalf("%s does not name eth0", n.cfg)
	}
	if err := os.WriteFile(n.cfg, bytes.Replace(b, []byte(`"eth0"`), []byte(`"eth0", "lo"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ntf.wait(t, "RELOADING=1", 10*time.Second)
	if m := ntf.wait(t, "READY=1", 10*time.Second); !strings.Contains(m, "; last reload refused: ") ||
		!strings.Contains(m, "interfaces-config") {
		t.Errorf("refused reload: %q, want READY=1 with a STATUS naming the refusal", m)
	}
	ntf.wait(t, "WATCHDOG=1", 3*time.Second)

	if err := p.stop(t); err != nil {
		t.Errorf("xdhcpd exit: %v", err)
	}
	ntf.wait(t, "STOPPING=1", 2*time.Second)
}
