package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/xdhcp/xdhcp/config"
)

// xdpDaemon is just enough of a Daemon for startXDP's checks that come
// before any interface is touched.
func xdpDaemon(datapath, pin string, ifs ...string) *Daemon {
	c := &config.Dhcp4{}
	c.InterfacesConfig.Interfaces = ifs
	c.XDHCP.Datapath = datapath
	c.XDHCP.BPFPinPath = pin
	return &Daemon{cfg: &config.Config{Dhcp4: c}}
}

// TestStartXDPKeepsCause: a forced XDP datapath that cannot start returns
// an error a caller can errors.Is against the cause; "auto" falls back to
// UDP with the same reason.
func TestStartXDPKeepsCause(t *testing.T) {
	_, why, err := xdpDaemon(config.DatapathXDP, "", "lo").startXDP(context.Background(), nil)
	if !errors.Is(err, ErrNoXDPInterface) {
		t.Fatalf("forced xdp on lo: err = %v, want ErrNoXDPInterface in the chain", err)
	}
	if want := `datapath "xdp": ` + ErrNoXDPInterface.Error(); err.Error() != want || why != ErrNoXDPInterface.Error() {
		t.Errorf("err %q, why %q", err, why)
	}
	xr, why, err := xdpDaemon(config.DatapathAuto, "", "lo").startXDP(context.Background(), nil)
	if err != nil || xr != nil || why != ErrNoXDPInterface.Error()+"; serving over UDP" {
		t.Errorf("auto on lo: %v %v %q", xr, err, why)
	}
}

// TestStartXDPKeepsOSError: an operating-system cause (here the pin path
// under a regular file) stays testable as its errno.
func TestStartXDPKeepsOSError(t *testing.T) {
	missing, err := missingXDPCaps(0)
	if err != nil {
		t.Fatal(err)
	}
	if missing != "" {
		t.Skipf("needs the XDP capabilities: %s", missing)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The interface need not exist: the pin directory is made before it is opened.
	_, _, err = xdpDaemon(config.DatapathXDPNative, file, "xdt-none0").startXDP(context.Background(), nil)
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("err = %v, want ENOTDIR in the chain", err)
	}
	if !strings.Contains(err.Error(), "bpf pin path") {
		t.Errorf("err = %v", err)
	}
}
