package daemon

import (
	"testing"

	"github.com/xdhcp/xdhcp/config"
)

// TestHAConfigThreads: http-client-threads and http-listener-threads of 0
// (the seed's value) mean the core's thread count, as in Kea; otherwise
// every lease update of a multi-threaded server would queue on one
// connection to the partner.
func TestHAConfigThreads(t *testing.T) {
	cfg, _, err := config.Load("../../config/testdata/ha-load-balancing-server2-mt.json")
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Dhcp4.HA
	if h.MultiThreading.HTTPClientThreads != 0 {
		t.Fatalf("seed's http-client-threads is %d, the test expects 0", h.MultiThreading.HTTPClientThreads)
	}
	core := workerCount(cfg.Dhcp4) // the seed: thread-pool-size 4
	got, err := haConfig(h, core)
	if err != nil {
		t.Fatal(err)
	}
	if core != 4 || got.MultiThreading.HTTPClientThreads != 4 || got.MultiThreading.HTTPListenerThreads != 4 {
		t.Errorf("core %d: client threads %d, listener threads %d; want 4 and 4",
			core, got.MultiThreading.HTTPClientThreads, got.MultiThreading.HTTPListenerThreads)
	}
	h.MultiThreading.HTTPClientThreads = 2
	if got, _ := haConfig(h, core); got.MultiThreading.HTTPClientThreads != 2 {
		t.Errorf("explicit http-client-threads 2 became %d", got.MultiThreading.HTTPClientThreads)
	}
}
