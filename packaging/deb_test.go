package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

var (
	buildOnce sync.Once
	built     Packages
	buildErr  error
	buildDir  string
)

// debs builds the packages once for every test in the package.
func debs(t *testing.T) Packages {
	t.Helper()
	testenv.Short(t, "builds xdhcpd and dhcpload and packages them")
	testenv.RequireCommand(t, "go", "dpkg-deb")
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "xdhcp-deb-test-")
		if buildErr != nil {
			return
		}
		built, buildErr = Build(Options{Root: "..", Out: buildDir, Version: "0.0~test1-1",
			MTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDebContents: dpkg-deb -c and -I show the files, modes, conffile,
// control fields and maintainer scripts the packages promise.
func TestDebContents(t *testing.T) {
	p := debs(t)
	list := run(t, "dpkg-deb", "-c", p["xdhcpd"])
	for _, want := range []string{
		`-rwxr-xr-x root/root .* \./usr/sbin/xdhcpd$`,
		`-rw-r--r-- root/root .* \./lib/systemd/system/xdhcpd\.service$`,
		`-rw-r--r-- root/root .* \./etc/xdhcp/xdhcpd\.conf$`,
		`drwxr-xr-x root/root .* \./var/lib/xdhcp/$`,
		`-rw-r--r-- root/root .* \./usr/share/man/man8/xdhcpd\.8\.gz$`,
		`\./usr/share/doc/xdhcpd/copyright$`,
		`\./usr/share/doc/xdhcpd/changelog\.Debian\.gz$`,
	} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(list) {
			t.Errorf("xdhcpd package: no line matching %s in\n%s", want, list)
		}
	}
	// Nothing under Kea's paths or /run (systemd's RuntimeDirectory= makes it).
	for _, l := range strings.Split(list, "\n") {
		if strings.Contains(l, "/kea") || strings.Contains(l, "./run/") || strings.Contains(l, "./var/run/") {
			t.Errorf("xdhcpd ships %q", l)
		}
	}
	info := run(t, "dpkg-deb", "-I", p["xdhcpd"])
	for _, want := range []string{"Package: xdhcpd", "Version: 0.0~test1-1", "Architecture: amd64",
		"Depends: adduser, libc6", "Section: net", "postinst", "prerm", "postrm", "conffiles"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I xdhcpd: no %q in\n%s", want, info)
		}
	}
	ctl := t.TempDir()
	run(t, "dpkg-deb", "-e", p["xdhcpd"], ctl)
	conffiles, _ := os.ReadFile(filepath.Join(ctl, "conffiles"))
	if strings.TrimSpace(string(conffiles)) != "/etc/xdhcp/xdhcpd.conf" {
		t.Errorf("conffiles %q, want /etc/xdhcp/xdhcpd.conf", conffiles)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		fi, err := os.Stat(filepath.Join(ctl, s))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, mode %v; want 0755", s, err, fi.Mode())
			continue
		}
		run(t, "sh", "-n", filepath.Join(ctl, s))
	}
	postinst, _ := os.ReadFile(filepath.Join(ctl, "postinst"))
	if !strings.Contains(string(postinst), "adduser --system") || !strings.Contains(string(postinst), "_xdhcp") {
		t.Errorf("postinst does not add the _xdhcp system user:\n%s", postinst)
	}
	// The man page is roff rendered from docs/xdhcpd.8.md.
	man := run(t, "sh", "-c", "dpkg-deb --fsys-tarfile "+p["xdhcpd"]+" | tar -xO ./usr/share/man/man8/xdhcpd.8.gz | gzip -d")
	if !regexp.MustCompile(`(?m)^\.TH "?xdhcpd"? "?8"?`).MatchString(man) || !strings.Contains(man, "CAP_PERFMON") {
		t.Errorf("man page is not xdhcpd(8) from docs/xdhcpd.8.md:\n%.400s", man)
	}

	dl := run(t, "dpkg-deb", "-c", p["dhcpload"])
	for _, want := range []string{`-rwxr-xr-x root/root .* \./usr/bin/dhcpload$`, `-rw-r--r-- root/root .* \./usr/share/man/man1/dhcpload\.1\.gz$`} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(dl) {
			t.Errorf("dhcpload package: no line matching %s in\n%s", want, dl)
		}
	}
}

// TestDebLintian: lintian finds no error in either package.
func TestDebLintian(t *testing.T) {
	p := debs(t)
	testenv.RequireCommand(t, "lintian")
	out, err := exec.Command("lintian", "--fail-on", "error", "--tag-display-limit", "0", p["xdhcpd"], p["dhcpload"]).CombinedOutput()
	t.Logf("lintian:\n%s", out)
	if err != nil || regexp.MustCompile(`(?m)^E: `).Match(out) {
		t.Fatalf("lintian: %v", err)
	}
}

// TestUnitVerify: systemd-analyze verify accepts the packaged unit, with
// its binary and man page where the package puts them, and
// systemd-analyze security rates its exposure at most 2.5.
func TestUnitVerify(t *testing.T) {
	p := debs(t)
	testenv.RequireCommand(t, "systemd-analyze")
	sb := testenv.NewSandbox(t)
	sb.Run(t, "dpkg", "-i", p["xdhcpd"])
	out, err := sb.Command("systemd-analyze", "verify", "/lib/systemd/system/xdhcpd.service").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The hardening stays where it is: exposure 2.2 of 10 ("OK") today;
	// the threshold is in tenths.
	out, err = sb.Command("systemd-analyze", "security", "--offline=yes", "--threshold=25",
		"/lib/systemd/system/xdhcpd.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: exposure above 2.5: %v\n%s", err, out)
	}
}

// TestDebInstallRemovePurge installs both packages with dpkg -i in a
// sandbox (the host's system, with Debian's Kea already installed, under
// throw-away overlays) and checks what install, remove and purge leave.
func TestDebInstallRemovePurge(t *testing.T) {
	p := debs(t)
	testenv.RequireCommand(t, "dpkg")
	if out, err := exec.Command("dpkg-query", "-W", "xdhcpd").CombinedOutput(); err == nil {
		t.Fatalf("xdhcpd is installed on the host; this test must not touch it:\n%s", out)
	}
	sb := testenv.NewSandbox(t)
	in := func(args ...string) string { t.Helper(); return sb.Run(t, args[0], args[1:]...) }
	exists := func(path string) bool { _, err := os.Lstat(sb.Path(path)); return err == nil }

	in("dpkg", "-i", p["xdhcpd"], p["dhcpload"])
	if st := in("dpkg-query", "-W", "-f=${Status}", "xdhcpd"); st != "install ok installed" {
		t.Fatalf("xdhcpd status %q", st)
	}
	in("getent", "passwd", "_xdhcp")
	for path, want := range map[string]string{
		"/etc/xdhcp":     "root:_xdhcp 750",
		"/var/lib/xdhcp": "_xdhcp:_xdhcp 750",
	} {
		if got := strings.TrimSpace(in("stat", "-c", "%U:%G %a", path)); got != want {
			t.Errorf("%s is %s, want %s", path, got, want)
		}
	}
	if !exists("/etc/systemd/system/multi-user.target.wants/xdhcpd.service") {
		t.Error("postinst did not enable xdhcpd.service")
	}
	if out := in("/usr/sbin/xdhcpd", "-t", "/etc/xdhcp/xdhcpd.conf"); !strings.Contains(out, "configuration OK") {
		t.Errorf("xdhcpd -t on the shipped configuration: %s", out)
	}
	if out, _ := sb.Command("/usr/bin/dhcpload", "-h").CombinedOutput(); !strings.Contains(string(out), "-rate") {
		t.Errorf("dhcpload -h: %s", out)
	}
	// Beside Kea: dpkg refused no file, and Kea's own are untouched.
	if kea := in("dpkg-query", "-W", "-f=${Status}", "kea-dhcp4-server"); kea != "install ok installed" {
		t.Logf("kea-dhcp4-server not installed here (%s): coexistence not shown", kea)
	}

	// What the service would have written, and an operator's edit.
	leases := "/var/lib/xdhcp/xdhcp-leases4.csv"
	in("setpriv", "--reuid=_xdhcp", "--regid=_xdhcp", "--init-groups", "sh", "-c",
		"echo address,hwaddr > "+leases)
	if err := os.WriteFile(sb.Path("/etc/xdhcp/xdhcpd.conf"),
		append(mustRead(t, sb.Path("/etc/xdhcp/xdhcpd.conf")), "// edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}

	// Reinstalling (postinst configure with the old version, as on an
	// upgrade) keeps both, and an administrator's statoverride.
	in("dpkg-statoverride", "--update", "--add", "root", "_xdhcp", "0770", "/etc/xdhcp")
	in("dpkg", "-i", p["xdhcpd"])
	if !strings.Contains(string(mustRead(t, sb.Path("/etc/xdhcp/xdhcpd.conf"))), "// edited") || !exists(leases) {
		t.Error("reinstalling lost the edited configuration or the leases")
	}
	if got := strings.TrimSpace(in("stat", "-c", "%U:%G %a", "/etc/xdhcp")); got != "root:_xdhcp 770" {
		t.Errorf("after reinstall /etc/xdhcp is %s, want the statoverride's root:_xdhcp 770", got)
	}
	in("dpkg-statoverride", "--remove", "/etc/xdhcp")

	in("dpkg", "-r", "xdhcpd")
	if st := in("dpkg-query", "-W", "-f=${Status}", "xdhcpd"); st != "deinstall ok config-files" {
		t.Errorf("after dpkg -r: status %q", st)
	}
	if exists("/usr/sbin/xdhcpd") || exists("/lib/systemd/system/xdhcpd.service") {
		t.Error("dpkg -r left the binary or the unit")
	}
	if !strings.Contains(string(mustRead(t, sb.Path("/etc/xdhcp/xdhcpd.conf"))), "// edited") {
		t.Error("dpkg -r did not keep the edited configuration")
	}
	if !exists(leases) {
		t.Error("dpkg -r did not keep the leases")
	}

	in("dpkg", "--purge", "xdhcpd")
	if out, err := sb.Command("dpkg-query", "-W", "xdhcpd").CombinedOutput(); err == nil {
		t.Errorf("after purge dpkg still knows xdhcpd: %s", out)
	}
	for _, path := range []string{"/etc/xdhcp", "/var/lib/xdhcp", "/etc/systemd/system/multi-user.target.wants/xdhcpd.service"} {
		if exists(path) {
			t.Errorf("purge left %s", path)
		}
	}
	in("dpkg", "--purge", "dhcpload")

	// The host saw none of it.
	for _, path := range []string{"/etc/xdhcp", "/usr/sbin/xdhcpd", "/var/lib/xdhcp"} {
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("%s exists on the host", path)
		}
	}
	if out, err := exec.Command("getent", "passwd", "_xdhcp").Output(); err == nil {
		t.Errorf("the host has a _xdhcp user: %s", out)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
