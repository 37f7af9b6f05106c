package leasecmds

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// oneSubnet is subnet 1 = 192.0.2.0/24, valid lifetime 3600.
type oneSubnet struct{}

func (oneSubnet) Subnet(id uint32) (netip.Prefix, uint32, bool) {
	if id != 1 {
		return netip.Prefix{}, 0, false
	}
	return netip.MustParsePrefix("192.0.2.0/24"), 3600, true
}

func (oneSubnet) SubnetFor(a netip.Addr) (uint32, bool) {
	return 1, netip.MustParsePrefix("192.0.2.0/24").Contains(a)
}

func setup(t *testing.T) (*control.Dispatcher, *lease.Store) {
	t.Helper()
	s, _, err := lease.Open(lease.Options{Persist: false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d := control.NewDispatcher()
	(&Commands{Store: s, Subnets: oneSubnet{}, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}).Register(d)
	return d, s
}

func TestLeaseCommands(t *testing.T) {
	d, store := setup(t)
	steps := []struct {
		name, cmd  string
		wantResult int
		wantText   string
		check      func(t *testing.T, r control.Response)
	}{
		{"add", `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.10","hw-address":"0a:0b:0c:0d:0e:0f","client-id":"01:0a:0b:0c:0d:0e:0f","hostname":"Host-A"}}`,
			0, "Lease for address 192.0.2.10, subnet-id 1 added.", func(t *testing.T, _ control.Response) {
				l, ok := store.Get(netip.MustParseAddr("192.0.2.10"))
				if !ok || l.Hostname != "host-a" || l.ValidLifetime != 3600 || l.CLTT != 1_800_000_000 || l.SubnetID != 1 {
					t.Errorf("stored %+v", l)
				}
			}},
		{"add again", `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.10","hw-address":"0a:0b:0c:0d:0e:0f"}}`, 1, "IPv4 lease already exists.", nil},
		{"add outside subnet", `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.11","hw-address":"aa:bb:cc:dd:ee:ff","subnet-id":1,"expire":100,"valid-lft":200}}`, 1, "expiration time must be greater than valid lifetime", nil},
		{"add unknown subnet", `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.12","hw-address":"aa:bb:cc:dd:ee:ff","subnet-id":7}}`, 1, "Invalid subnet-id: No IPv4 subnet with subnet-id=7 currently configured.", nil},
		{"add foreign address", `{"command":"lease4-add","arguments":{"ip-address":"198.18.0.5","hw-address":"aa:bb:cc:dd:ee:ff","subnet-id":1}}`, 1, "The address 198.18.0.5 does not belong to subnet 192.0.2.0/24, subnet-id=1", nil},
		{"add no address", `{"command":"lease4-add","arguments":{"hw-address":"aa:bb:cc:dd:ee:ff"}}`, 1, "missing parameter 'ip-address'", nil},
		{"keys are case-sensitive", `{"command":"lease4-add","arguments":{"IP-Address":"192.0.2.13","hw-address":"aa:bb:cc:dd:ee:ff"}}`, 1, "missing parameter 'ip-address'", nil},
		{"hw-address not a string", `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.13","hw-address":7}}`, 1, "invalid type specified for parameter 'hw-address'", nil},
		{"subnet-id mistyped", `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.13","hw-address":"aa:bb:cc:dd:ee:ff","subnet-id":"1"}}`, 1, "invalid type specified for parameter 'subnet-id'", nil},
		{"get by address", `{"command":"lease4-get","arguments":{"ip-address":"192.0.2.10"}}`, 0, "IPv4 lease found.", func(t *testing.T, r control.Response) {
			b, _ := json.Marshal(r.Arguments)
			for _, want := range []string{`"ip-address":"192.0.2.10"`, `"hw-address":"0a:0b:0c:0d:0e:0f"`, `"client-id":"01:0a:0b:0c:0d:0e:0f"`, `"cltt":1800000000`, `"valid-lft":3600`, `"subnet-id":1`, `"state":0`} {
				if !strings.Contains(string(b), want) {
					t.Errorf("lease JSON %s lacks %s", b, want)
				}
			}
		}},
		{"get by hw", `{"command":"lease4-get","arguments":{"identifier-type":"hw-address","identifier":"0a0b0c0d0e0f","subnet-id":1}}`, 0, "IPv4 lease found.", nil},
		{"get by client-id", `{"command":"lease4-get","arguments":{"identifier-type":"client-id","identifier":"01 0a 0b 0c 0d 0e 0f","subnet-id":1}}`, 0, "IPv4 lease found.", nil},
		{"get missing", `{"command":"lease4-get","arguments":{"ip-address":"192.0.2.99"}}`, 3, "Lease not found.", nil},
		{"get bad type", `{"command":"lease4-get","arguments":{"identifier-type":"foo","identifier":"01","subnet-id":1}}`, 1, "Incorrect identifier type: foo", nil},
		{"get no args", `{"command":"lease4-get"}`, 1, "Parameters missing or are not a map.", nil},
		{"update missing", `{"command":"lease4-update","arguments":{"ip-address":"192.0.2.20","hw-address":"11:22:33:44:55:66"}}`, 1, "either because the lease has been deleted", nil},
		{"update force", `{"command":"lease4-update","arguments":{"ip-address":"192.0.2.20","hw-address":"11:22:33:44:55:66","force-create":true,"subnet-id":1,"expire":1800000600,"valid-lft":600}}`, 0, "IPv4 lease added.", func(t *testing.T, _ control.Response) {
			l, _ := store.Get(netip.MustParseAddr("192.0.2.20"))
			if l == nil || l.CLTT != 1_800_000_000 || l.ValidLifetime != 600 {
				t.Errorf("stored %+v", l)
			}
		}},
		{"update existing", `{"command":"lease4-update","arguments":{"ip-address":"192.0.2.20","hw-address":"11:22:33:44:55:66","hostname":"new","comment":"hi"}}`, 0, "IPv4 lease updated.", func(t *testing.T, _ control.Response) {
			l, _ := store.Get(netip.MustParseAddr("192.0.2.20"))
			if l == nil || l.Hostname != "new" || !strings.Contains(l.UserContext, `"comment"`) {
				t.Errorf("stored %+v", l)
			}
		}},
		{"update ignores cltt", `{"command":"lease4-update","arguments":{"ip-address":"192.0.2.20","hw-address":"11:22:33:44:55:66","cltt":1000,"valid-lft":600}}`, 0, "IPv4 lease updated.", func(t *testing.T, _ control.Response) {
			// Kea 2.2 derives cltt from expire (absent: now), never from "cltt".
			if l, _ := store.Get(netip.MustParseAddr("192.0.2.20")); l == nil || l.CLTT != 1_800_000_000 {
				t.Errorf("stored %+v", l)
			}
		}},
		{"update bad state", `{"command":"lease4-update","arguments":{"ip-address":"192.0.2.20","hw-address":"11:22:33:44:55:66","state":5}}`, 1, "Invalid state value", nil},
		{"get-all", `{"command":"lease4-get-all"}`, 0, "2 IPv4 lease(s) found.", nil},
		{"get-all subnets", `{"command":"lease4-get-all","arguments":{"subnets":[2]}}`, 3, "0 IPv4 lease(s) found.", nil},
		{"get-page", `{"command":"lease4-get-page","arguments":{"from":"start","limit":1}}`, 0, "1 IPv4 lease(s) found.", func(t *testing.T, r control.Response) {
			b, _ := json.Marshal(r.Arguments)
			if !strings.Contains(string(b), `"count":1`) || !strings.Contains(string(b), "192.0.2.10") {
				t.Errorf("page %s", b)
			}
		}},
		{"get-page next", `{"command":"lease4-get-page","arguments":{"from":"192.0.2.10","limit":10}}`, 0, "1 IPv4 lease(s) found.", nil},
		{"get-page end", `{"command":"lease4-get-page","arguments":{"from":"192.0.2.20","limit":10}}`, 3, "0 IPv4 lease(s) found.", nil},
		{"get-page zero", `{"command":"lease4-get-page","arguments":{"from":"start","limit":0}}`, 1, "page size of retrieved leases must not be 0", nil},
		{"get-page bad from", `{"command":"lease4-get-page","arguments":{"from":"x","limit":1}}`, 1, "'from' parameter value is neither 'start' keyword nor a valid IPv4 address", nil},
		{"by hw", `{"command":"lease4-get-by-hw-address","arguments":{"hw-address":"0a:0b:0c:0d:0e:0f"}}`, 0, "1 IPv4 lease(s) found.", nil},
		{"by client-id", `{"command":"lease4-get-by-client-id","arguments":{"client-id":"01:0a:0b:0c:0d:0e:0f"}}`, 0, "1 IPv4 lease(s) found.", nil},
		{"by hostname", `{"command":"lease4-get-by-hostname","arguments":{"hostname":"HOST-A"}}`, 0, "1 IPv4 lease(s) found.", nil},
		{"by hostname empty", `{"command":"lease4-get-by-hostname","arguments":{"hostname":""}}`, 1, "'hostname' parameter is empty", nil},
		{"by hw missing arg", `{"command":"lease4-get-by-hw-address","arguments":{}}`, 1, "'hw-address' parameter not specified", nil},
		{"by hw not hex", `{"command":"lease4-get-by-hw-address","arguments":{"hw-address":"0a::0b"}}`, 1, `invalid hw-address "0a::0b"`, nil},
		{"by client-id empty", `{"command":"lease4-get-by-client-id","arguments":{"client-id":""}}`, 1, `invalid client-id ""`, nil},
		{"by client-id not a string", `{"command":"lease4-get-by-client-id","arguments":{"client-id":1}}`, 1, "'client-id' parameter must be a string", nil},
		{"by client-id spaced", `{"command":"lease4-get-by-client-id","arguments":{"client-id":"01 0a 0b 0c 0d 0e 0f"}}`, 0, "1 IPv4 lease(s) found.", nil},
		{"del", `{"command":"lease4-del","arguments":{"ip-address":"192.0.2.20"}}`, 0, "IPv4 lease deleted.", nil},
		{"del again", `{"command":"lease4-del","arguments":{"ip-address":"192.0.2.20"}}`, 3, "IPv4 lease not found.", nil},
		{"wipe", `{"command":"lease4-wipe","arguments":{"subnet-id":1}}`, 0, "Deleted 1 IPv4 lease(s) from subnet(s) 1", nil},
		{"wipe empty", `{"command":"lease4-wipe"}`, 3, "Deleted 0 IPv4 lease(s) from subnet(s) ", nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := d.Dispatch(context.Background(), []byte(s.cmd))
			if r.Result != s.wantResult || !strings.Contains(r.Text, s.wantText) {
				t.Fatalf("got %+v, want %d %q", r, s.wantResult, s.wantText)
			}
			if s.check != nil {
				s.check(t, r)
			}
		})
	}
	if n := store.Count(); n != 0 {
		t.Errorf("after wipe %d leases remain", n)
	}
}

func TestUnregister(t *testing.T) {
	d, _ := setup(t)
	Unregister(d)
	if r := d.Dispatch(context.Background(), []byte(`{"command":"lease4-get-all"}`)); r.Result != control.ResultUnsupported {
		t.Fatalf("lease commands still registered: %+v", r)
	}
}
