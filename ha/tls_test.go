package ha

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/ha/peer"
	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/netstate"
)

// testCA is a CA whose certificates the TLS tests write to a directory.
type testCA struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate (PEM)
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{t: t, dir: dir, cert: cert, key: key, file: filepath.Join(dir, name+"-ca.pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue writes name.pem and name-key.pem: an ECDSA leaf for 127.0.0.1
// usable as server and client certificate, as one Kea cert-file is.
func (ca *testCA) issue(name string) (certFile, keyFile string) {
	t := ca.t
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(ca.dir, name+".pem"), filepath.Join(ca.dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsPair builds a TLS load-balancing pair config for name ("server1" or
// "server2") whose relationship-level TLS parameters are ta, cert, key.
func tlsPairConfig(name, url1, url2, ta, cert, key string) Config {
	cfg := DefaultConfig()
	cfg.ThisServerName = name
	cfg.HeartbeatDelay = 200 * time.Millisecond
	cfg.MaxResponseDelay = 2 * time.Second
	cfg.MaxAckDelay = time.Second
	cfg.SyncTimeout = 2 * time.Second
	cfg.TrustAnchor, cfg.CertFile, cfg.KeyFile = ta, cert, key
	cfg.Peers = []Peer{
		{Name: "server1", URL: url1, Role: RolePrimary, AutoFailover: true},
		{Name: "server2", URL: url2, Role: RoleSecondary, AutoFailover: true},
	}
	return cfg
}

// startTLSService starts a Service wired as the daemon wires it (lease
// commands served, so lease sync runs over TLS too).
func startTLSService(t *testing.T, cfg Config) *Service {
	t.Helper()
	store, _, err := lease.Open(lease.Options{Persist: false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	sw, disp := netstate.New(), control.NewDispatcher()
	t.Cleanup(sw.Stop)
	s, err := New(cfg, Deps{Leases: store, DHCP: switchDHCP{sw}, Buckets: &recBuckets{}, Logger: zerolog.Nop(), Commands: disp})
	if err != nil {
		t.Fatalf("new %s: %v", cfg.ThisServerName, err)
	}
	registerDaemonCommands(disp, s, store, testSubnets{}, sw)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// heartbeatOver posts ha-heartbeat to url with the given client TLS config.
func heartbeatOver(url string, tc *tls.Config) error {
	tr := &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 3 * time.Second}
	resp, err := c.Post(url, "application/json", strings.NewReader(`{"command":"ha-heartbeat","service":["dhcp4"]}`))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength <= 0 {
		return fmt.Errorf("status %d content-length %d", resp.StatusCode, resp.ContentLength)
	}
	return nil
}

// TestTLSPairLoadBalancing: two Services over https reach load-balancing;
// their listeners refuse clients without a certificate and with one from
// another CA.
func TestTLSPairLoadBalancing(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ha")
	c1, k1 := ca.issue("server1")
	c2, k2 := ca.issue("server2")
	// server2 takes its trust anchor from a directory (OpenSSL style).
	caDir := filepath.Join(dir, "cadir")
	if err := os.Mkdir(caDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(ca.file)
	_ = os.WriteFile(filepath.Join(caDir, "1a2b3c4d.0"), b, 0o644)
	_ = os.WriteFile(filepath.Join(caDir, "README"), []byte("not a certificate\n"), 0o644)

	p1, p2 := freePort(t), freePort(t)
	url1, url2 := fmt.Sprintf("https://127.0.0.1:%d/", p1), fmt.Sprintf("https://127.0.0.1:%d/", p2)
	s1 := startTLSService(t, tlsPairConfig("server1", url1, url2, ca.file, c1, k1))
	s2 := startTLSService(t, tlsPairConfig("server2", url1, url2, caDir, c2, k2))
	waitFor(t, "both load-balancing over https", 15*time.Second, func() bool {
		return s1.State() == "load-balancing" && s2.State() == "load-balancing" &&
			s1.PartnerState() == "load-balancing" && s2.PartnerState() == "load-balancing"
	}, func() string {
		return fmt.Sprintf("s1=%s/%s s2=%s/%s", s1.State(), s1.PartnerState(), s2.State(), s2.PartnerState())
	})

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	good, err := tls.LoadX509KeyPair(c2, k2)
	if err != nil {
		t.Fatal(err)
	}
	other := newTestCA(t, dir, "other")
	oc, ok := other.issue("intruder")
	bad, err := tls.LoadX509KeyPair(oc, ok)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"no client certificate", nil, false},
		{"certificate from another CA", []tls.Certificate{bad}, false},
		{"certificate from the trust anchor", []tls.Certificate{good}, true},
	} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			err := heartbeatOver(url1, &tls.Config{RootCAs: roots, Certificates: tc.certs, MaxVersion: v})
			if tc.ok && err != nil {
				t.Errorf("%s (tls %x): %v", tc.name, v, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("%s (tls %x): accepted", tc.name, v)
			}
		}
	}
	// TLS 1.1 is refused.
	if err := heartbeatOver(url1, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{good},
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("tls 1.1 accepted")
	}
	// Plain HTTP to the TLS listener fails.
	if err := heartbeatOver(strings.Replace(url1, "https", "http", 1), nil); err == nil {
		t.Error("plain http accepted by the tls listener")
	}
}

// TestTLSNoClientCerts: require-client-certs false: the listener does not
// ask for a certificate.
func TestTLSNoClientCerts(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ha")
	c1, k1 := ca.issue("server1")
	p1, p2 := freePort(t), freePort(t)
	url1, url2 := fmt.Sprintf("https://127.0.0.1:%d/", p1), fmt.Sprintf("https://127.0.0.1:%d/", p2)
	cfg := tlsPairConfig("server1", url1, url2, ca.file, c1, k1)
	cfg.RequireClientCerts = false
	startTLSService(t, cfg)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	if err := heartbeatOver(url1, &tls.Config{RootCAs: roots}); err != nil {
		t.Fatalf("require-client-certs false: %v", err)
	}
}

// TestTLSClientVerifiesServer: our client refuses a partner whose server
// certificate is not from the trust anchor.
func TestTLSClientVerifiesServer(t *testing.T) {
	dir := t.TempDir()
	ca, other := newTestCA(t, dir, "ha"), newTestCA(t, dir, "other")
	c2, k2 := ca.issue("server2")
	oc, okf := other.issue("server1")
	p1, p2 := freePort(t), freePort(t)
	url1, url2 := fmt.Sprintf("https://127.0.0.1:%d/", p1), fmt.Sprintf("https://127.0.0.1:%d/", p2)
	// server1 presents a certificate of the other CA (and trusts ours).
	cfg1 := tlsPairConfig("server1", url1, url2, ca.file, oc, okf)
	cfg1.RequireClientCerts = false
	s1 := startTLSService(t, cfg1)
	cfg2 := tlsPairConfig("server2", url1, url2, ca.file, c2, k2)
	s2, err := New(cfg2, Deps{Leases: newMapStore(), DHCP: &recDHCP{}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Stop)
	_, err = s2.client.Call(t.Context(), "ha-heartbeat", nil, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("heartbeat to a server with an untrusted certificate: %v", err)
	}
	_ = s1
}

func TestTLSConfigValidate(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ha")
	cert, key := ca.issue("server1")
	const u1, u2 = "https://127.0.0.1:8001/", "https://127.0.0.1:8002/"
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"global", func(c *Config) {}, ""},
		{"per peer only", func(c *Config) {
			c.TrustAnchor, c.CertFile, c.KeyFile = "", "", ""
			for i := range c.Peers {
				c.Peers[i].TrustAnchor, c.Peers[i].CertFile, c.Peers[i].KeyFile = ca.file, cert, key
			}
		}, ""},
		{"peer overrides one parameter", func(c *Config) { c.Peers[0].CertFile = cert }, ""},
		{"cert without key", func(c *Config) { c.KeyFile = "" }, "key-file parameter is missing or empty"},
		{"key without cert", func(c *Config) { c.CertFile = "" }, "cert-file parameter is missing or empty"},
		{"no trust anchor", func(c *Config) { c.TrustAnchor = "" }, "trust-anchor parameter is missing or empty"},
		{"unreadable cert", func(c *Config) { c.CertFile = filepath.Join(dir, "nope.pem") }, "cert-file: open"},
		{"unreadable key", func(c *Config) { c.Peers[1].KeyFile = filepath.Join(dir, "nope.pem") }, "bad TLS config for server server2: key-file: open"},
		{"missing trust anchor", func(c *Config) { c.TrustAnchor = filepath.Join(dir, "nope") }, "trust-anchor: stat"},
		{"trust anchor not a certificate", func(c *Config) { c.TrustAnchor = key }, "trust-anchor"},
		{"key does not match cert", func(c *Config) { c2, _ := ca.issue("x"); c.CertFile = c2 }, "private key does not match"},
		{"https without tls", func(c *Config) { c.TrustAnchor, c.CertFile, c.KeyFile = "", "", "" },
			"https scheme is not supported for server server1 where TLS is disabled"},
		// Kea 2.2's HAConfig::validate has no check for TLS with http://.
		{"tls with http", func(c *Config) { c.Peers[1].URL = "http://127.0.0.1:8002/" }, ""},
		// A peer's specified "" overrides the relationship's value.
		{"peer empty strings turn tls off", func(c *Config) {
			c.Peers[1].URL, c.Peers[1].TLSSet = "http://127.0.0.1:8002/", [3]bool{true, true, true}
		}, ""},
		{"peer empty strings with https", func(c *Config) { c.Peers[1].TLSSet = [3]bool{true, true, true} },
			"https scheme is not supported for server server2 where TLS is disabled"},
		{"peer empty cert-file only", func(c *Config) { c.Peers[1].TLSSet[1] = true },
			"bad TLS config for server server2: cert-file parameter is missing or empty"},
		{"mixed http and https", func(c *Config) {
			c.TrustAnchor, c.CertFile, c.KeyFile = "", "", ""
			c.Peers[0].TrustAnchor, c.Peers[0].CertFile, c.Peers[0].KeyFile = ca.file, cert, key
			c.Peers[1].URL = "http://127.0.0.1:8002/"
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tlsPairConfig("server2", u1, u2, ca.file, cert, key)
			tc.mod(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestTLSForMerge(t *testing.T) {
	c := Config{TrustAnchor: "ca", CertFile: "c", KeyFile: "k"}
	if got := c.tlsFor(&Peer{CertFile: "pc", KeyFile: "pk"}); got != (peer.TLSParams{TrustAnchor: "ca", CertFile: "pc", KeyFile: "pk"}) {
		t.Fatalf("merge: %+v", got)
	}
	if got := c.tlsFor(&Peer{}); got != (peer.TLSParams{TrustAnchor: "ca", CertFile: "c", KeyFile: "k"}) {
		t.Fatalf("inherit: %+v", got)
	}
}

// TestTLSParity (issue 10 item 3): TLS as Kea 2.2 configures it. With
// http:// URLs and TLS parameters, both servers speak TLS on those ports
// (ha_config.cc, HAConfig::validate accepts it; the listener and clients
// follow the TLS parameters, not the scheme). A peer entry giving ""
// for all three parameters turns TLS off for that peer only: its listener
// is plain HTTP and the partner talks plain HTTP to it, while it still
// talks TLS to the partner.
func TestTLSParity(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ha")
	c1, k1 := ca.issue("server1")
	c2, k2 := ca.issue("server2")
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	cl, err := tls.LoadX509KeyPair(c2, k2)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cl}, InsecureSkipVerify: true}
	for _, tc := range []struct {
		name        string
		server2Off  bool // server2's entry gives "" for the three parameters
		server2TLS  bool // server2's listener speaks TLS
		server1TLS  bool
		url1, url2f string
	}{
		{name: "tls with http urls", server1TLS: true, server2TLS: true, url1: "http", url2f: "http"},
		{name: "tls off for one peer", server2Off: true, server1TLS: true, server2TLS: false, url1: "https", url2f: "http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p1, p2 := freePort(t), freePort(t)
			url1 := fmt.Sprintf("%s://127.0.0.1:%d/", tc.url1, p1)
			url2 := fmt.Sprintf("%s://127.0.0.1:%d/", tc.url2f, p2)
			cfg1 := tlsPairConfig("server1", url1, url2, ca.file, c1, k1)
			cfg2 := tlsPairConfig("server2", url1, url2, ca.file, c2, k2)
			if tc.server2Off {
				for _, c := range []*Config{&cfg1, &cfg2} {
					c.Peers[1].TLSSet = [3]bool{true, true, true}
				}
			}
			s1 := startTLSService(t, cfg1)
			s2 := startTLSService(t, cfg2)
			waitFor(t, "both load-balancing", 15*time.Second, func() bool {
				return s1.State() == "load-balancing" && s2.State() == "load-balancing"
			}, func() string {
				return fmt.Sprintf("s1=%s/%s s2=%s/%s", s1.State(), s1.PartnerState(), s2.State(), s2.PartnerState())
			})
			for _, l := range []struct {
				name string
				port int
				tls  bool
			}{{"server1", p1, tc.server1TLS}, {"server2", p2, tc.server2TLS}} {
				overTLS := heartbeatOver(fmt.Sprintf("https://127.0.0.1:%d/", l.port), clientTLS)
				plain := heartbeatOver(fmt.Sprintf("http://127.0.0.1:%d/", l.port), nil)
				if l.tls && (overTLS != nil || plain == nil) {
					t.Errorf("%s listener: want TLS only; over TLS: %v, plain: %v", l.name, overTLS, plain)
				}
				if !l.tls && (overTLS == nil || plain != nil) {
					t.Errorf("%s listener: want plain HTTP only; over TLS: %v, plain: %v", l.name, overTLS, plain)
				}
			}
		})
	}
}
