package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPrometheusListener: with user-context.xdhcp.prometheus.listen set,
// the daemon serves /metrics in the Prometheus text format with the Kea
// statistics under Prometheus names (README, Metrics), per-subnet
// utilisation following the lease store.
func TestPrometheusListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	s := newCtlServer(t, "xdhcpd")
	body := `{ "Dhcp4": { "user-context": { "xdhcp": { "prometheus": { "listen": "` + addr + `" } } },` +
		strings.TrimPrefix(ctlConfig(s, "192.0.2.10 - 192.0.2.100", 4000), "{") + " }\n"
	if err := os.WriteFile(s.cfgPath, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	startXdhcpd(t, nil, s.cfgPath, s.sock)
	if r, err := ctlCmd(s.sock, `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.20","hw-address":"0a:0b:0c:0d:0e:0f"}}`); err != nil || r.Result != 0 {
		t.Fatalf("lease4-add: %+v %v", r, err)
	}

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q", ct)
	}
	for _, want := range []string{
		`xdhcp_dhcp4_subnet_addresses{subnet="1"} 91`,
		`xdhcp_dhcp4_subnet_assigned_addresses{subnet="1"} 1`,
		"xdhcp_dhcp4_received_packets_total 0",
		"# HELP xdhcp_dhcp4_received_packets_total",
		"# TYPE xdhcp_dhcp4_received_packets_total counter",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		fmt.Println(string(b))
	}
}
