package config

import (
	"net/netip"
	"testing"
	"time"
)

const seedFile = "testdata/ha-load-balancing-server2-mt.json"

func TestSeedLoads(t *testing.T) {
	c, warns, err := Load(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	d := c.Dhcp4
	ha := d.HA
	if ha == nil || !d.LeaseCmds {
		t.Fatalf("HA = %v, LeaseCmds = %v", ha, d.LeaseCmds)
	}
	if ha.ThisServerName != "server2" || ha.Mode != HALoadBalancing || ha.This().Role != RoleSecondary {
		t.Errorf("this server = %q mode %q role %q", ha.ThisServerName, ha.Mode, ha.This().Role)
	}
	peers := map[string]*HAPeer{}
	for _, p := range ha.Peers {
		peers[p.Name] = p
	}
	if p := peers["server1"]; p == nil || p.Role != RolePrimary || p.Host != netip.MustParseAddr("192.168.56.33") || p.Port != 8000 || !p.AutoFailover {
		t.Errorf("server1 = %+v", p)
	}
	if ha.HeartbeatDelay != 10*time.Second || ha.MaxResponseDelay != 60*time.Second || ha.MaxAckDelay != 5*time.Second ||
		ha.MaxUnackedClients != 5 || ha.SyncTimeout != time.Minute || ha.DelayedUpdatesLimit != 100 || ha.SyncPageLimit != 10000 {
		t.Errorf("HA timers = %+v", ha)
	}
	if !ha.MultiThreading.EnableMultiThreading || !ha.MultiThreading.HTTPDedicatedListener {
		t.Errorf("HA MT = %+v", ha.MultiThreading)
	}
	if !d.MultiThreading.EnableMultiThreading || d.MultiThreading.ThreadPoolSize != 4 || d.MultiThreading.PacketQueueSize != 64 {
		t.Errorf("MT = %+v", d.MultiThreading)
	}
	if d.ControlSocket == nil || d.ControlSocket.SocketName != "/tmp/kea4-ctrl-socket" {
		t.Errorf("control socket = %+v", d.ControlSocket)
	}
	if d.LeaseDatabase.Type != "memfile" || !d.LeaseDatabase.Persist || d.LeaseDatabase.LFCInterval != 3600 || d.LeaseDatabase.Name != DefaultLeaseFile {
		t.Errorf("lease db = %+v", d.LeaseDatabase)
	}
	if len(d.ClientClasses) != 6 || d.ClientClasses[5].Name != "laptops_server2" || d.ClientClasses[0].Test != "substring(option[60].hex,0,6) == 'Aastra'" {
		t.Errorf("classes = %+v", d.ClientClasses)
	}
	if len(d.Subnet4) != 1 {
		t.Fatalf("subnets = %d", len(d.Subnet4))
	}
	s := d.Subnet4[0]
	if s.ID != 1 || s.Subnet != netip.MustParsePrefix("192.0.3.0/24") || len(s.Relay.Addrs) != 1 || s.Relay.Addrs[0] != netip.MustParseAddr("192.168.56.1") {
		t.Errorf("subnet = %+v", s)
	}
	wantPools := []struct {
		first, last, class string
		size               uint64
	}{
		{"192.0.3.100", "192.0.3.125", "phones_server1", 26},
		{"192.0.3.126", "192.0.3.150", "laptops_server1", 25},
		{"192.0.3.200", "192.0.3.225", "phones_server2", 26},
		{"192.0.3.226", "192.0.3.250", "laptops_server2", 25},
	}
	if len(s.Pools) != len(wantPools) {
		t.Fatalf("pools = %d", len(s.Pools))
	}
	for i, w := range wantPools {
		p := s.Pools[i]
		if p.First.String() != w.first || p.Last.String() != w.last || p.ClientClass != w.class || p.Size() != w.size {
			t.Errorf("pool %d = %s-%s %q size %d", i, p.First, p.Last, p.ClientClass, p.Size())
		}
	}
	if len(s.OptionData) != 1 || s.OptionData[0].Code != 3 || string(s.OptionData[0].Wire) != "\xc0\x00\x03\x01" {
		t.Errorf("subnet options = %+v", s.OptionData)
	}
	if len(d.Loggers) != 2 || d.Loggers[1].Name != "kea-dhcp4.ha-hooks" || d.Loggers[1].DebugLevel != 99 ||
		len(d.Loggers[0].OutputOptions) != 1 || d.Loggers[0].OutputOptions[0].Output != "stdout" {
		t.Errorf("loggers = %+v", d.Loggers)
	}
	r := d.Resolve(s)
	if *r.ValidLifetime != 7200 || *r.MinValidLifetime != 7200 || *r.T1Percent != 0.5 || *r.T2Percent != 0.875 ||
		!*r.MatchClientID || *r.Authoritative || r.RenewTimer != nil || r.NextServer.String() != "0.0.0.0" {
		t.Errorf("resolved scope wrong")
	}
	if d.XDHCP.Datapath != DatapathAuto || d.XDHCP.ControlSocketMode != 0o600 || d.XDHCP.ControlSocketGID != -1 || d.XDHCP.OfferLifetime != 0 ||
		d.XDHCP.RateLimits != DefaultRateLimits() || !d.EchoClientID || d.DeclineProbationPeriod != 86400 {
		t.Errorf("globals: xdhcp %+v echo %v decline %d", d.XDHCP, d.EchoClientID, d.DeclineProbationPeriod)
	}
}

func TestInheritance(t *testing.T) {
	in := wrap(`"valid-lifetime": 600, "authoritative": true, "renew-timer": 100,
	"shared-networks": [ { "name": "n", "valid-lifetime": 300, "match-client-id": false, "relay": { "ip-addresses": [ "192.0.2.254", "192.0.2.253" ] },
		"subnet4": [ { "subnet": "192.0.2.0/24" }, { "subnet": "192.0.3.0/24", "id": 7, "min-valid-lifetime": 50, "valid-lifetime": 60, "match-client-id": true } ] } ],
	"subnet4": [ { "subnet": "198.18.0.0/16", "reservation-mode": "global", "next-server": "192.0.2.9",
		"user-context": { "xdhcp-note": 1 } } ],
	"user-context": { "xdhcp": { "datapath": "udp", "bpf-pin-path": "/sys/fs/bpf/x", "prometheus": { "listen": "127.0.0.1:9100" },
		"control-socket-mode": "0660", "control-socket-group": "root", "afxdp": { "frame-count": 4096, "frame-size": 2048, "queues": 2 },
		"offer-lifetime": 30, "rate-limits": { "client-rate": 2, "unknown-client-rate": 0 } }, "free": [1, 2] }`)
	c, _, err := Parse("t.json", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Dhcp4
	all := d.AllSubnets()
	if len(all) != 3 || all[0].ID != 1 || all[1].ID != 7 || all[2].ID != 2 {
		t.Fatalf("ids: %d %d %d", all[0].ID, all[1].ID, all[2].ID)
	}
	tests := []struct {
		s                    *Subnet4
		valid, lo, hi, renew uint32
		match, auth, resGlob bool
		relays               int
	}{
		{all[0], 300, 300, 300, 100, false, true, false, 2},
		{all[1], 60, 50, 60, 100, true, true, false, 2},
		{all[2], 600, 600, 600, 100, true, true, true, 0},
	}
	for i, tt := range tests {
		r := d.Resolve(tt.s)
		if *r.ValidLifetime != tt.valid || *r.MinValidLifetime != tt.lo || *r.MaxValidLifetime != tt.hi || *r.RenewTimer != tt.renew ||
			*r.MatchClientID != tt.match || *r.Authoritative != tt.auth || *r.ReservationsGlobal != tt.resGlob {
			t.Errorf("subnet %d resolved wrong: valid %d/%d/%d", i, *r.ValidLifetime, *r.MinValidLifetime, *r.MaxValidLifetime)
		}
		relays := tt.s.Relay.Addrs
		if len(relays) == 0 && tt.s.Network != nil {
			relays = tt.s.Network.Relay.Addrs
		}
		if len(relays) != tt.relays {
			t.Errorf("subnet %d relays = %v", i, relays)
		}
	}
	if all[2].NextServer.String() != "192.0.2.9" || *d.Resolve(all[2]).ReservationsInSubnet {
		t.Errorf("subnet 3 next-server/reservation-mode wrong")
	}
	want := XDHCP{Datapath: DatapathUDP, BPFPinPath: "/sys/fs/bpf/x", Prometheus: Prometheus{Listen: "127.0.0.1:9100"},
		ControlSocketMode: 0o660, ControlSocketGroup: "root", ControlSocketGID: 0, AFXDP: AFXDP{FrameCount: 4096, FrameSize: 2048, Queues: 2}, OfferLifetime: 30}
	want.RateLimits = DefaultRateLimits()
	want.KernelRenew = true // the default
	want.RateLimits.ClientRate = 2
	want.RateLimits.UnknownRate = 0
	got := d.XDHCP
	got.Pos = Pos{}
	if got != want {
		t.Errorf("xdhcp = %+v, want %+v", got, want)
	}
}
