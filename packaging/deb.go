// Package packaging builds xdhcp's Debian packages with nfpm: xdhcpd
// (server, systemd unit, default configuration, man page, system user)
// and dhcpload (the load generator and its man page, its own package). The files the
// packages ship live beside this file; `make deb` runs ./packaging/mkdeb.
package packaging

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
)

// Options say what to build and where.
type Options struct {
	Root    string    // repository root
	Out     string    // directory the .deb files go to (created)
	Version string    // Debian version, e.g. 0.0~git20261207191052.7b566ae-1
	Arch    string    // Debian architecture; "" = amd64
	MTime   time.Time // file times in the packages; zero = now
}

// Maintainer is the packages' Maintainer field.
const Maintainer = "xdhcp developers <xdhcp@example.org>"

// Packages is what Build writes: package name -> .deb path.
type Packages map[string]string

// Build compiles xdhcpd and dhcpload (static, stripped), renders the man
// page and writes both packages into o.Out.
func Build(o Options) (Packages, error) {
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if o.MTime.IsZero() {
		o.MTime = time.Now().UTC().Truncate(time.Second)
	}
	if o.Version == "" {
		return nil, fmt.Errorf("packaging: no version")
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "xdhcp-deb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	for _, cmd := range []string{"xdhcpd", "dhcpload"} {
		if err := goBuild(root, filepath.Join(work, cmd), "./cmd/"+cmd, o.Arch); err != nil {
			return nil, err
		}
	}
	for _, page := range []string{"xdhcpd.8", "dhcpload.1"} {
		if err := RenderMan(filepath.Join(root, "docs", page+".md"), filepath.Join(work, page+".gz")); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"xdhcpd", "dhcpload"} {
		cl := filepath.Join(work, name+".changelog.yml")
		if err := writeChangelog(cl, o); err != nil {
			return nil, err
		}
	}
	pkgs := Packages{}
	for _, info := range []*nfpm.Info{xdhcpdInfo(root, work, o), dhcploadInfo(root, work, o)} {
		path, err := writeDeb(info, o.Out)
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", info.Name, err)
		}
		pkgs[info.Name] = path
	}
	return pkgs, nil
}

// goBuild builds one command: no cgo (no libc dependency), position
// independent (static-pie: ASLR, and lintian's statically-linked-binary
// does not apply), stripped, no build paths.
func goBuild(root, out, pkg, arch string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-buildmode=pie", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// RenderMan renders a go-md2man markdown page into a gzipped roff file
// (as dpkg wants man pages: gzip -9, no name or time stamp).
func RenderMan(src, dst string) error {
	md, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	roff := md2man.Render(md)
	if !bytes.HasPrefix(roff, []byte(".nh\n.TH ")) && !bytes.Contains(roff, []byte("\n.TH ")) {
		return fmt.Errorf("%s: rendered page has no .TH title line", src)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(roff); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

// writeChangelog writes a one-entry chglog file for this build (nfpm
// turns it into /usr/share/doc/<pkg>/changelog.Debian.gz).
func writeChangelog(path string, o Options) error {
	yml := fmt.Sprintf(`- semver: %q
  deb:
    urgency: low
    distributions:
      - unstable
  date: %q
  packager: %q
  changes:
    - note: "Built from the xdhcp repository (make deb)."
`, o.Version, o.MTime.Format(time.RFC3339), Maintainer)
	return os.WriteFile(path, []byte(yml), 0o644)
}

// common is what both packages share.
func common(name string, o Options, work string) *nfpm.Info {
	return &nfpm.Info{
		Name:          name,
		Arch:          o.Arch,
		Platform:      "linux",
		Version:       o.Version,
		VersionSchema: "none",
		Section:       "net",
		Priority:      "optional",
		Maintainer:    Maintainer,
		Homepage:      "https://github.com/xdhcp/xdhcp",
		Changelog:     filepath.Join(work, name+".changelog.yml"),
		MTime:         o.MTime,
	}
}

func file(src, dst string, mode os.FileMode, mtime time.Time) *files.Content {
	return &files.Content{Source: src, Destination: dst, Type: files.TypeFile,
		FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: mtime}}
}

func docs(root, name string, mtime time.Time) *files.Content {
	return file(filepath.Join(root, "packaging", "copyright"), "/usr/share/doc/"+name+"/copyright", 0o644, mtime)
}

// xdhcpdInfo is the server package. Its paths are its own (/etc/xdhcp,
// /var/lib/xdhcp, /run/xdhcp, xdhcpd.service): it installs beside
// Debian's kea-dhcp4-server without a file conflict.
func xdhcpdInfo(root, work string, o Options) *nfpm.Info {
	pk := filepath.Join(root, "packaging")
	info := common("xdhcpd", o, work)
	info.Description = "eBPF/XDP-accelerated DHCPv4 server with ISC Kea 2.2's interfaces\n" +
		"xdhcpd reads Kea's Dhcp4 configuration, keeps leases in Kea's memfile\n" +
		"CSV format, answers Kea's control-socket commands and speaks Kea's High\n" +
		"Availability protocol, so it can replace a kea-dhcp4 server or be the\n" +
		"partner of one. An XDP program drops the HA partner's queries and\n" +
		"rate-limits floods in the kernel; AF_XDP sockets carry the rest to\n" +
		"user space.\n" +
		".\n" +
		"The shipped configuration serves nothing until interfaces and subnets\n" +
		"are added to /etc/xdhcp/xdhcpd.conf."
	// libc6: a Go PIE has no NEEDED library but does name the dynamic
	// loader (/lib64/ld-linux-x86-64.so.2) as its interpreter.
	info.Depends = []string{"adduser", "libc6"}
	info.Suggests = []string{"dhcpload", "kea-admin", "bpftool"}
	info.Contents = files.Contents{
		file(filepath.Join(work, "xdhcpd"), "/usr/sbin/xdhcpd", 0o755, o.MTime),
		file(filepath.Join(pk, "xdhcpd.service"), "/lib/systemd/system/xdhcpd.service", 0o644, o.MTime),
		{Source: filepath.Join(pk, "xdhcpd.conf"), Destination: "/etc/xdhcp/xdhcpd.conf", Type: files.TypeConfig,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o644, MTime: o.MTime}},
		{Destination: "/var/lib/xdhcp", Type: files.TypeDir,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755, MTime: o.MTime}}, // postinst: _xdhcp, 0750
		file(filepath.Join(work, "xdhcpd.8.gz"), "/usr/share/man/man8/xdhcpd.8.gz", 0o644, o.MTime),
		docs(root, "xdhcpd", o.MTime),
	}
	info.Scripts = nfpm.Scripts{
		PostInstall: filepath.Join(pk, "scripts", "postinst"),
		PreRemove:   filepath.Join(pk, "scripts", "prerm"),
		PostRemove:  filepath.Join(pk, "scripts", "postrm"),
	}
	return info
}

// dhcploadInfo is the load generator's package.
func dhcploadInfo(root, work string, o Options) *nfpm.Info {
	info := common("dhcpload", o, work)
	info.Description = "DHCPv4 load generator validating every reply (xdhcp)\n" +
		"dhcpload drives a DHCPv4 server with DORA exchanges over AF_XDP or\n" +
		"AF_PACKET, as a relay like perfdhcp does, validates every reply and\n" +
		"reports latency percentiles; -malformed and -hostile send broken and\n" +
		"hostile frames. Part of xdhcp; see dhcpload -h."
	info.Depends = []string{"libc6"}
	info.Contents = files.Contents{
		file(filepath.Join(work, "dhcpload"), "/usr/bin/dhcpload", 0o755, o.MTime),
		file(filepath.Join(work, "dhcpload.1.gz"), "/usr/share/man/man1/dhcpload.1.gz", 0o644, o.MTime),
		docs(root, "dhcpload", o.MTime),
	}
	return info
}

// writeDeb packages info into dir under Debian's conventional file name.
func writeDeb(info *nfpm.Info, dir string) (string, error) {
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return "", err
	}
	pkg, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, pkg.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	info.Target = path
	if err := pkg.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, nil
}

// GitVersion is the default package version: 0.0~git<commit
// time>.<hash>-1, which sorts by commit time. The Debian revision (-1)
// makes it a non-native version, whose changelog is changelog.Debian.gz.
func GitVersion(root string) (string, error) {
	out, err := exec.Command("git", "-C", root, "log", "-1", "--date=format:%Y%m%d%H%M%S", "--format=%cd.%h").Output()
	if err != nil {
		return "", fmt.Errorf("git log: %w", err)
	}
	return "0.0~git" + strings.TrimSpace(string(out)) + "-1", nil
}
