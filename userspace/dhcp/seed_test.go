package dhcp

import (
	"net/netip"
	"os"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// TestSeedClasses runs the seed configuration unchanged: phones (option 60
// starting "Aastra") and laptops (everything else), each split between the
// HA peers by member('HA_server1') / member('HA_server2') expressions, pick
// their pools through real class evaluation.
func TestSeedClasses(t *testing.T) {
	seed, err := os.ReadFile("../../config/testdata/ha-load-balancing-server2-mt.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		vendorClass string
		hw          byte // oddEven: even → HA_server1, odd → HA_server2
		first, last string
	}{
		{"phone of server1", "Aastra6731i", 2, "192.0.3.100", "192.0.3.125"},
		{"laptop of server1", "MSFT 5.0", 4, "192.0.3.126", "192.0.3.150"},
		{"phone of server2", "Aastra6731i", 3, "192.0.3.200", "192.0.3.225"},
		{"laptop of server2 (no option 60)", "", 5, "192.0.3.226", "192.0.3.250"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, string(seed), func(d *Deps) { d.ScopeFilter = oddEven{both: true} })
			var mods []dhcpv4.Modifier
			if tc.vendorClass != "" {
				mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(tc.vendorClass)))
			}
			m := msg(t, dhcpv4.MessageTypeDiscover, mac(tc.hw), mods...)
			m.GatewayIPAddr = ip("192.168.56.1") // the seed's relay address
			r := v.handle(unicastReq(m, "192.168.56.1"))
			if r == nil {
				t.Fatal("no offer")
			}
			a := addrOf(r.Msg.YourIPAddr)
			if a.Less(netip.MustParseAddr(tc.first)) || netip.MustParseAddr(tc.last).Less(a) {
				t.Fatalf("offered %s, want %s-%s", a, tc.first, tc.last)
			}
			if gw := r.Msg.Router(); len(gw) != 1 || !gw[0].Equal(ip("192.0.3.1")) {
				t.Errorf("routers option %v, want 192.0.3.1", gw)
			}
		})
	}
}
