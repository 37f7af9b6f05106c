package config

import (
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// The 25 files of Kea 2.2's doc/examples/kea4 (tag Kea-2.2.0), unchanged,
// with Kea's COPYING (MPL-2.0) beside them.
const keaExamplesDir = "testdata/kea-examples"

// keaLibraryRE matches a hooks-libraries "library" path; the examples name
// /opt/lib/kea/hooks/ or /usr/local/lib/kea/hooks/, and kea-dhcp4 -t
// dlopens each library, so the path's directory becomes Debian's.
var keaLibraryRE = regexp.MustCompile(`("library"\s*:\s*")[^"]*/([^/"]+\.so")`)

func rewriteHookPaths(b []byte) []byte {
	return keaLibraryRE.ReplaceAll(b, []byte("${1}"+keaHooksDir+"${2}"))
}

// hookRefusals are the examples xdhcpd refuses only because they load a
// hook library it does not build in; Kea's verdict on them does not matter.
// The value is the library xdhcpd's one error line must name.
var hookRefusals = map[string]string{
	"config-backend.json": "libdhcp_mysql_cb.so",
}

func keaExamples(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(keaExamplesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) != 25 {
		t.Fatalf("want Kea 2.2's 25 doc/examples/kea4 files in %s, have %d", keaExamplesDir, len(files))
	}
	if _, err := os.Stat(filepath.Join(keaExamplesDir, "COPYING")); err != nil {
		t.Fatalf("Kea's licence must travel with its examples: %v", err)
	}
	return files
}

// xdhcpCheck is `xdhcpd -t`'s verdict: Load, then the host checks.
func xdhcpCheck(path string, sys System) error {
	c, _, err := Load(path)
	if err != nil {
		return err
	}
	return c.CheckSystem(sys)
}

// unsupportedHook reports the library an error refuses as not built in.
func unsupportedHook(err error) (string, bool) {
	var ce *Error
	if !errors.As(err, &ce) || ce.Param != "library" || !strings.Contains(ce.Msg, "is not supported by xdhcp") {
		return "", false
	}
	return filepath.Base(strings.Trim(strings.Fields(ce.Msg)[2], `"`)), true
}

// TestKeaExamplesSameVerdictAsKea runs every Kea 2.2 example through
// kea-dhcp4 -t and xdhcpd's -t path on the same rewritten copy, on this
// host (both check the interfaces the file names against it), and wants
// the same verdict, except the configurations that need a hook library
// xdhcpd does not build in.
func TestKeaExamplesSameVerdictAsKea(t *testing.T) {
	kea := testenv.RequireCommand(t, "kea-dhcp4")[0]
	dir := t.TempDir()
	for _, f := range keaExamples(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, rewriteHookPaths(b), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(kea, "-t", path)
			cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+dir, "KEA_LOCKFILE_DIR="+dir, "KEA_LOGGER_DESTINATION=stderr")
			out, keaErr := cmd.CombinedOutput()
			var exit *exec.ExitError
			if keaErr != nil && !errors.As(keaErr, &exit) {
				t.Fatalf("kea-dhcp4 -t did not run: %v", keaErr)
			}
			keaOK := keaErr == nil
			xErr := xdhcpCheck(path, HostSystem())
			if lib, ok := hookRefusals[name]; ok {
				got, isHook := unsupportedHook(xErr)
				if !isHook || got != lib {
					t.Fatalf("want xdhcpd to refuse %s for the hook library %s, got %v", name, lib, xErr)
				}
				if strings.Contains(xErr.Error(), "\n") {
					t.Errorf("the refusal is not one line: %q", xErr)
				}
				return
			}
			if keaOK != (xErr == nil) {
				t.Fatalf("verdicts differ: kea-dhcp4 -t ok=%v, xdhcpd -t err=%v\nkea output:\n%s", keaOK, xErr, lastLines(string(out), 4))
			}
			if !keaOK {
				t.Logf("both refuse: xdhcpd %v", xErr)
			}
		})
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// fakeSystem has the named interfaces, each with the given addresses.
type fakeSystem map[string][]netip.Addr

func (f fakeSystem) InterfaceAddrs(name string) ([]netip.Addr, bool) {
	a, ok := f[name]
	return a, ok
}

// TestKeaExamplesVerdicts needs no Kea: on a host with every interface the
// examples name, xdhcpd accepts all but the three that load hook libraries
// it does not build in (Kea accepts config-backend.json on Debian, which
// ships libdhcp_mysql_cb.so; security.so, charging.so and
// libdhcp_radius.so are nowhere), and on a host without them it refuses
// exactly the files that name a missing interface, as Kea does (on a
// host with eth0 only: classify.json, classify2.json, shared-network.json).
func TestKeaExamplesVerdicts(t *testing.T) {
	all := fakeSystem{"eth0": nil, "eth1": nil, "eth2": nil, "eth1961": nil}
	eth0 := fakeSystem{"eth0": nil}
	hookRefused := map[string]string{
		"config-backend.json": "libdhcp_mysql_cb.so",
		"hooks.json":          "security.so",
		"hooks-radius.json":   "libdhcp_flex_id.so",
	}
	ifaceRefused := map[string]string{
		"classify.json":       "Specified network interface name eth1 for subnet 192.0.4.0/23 is not present in the system",
		"classify2.json":      "Specified network interface name eth1 for subnet 192.0.4.0/23 is not present in the system",
		"shared-network.json": "Specified network interface name eth1 for shared network frog is not present in the system",
	}
	for _, f := range keaExamples(t) {
		name := filepath.Base(f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, rewriteHookPaths(b), 0o600); err != nil {
			t.Fatal(err)
		}
		err = xdhcpCheck(path, all)
		if lib, ok := hookRefused[name]; ok {
			if got, isHook := unsupportedHook(err); !isHook || got != lib {
				t.Errorf("%s: want the refusal naming %s, got %v", name, lib, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: refused on a host with its interfaces: %v", name, err)
		}
		err = xdhcpCheck(path, eth0)
		var ce *Error
		if msg, ok := ifaceRefused[name]; ok {
			if !errors.As(err, &ce) || ce.Msg != msg {
				t.Errorf("%s: want %q without the interfaces, got %v", name, msg, err)
			}
			continue
		}
		if name == "hooks-radius.json" {
			continue
		}
		if err != nil {
			t.Errorf("%s: refused on a host with eth0 only: %v", name, err)
		}
		if err := xdhcpCheck(path, fakeSystem{}); err != nil && !(errors.As(err, &ce) && strings.Contains(ce.Msg, "interface 'eth0' doesn't exist in the system")) {
			t.Errorf("%s: without eth0: %v", name, err)
		}
	}
}
