package peer

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TLS as Kea 2.2 configures it (ha_config.cc, HAConfig::validate, and the
// HA+MT dedicated listener):
//
//   - trust-anchor, cert-file and key-file may be given at the relationship
//     level and per peer; a peer's value overrides the relationship's, one
//     parameter at a time. After merging, a peer has all three or none.
//   - The client towards a peer uses that peer's merged values: the peer's
//     server certificate is verified against its trust-anchor, and its
//     cert-file/key-file are presented as our client certificate.
//   - This server's listener uses this server's own merged values;
//     require-client-certs (relationship level, default true) makes it
//     request and verify client certificates against the trust-anchor.
//   - https without TLS parameters is refused (Kea: "bad url '...': https
//     scheme is not supported for server X where TLS is disabled"). Kea 2.2
//     accepts TLS parameters with an http:// URL and then speaks TLS anyway
//     (checked against kea-dhcp4 2.2; HAConfig::validate has no check for
//     it); so do we, the clients dialing TLS to the URL's host and port
//     (default 80), the config package warning. Peers may differ (Kea
//     checks each on its own). A peer's trust-anchor, cert-file or
//     key-file given as "" overrides the relationship's value: that
//     parameter is off for the peer (ha.Peer.TLSSet).
//   - Like Kea 2.2 (checked: its client accepts a server certificate without
//     a SAN for the URL's address), the server certificate's chain is
//     verified against the trust anchor but not its names.

// TLSParams are the merged TLS parameters of one peer (the merge is the
// configuration's: ha.Config.tlsFor).
type TLSParams struct {
	TrustAnchor, CertFile, KeyFile string
}

// Enabled reports whether any TLS parameter is set.
func (p TLSParams) Enabled() bool { return p.TrustAnchor != "" || p.CertFile != "" || p.KeyFile != "" }

// TLSMaterial is the loaded trust anchor and certificate of one peer.
type TLSMaterial struct {
	roots *x509.CertPool
	cert  tls.Certificate
}

// Load checks that all three parameters are set and loads the files. Errors
// name the parameter, as Kea's do.
func (p TLSParams) Load() (*TLSMaterial, error) {
	for _, v := range []struct{ name, val string }{
		{"trust-anchor", p.TrustAnchor}, {"cert-file", p.CertFile}, {"key-file", p.KeyFile},
	} {
		if v.val == "" {
			return nil, fmt.Errorf("%s parameter is missing or empty: all or none of TLS parameters must be set", v.name)
		}
	}
	roots, err := loadTrustAnchor(p.TrustAnchor)
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(p.CertFile)
	if err != nil {
		return nil, fmt.Errorf("cert-file: %w", err)
	}
	keyPEM, err := os.ReadFile(p.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("key-file: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cert-file %q / key-file %q: %w", p.CertFile, p.KeyFile, err)
	}
	return &TLSMaterial{roots: roots, cert: cert}, nil
}

// loadTrustAnchor reads a PEM CA file, or every PEM certificate in a
// directory (OpenSSL's hashed CA directory: files that are not PEM
// certificates are skipped).
func loadTrustAnchor(path string) (*x509.CertPool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("trust-anchor: %w", err)
	}
	pool := x509.NewCertPool()
	if !st.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("trust-anchor: %w", err)
		}
		n, err := addPEMCerts(pool, b)
		if err != nil {
			return nil, fmt.Errorf("trust-anchor %q: %w", path, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("trust-anchor %q: no PEM certificate found", path)
		}
		return pool, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("trust-anchor: %w", err)
	}
	total := 0
	for _, e := range ents {
		f := filepath.Join(path, e.Name())
		if fi, err := os.Stat(f); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if n, err := addPEMCerts(pool, b); err == nil {
			total += n
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("trust-anchor %q: no PEM certificate found in the directory", path)
	}
	return pool, nil
}

// addPEMCerts adds the CERTIFICATE blocks of b to pool.
func addPEMCerts(pool *x509.CertPool, b []byte) (int, error) {
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return n, nil
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return n, err
		}
		pool.AddCert(c)
		n++
	}
}

// verifyChain verifies a peer's certificate chain against roots for usage,
// without a name check (Kea 2.2 checks none).
func verifyChain(raw [][]byte, roots *x509.CertPool, usage x509.ExtKeyUsage) error {
	if len(raw) == 0 {
		return errors.New("peer presented no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("parse peer certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

// ClientConfig is the client configuration towards a peer: TLS 1.2+, its
// server certificate verified against the trust anchor, our certificate
// presented.
func (m *TLSMaterial) ClientConfig() *tls.Config {
	roots := m.roots
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		Certificates:       []tls.Certificate{m.cert},
		InsecureSkipVerify: true, // the chain is verified below, without a name check (as Kea)
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots, x509.ExtKeyUsageServerAuth)
		},
		NextProtos: []string{"http/1.1"},
	}
}

// ServerConfig is the listener configuration: TLS 1.2+, client
// certificates required and verified against the trust anchor when
// requireClient.
func (m *TLSMaterial) ServerConfig(requireClient bool) *tls.Config {
	c := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{m.cert},
		NextProtos:   []string{"http/1.1"},
		ClientAuth:   tls.NoClientCert,
	}
	if requireClient {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = m.roots
	}
	return c
}
