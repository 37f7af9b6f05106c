package ha

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// TestInteropRealKeaTLS pairs our Service (server2) with a real Kea 2.2
// (server1) over https with mutual certificate authentication: Kea's HA+MT
// dedicated listener uses the relationship's trust-anchor, cert-file,
// key-file and require-client-certs, as ours does.
func TestInteropRealKeaTLS(t *testing.T) {
	bin := requireKeaHA(t)
	testenv.Short(t, "runs a real kea-dhcp4 for a few seconds")
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ha")
	kcert, kkey := ca.issue("kea")
	ocert, okey := ca.issue("xdhcpd")
	p1, p2 := freePort(t), freePort(t)
	url1, url2 := fmt.Sprintf("https://127.0.0.1:%d/", p1), fmt.Sprintf("https://127.0.0.1:%d/", p2)
	// Kea → us: the lease startInteropKea gives Kea is fetched by our sync
	// (lease4-get-page over our TLS client).
	k := startInteropKea(t, bin, dir, url1, url2, map[string]any{
		"trust-anchor": ca.file, "cert-file": kcert, "key-file": kkey, "require-client-certs": true})
	cfg := interopConfig(url1, url2)
	cfg.TrustAnchor, cfg.CertFile, cfg.KeyFile = ca.file, ocert, okey
	s, store, _, sw := startInteropService(t, cfg)
	dump := interopDump(k, s)
	// Kea's remote state comes from its heartbeats to our TLS listener.
	waitFor(t, "both load-balancing over https", 20*time.Second, func() bool { return bothLoadBalancing(k, s) }, dump)
	if _, ok := store.Get(netip.MustParseAddr("192.0.2.50")); !ok {
		t.Fatalf("lease 192.0.2.50 not synced from kea over https; store %v", store.All())
	}

	// Us → Kea: a lease update over our TLS client.
	now := time.Now().Unix()
	l := &lease.Lease{Addr: netip.MustParseAddr("192.0.2.60"), HWAddr: []byte{0, 1, 2, 3, 4, 5},
		ClientID: []byte{1, 0, 1, 2, 3, 4, 5}, ValidLifetime: 4000, CLTT: now, SubnetID: 1, Hostname: "host60"}
	if _, err := store.Put(l); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(t.Context(), []lease.Change{{New: l}}); err != nil {
		t.Fatalf("lease4-update to kea over https: %v", err)
	}
	if !k.hasLease("192.0.2.60") {
		t.Fatalf("kea lacks 192.0.2.60 after Sync\n%s", dump())
	}

	// Kea's client → our listener: ha-sync on Kea pulls a lease only we
	// hold (dhcp-disable, lease4-get-page, dhcp-enable sent to us).
	l2 := l.Clone()
	l2.Addr = netip.MustParseAddr("192.0.2.61")
	if _, err := store.Put(l2); err != nil {
		t.Fatal(err)
	}
	res, args, err := k.control("ha-sync", map[string]any{"server-name": "server2", "max-period": 10})
	if err != nil || res != 0 {
		t.Fatalf("ha-sync on kea: %d %s %v\n%s", res, args, err, dump())
	}
	if !k.hasLease("192.0.2.61") {
		t.Fatalf("kea did not fetch 192.0.2.61 from us over https\n%s", dump())
	}
	if !sw.Enabled() {
		t.Fatal("our dhcp service still disabled after kea's ha-sync")
	}

	// Kea's listener requires a client certificate from the trust anchor.
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	good, err := tls.LoadX509KeyPair(ocert, okey)
	if err != nil {
		t.Fatal(err)
	}
	if err := heartbeatOver(url1, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{good}}); err != nil {
		t.Fatalf("heartbeat to kea with a valid certificate: %v", err)
	}
	if err := heartbeatOver(url1, &tls.Config{RootCAs: roots}); err == nil {
		t.Fatal("kea accepted a client without a certificate")
	}
}

// TestInteropRealKeaTLSHTTPURL: TLS parameters with http:// URLs. Kea
// 2.2's HAConfig::validate (ha_config.cc) accepts this and Kea speaks TLS
// anyway; so do we, and the pair reaches load-balancing over TLS and
// carries lease updates both ways.
func TestInteropRealKeaTLSHTTPURL(t *testing.T) {
	bin := requireKeaHA(t)
	testenv.Short(t, "runs a real kea-dhcp4 for a few seconds")
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ha")
	kcert, kkey := ca.issue("kea")
	ocert, okey := ca.issue("xdhcpd")
	p1, p2 := freePort(t), freePort(t)
	url1, url2 := fmt.Sprintf("http://127.0.0.1:%d/", p1), fmt.Sprintf("http://127.0.0.1:%d/", p2)
	k := startInteropKea(t, bin, dir, url1, url2, map[string]any{
		"trust-anchor": ca.file, "cert-file": kcert, "key-file": kkey, "require-client-certs": true})
	cfg := interopConfig(url1, url2)
	cfg.TrustAnchor, cfg.CertFile, cfg.KeyFile = ca.file, ocert, okey
	s, store, _, _ := startInteropService(t, cfg)
	dump := interopDump(k, s)
	waitFor(t, "both load-balancing, TLS on http:// URLs", 20*time.Second, func() bool { return bothLoadBalancing(k, s) }, dump)
	if _, ok := store.Get(netip.MustParseAddr("192.0.2.50")); !ok {
		t.Fatalf("lease 192.0.2.50 not synced from kea; store %v", store.All())
	}
	now := time.Now().Unix()
	l := &lease.Lease{Addr: netip.MustParseAddr("192.0.2.62"), HWAddr: []byte{0, 1, 2, 3, 4, 6},
		ClientID: []byte{1, 0, 1, 2, 3, 4, 6}, ValidLifetime: 4000, CLTT: now, SubnetID: 1, Hostname: "host62"}
	if _, err := store.Put(l); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(t.Context(), []lease.Change{{New: l}}); err != nil {
		t.Fatalf("lease4-update to kea: %v", err)
	}
	if !k.hasLease("192.0.2.62") {
		t.Fatalf("kea lacks 192.0.2.62 after Sync\n%s", dump())
	}
	// Our listener on the http:// URL's port speaks TLS only.
	if err := heartbeatOver(url2, nil); err == nil {
		t.Fatal("our listener answered plain HTTP although TLS is configured")
	}
}
