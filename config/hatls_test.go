package config

import (
	"strings"
	"testing"
)

// TestHATLSParameters (issue 10 item 3): the TLS parameter rules of Kea
// 2.2's HAConfig::validate (ha_config.cc): merged per parameter, a peer's
// specified value (even "") over the relationship's; all three or none;
// https without TLS refused; TLS with an http:// URL accepted (Kea speaks
// TLS anyway), with a warning from us.
func TestHATLSParameters(t *testing.T) {
	const tlsAll = `"trust-anchor": "/ca.pem", "cert-file": "/c.pem", "key-file": "/k.pem", `
	ha := func(global, url1, peer1, url2 string) string {
		return wrap(`"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "this-server-name": "a", "mode": "load-balancing", ` +
			global + `"peers": [ { ` + peer1 + `"name": "a", "url": "` + url1 + `", "role": "primary" }, { "name": "b", "url": "` + url2 + `", "role": "secondary" } ] } ] } } ]`)
	}
	for _, tt := range []struct {
		name                      string
		global, url1, peer1, url2 string
		wantErr, wantWarn         string
		wantTLS1                  bool
	}{
		{name: "https both", global: tlsAll, url1: "https://192.0.2.1:8000/", url2: "https://192.0.2.2:8000/", wantTLS1: true},
		{name: "tls with http", global: tlsAll, url1: "http://192.0.2.1:8000/", url2: "https://192.0.2.2:8000/", wantTLS1: true,
			wantWarn: "TLS is configured for server a but its url 'http://192.0.2.1:8000/' is http://"},
		{name: "peer turns tls off", global: tlsAll, peer1: `"trust-anchor": "", "cert-file": "", "key-file": "", `,
			url1: "http://192.0.2.1:8000/", url2: "https://192.0.2.2:8000/"},
		{name: "peer turns tls off but https", global: tlsAll, peer1: `"trust-anchor": "", "cert-file": "", "key-file": "", `,
			url1: "https://192.0.2.1:8000/", url2: "https://192.0.2.2:8000/",
			wantErr: "https scheme is not supported for server a where TLS is disabled"},
		{name: "peer empties one", global: tlsAll, peer1: `"cert-file": "", `, url1: "https://192.0.2.1:8000/", url2: "https://192.0.2.2:8000/",
			wantErr: "bad TLS config for server a: cert-file parameter is missing or empty"},
		{name: "https without tls", url1: "https://192.0.2.1:8000/", url2: "http://192.0.2.2:8000/",
			wantErr: "https scheme is not supported for server a where TLS is disabled"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := Parse("t.json", []byte(ha(tt.global, tt.url1, tt.peer1, tt.url2)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := c.Dhcp4.HA
			ca, _, _ := h.TLS(h.Peers[0])
			if (ca != "") != tt.wantTLS1 {
				t.Errorf("server a TLS = %q, want enabled %v", ca, tt.wantTLS1)
			}
			var got []string
			for _, w := range warns {
				got = append(got, w.Msg)
			}
			joined := strings.Join(got, "\n")
			if tt.wantWarn != "" && !strings.Contains(joined, tt.wantWarn) {
				t.Errorf("warnings %q, want %q", got, tt.wantWarn)
			}
			if tt.wantWarn == "" && strings.Contains(joined, "TLS") {
				t.Errorf("unexpected TLS warning: %q", got)
			}
		})
	}
}
