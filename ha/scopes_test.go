package ha

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// query builds a DHCP message of type mt from chaddr with secs.
func query(t *testing.T, mt dhcpv4.MessageType, mac string, secs uint16) *dhcpv4.DHCPv4 {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	m, err := dhcpv4.New(dhcpv4.WithHwAddr(hw), dhcpv4.WithMessageType(mt))
	if err != nil {
		t.Fatal(err)
	}
	m.NumSeconds = secs
	return m
}

// Vectors from docs/kea/lb-hash.md §6: 08:00:27:12:34:56 hashes to 52 (primary),
// 00:01:02:03:04:05 to 161 (secondary).
const (
	primaryMAC   = "08:00:27:12:34:56"
	secondaryMAC = "00:01:02:03:04:05"
)

func TestScopesPerState(t *testing.T) {
	tests := []struct {
		state        State
		autoFailover bool
		wantScopes   []string
		wantPrimary  bool // serves a primary-bucket DISCOVER
		wantSecond   bool // serves a secondary-bucket DISCOVER
		wantOther    bool // serves a non-balanced query (BOOTP-ish type)
	}{
		{StateWaiting, true, []string{}, false, false, false},
		{StateSyncing, true, []string{}, false, false, false},
		{StateReady, true, []string{}, false, false, false},
		{StateLoadBalancing, true, []string{"server2"}, false, true, true},
		{StateCommunicationRecovery, true, []string{"server2"}, false, true, true},
		{StatePartnerDown, true, []string{"server1", "server2"}, true, true, true},
		{StatePartnerDown, false, []string{"server2"}, false, true, true},
		{StatePartnerInMaintenance, true, []string{"server1", "server2"}, true, true, true},
		{StateInMaintenance, true, []string{}, false, false, false},
		{StateTerminated, true, []string{"server2"}, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.state.String(), func(t *testing.T) {
			env := newTestService(t, "http://127.0.0.1:1/", func(c *Config) { c.Peers[1].AutoFailover = tt.autoFailover })
			s := env.s
			s.mu.Lock()
			s.transitionLocked(tt.state)
			got := s.servedNamesLocked()
			s.mu.Unlock()
			if !slices.Equal(got, tt.wantScopes) {
				t.Fatalf("scopes %v, want %v", got, tt.wantScopes)
			}
			b, n := env.buckets.get()
			if n == 0 {
				t.Fatal("no bucket table pushed")
			}
			for h := 0; h < 256; h++ {
				want := (h%2 == 0 && tt.wantPrimary) || (h%2 == 1 && tt.wantSecond)
				if b[h] != want {
					t.Fatalf("bucket %d = %v, want %v", h, b[h], want)
				}
			}
			class, serve := s.Scope(query(t, dhcpv4.MessageTypeDiscover, primaryMAC, 0))
			if class != "HA_server1" || serve != tt.wantPrimary {
				t.Fatalf("primary client: %q %v, want HA_server1 %v", class, serve, tt.wantPrimary)
			}
			class, serve = s.Scope(query(t, dhcpv4.MessageTypeRequest, secondaryMAC, 0))
			if class != "HA_server2" || serve != tt.wantSecond {
				t.Fatalf("secondary client: %q %v, want HA_server2 %v", class, serve, tt.wantSecond)
			}
			other := query(t, dhcpv4.MessageTypeAck, secondaryMAC, 0)
			class, serve = s.Scope(other)
			if class != "HA_server1" || serve != tt.wantOther {
				t.Fatalf("non-balanced: %q %v, want HA_server1 %v", class, serve, tt.wantOther)
			}
		})
	}
}

func TestScopeNoIdentifierDropped(t *testing.T) {
	env := newTestService(t, "http://127.0.0.1:1/", nil)
	env.s.mu.Lock()
	env.s.transitionLocked(StatePartnerDown)
	env.s.mu.Unlock()
	m := query(t, dhcpv4.MessageTypeDiscover, primaryMAC, 0)
	m.ClientHWAddr = nil
	if class, serve := env.s.Scope(m); class != "" || serve {
		t.Fatalf("no identifier: %q %v, want dropped without class", class, serve)
	}
}

func TestUnackedClientsDetection(t *testing.T) {
	env := newTestService(t, "http://127.0.0.1:1/", func(c *Config) { c.MaxUnackedClients = 2; c.MaxAckDelay = 5 * time.Second })
	s := env.s
	s.mu.Lock()
	s.transitionLocked(StateLoadBalancing)
	s.partnerState = StateUnavailable
	s.mu.Unlock()
	// Not interrupted yet: nothing analyzed.
	s.Scope(query(t, dhcpv4.MessageTypeDiscover, primaryMAC, 60))
	if _, _, a := s.det.counts(); a != 0 {
		t.Fatalf("analyzed %d packets while not interrupted", a)
	}
	env.clock.Add(s.cfg.MaxResponseDelay + time.Second)
	steps := []struct {
		mac        string
		secs       uint16
		wantUnack  int
		wantConn   int
		wantDetect bool
	}{
		{"08:00:27:12:34:56", 1, 0, 1, false},      // acked (1 s <= 5 s)
		{"08:00:27:12:34:56", 6, 1, 1, false},      // same client becomes unacked
		{"08:00:27:12:34:56", 0, 1, 1, false},      // never back to acked
		{"11:22:33:44:55:66", 0x0600, 2, 2, false}, // low byte 0: swapped to 6 s
		{"52:54:00:00:00:03", 30, 3, 3, true},      // 3 > max-unacked-clients 2
		{"52:54:00:00:00:04", 30, 4, 4, true},
	}
	for i, st := range steps {
		s.Scope(query(t, dhcpv4.MessageTypeDiscover, st.mac, st.secs))
		conn, unack, _ := s.det.counts()
		if conn != st.wantConn || unack != st.wantUnack {
			t.Fatalf("step %d: connecting %d unacked %d, want %d %d", i, conn, unack, st.wantConn, st.wantUnack)
		}
		if got := s.det.failureDetected(s.cfg.MaxUnackedClients); got != st.wantDetect {
			t.Fatalf("step %d: failureDetected %v, want %v", i, got, st.wantDetect)
		}
	}
	st := s.Status()[0].HAServers.Remote
	if !st.CommunicationInterrupted || st.UnackedClients != 4 || st.ConnectingClients != 4 || st.AnalyzedPackets != 6 {
		t.Fatalf("status remote %+v", st)
	}
	s.runModel(t.Context())
	if s.State() != "partner-down" {
		t.Fatalf("state %s, want partner-down after unacked clients", s.State())
	}
}
