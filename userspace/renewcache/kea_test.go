//go:build linux

package renewcache

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

// TestKernelRenewVsKea: the kernel's ACK to a reused renewal carries what
// kea-dhcp4 2.2's ACK to the same renewal of the same lease carries: the
// same header fields and the same options with the same values, option 51
// being the valid lifetime minus the lease's age on each server and T1/T2
// derived from it. (Kea writes option 53 first; our encoder, and so the
// kernel, writes options in code order: the comparison is by option.)
// Relayed client with option 82 and a client id, subnet with fixed timers,
// next-server and boot file; and a direct client with calculated timers.
func TestKernelRenewVsKea(t *testing.T) {
	bin, err := keatest.Installed()
	if err != nil {
		if testenv.Required() {
			t.Fatalf("XDHCP_REQUIRE_ROOT_TESTS=1 but %v", err)
		}
		t.Skipf("needs %v", err)
	}
	l := newLab(t, fmt.Sprintf(labConfig, ""), true)

	// kea-dhcp4 with the same configuration, on a veth with the lab
	// server's address; the client side is the lab's neighbours.
	ks, kc := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, ks, "xd0", "198.18.0.1/24", kc, "xc0", "198.18.0.10/24")
	kc.Run(t, "ip", "addr", "add", "198.18.0.254/24", "dev", "xc0")
	kc.Run(t, "ip", "addr", "add", "198.19.0.1/24", "dev", "xc0")
	kc.Run(t, "ethtool", "-K", "xc0", "tx", "off")
	ks.Run(t, "ip", "route", "add", "198.19.0.0/24", "via", "198.18.0.254")
	dir, err := os.MkdirTemp("", "xk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "k.sock")
	cfg := fmt.Sprintf(labConfig, "")
	cfg = strings.Replace(cfg, `"interfaces-config": { "interfaces": [ "s0" ] },`,
		fmt.Sprintf(`"interfaces-config": { "interfaces": [ "xd0" ], "dhcp-socket-type": "udp" },
  "control-socket": { "socket-type": "unix", "socket-name": %q },
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": %q } ], "severity": "INFO" } ],`, sock, filepath.Join(dir, "kea.log")), 1)
	cfgPath := filepath.Join(dir, "kea.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := keatest.Start(keatest.Options{Bin: bin, Dir: dir, ConfigPath: cfgPath, Socket: sock, Netns: ks.Name})
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "kea.log"))
		t.Fatalf("%v\n%s", err, b)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "kea.log"))
			t.Logf("kea-dhcp4 log:\n%s", b[max(0, len(b)-3000):])
		}
		_ = k.Stop(5 * time.Second)
	})

	cases := []struct {
		name string
		c    *client
		addr netip.Addr
	}{
		{"direct, calculated T1/T2", &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 10},
			prl: []dhcpv4.OptionCode{dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer, dhcpv4.OptionDomainName}},
			netip.MustParseAddr("198.18.0.10")},
		{"relayed, option 82, client id, fixed timers, file", &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 0x13}, cid: []byte{1, 2, 0, 0, 0, 0, 0x13},
			relay: netip.MustParseAddr("198.19.0.1"), rai: []byte{1, 5, 'p', 'o', 'r', 't', '7', 2, 3, 'r', 'i', 'd'}},
			netip.MustParseAddr("198.19.0.13")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l.t = t
			// Kea: SELECTING, then the renewal (reused: age 0 or 1 s).
			// (kea-dhcp4 on UDP sockets answers a direct SELECTING by
			// broadcast, which it may not send here: the direct client's
			// first lease comes through the relay 198.18.0.254 instead.)
			sc := c.c
			if !sc.relay.IsValid() {
				r := *sc
				r.relay = netip.MustParseAddr("198.18.0.254")
				sc = &r
			}
			sel := l.selecting(sc, c.addr)
			if ack := keaExchange(t, kc, sc, sel); ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("kea-dhcp4 did not ACK the SELECTING request: %v", ack)
			}
			renewal := l.renewal(c.c, c.addr, 42, 0)
			kea := keaExchange(t, kc, c.c, renewal)
			if kea == nil || kea.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("kea-dhcp4 did not ACK the renewal: %v", kea)
			}
			// The kernel: the same lease in the lab, one user-space reuse, then the same renewal.
			l.lease(c.c, c.addr)
			l.teach(c.c, c.addr)
			ret, out, moved := l.run(renewal)
			if ret != xdpTX {
				t.Fatalf("kernel: verdict %d, counters %v", ret, moved)
			}
			var f packet.Frame
			if err := packet.Decode(out, &f); err != nil {
				t.Fatal(err)
			}
			kern, err := dhcpv4.FromBytes(f.Payload)
			if err != nil {
				t.Fatal(err)
			}
			compareWithKea(t, kern, kea)
		})
	}
	l.t = t
}

// selecting is c's SELECTING request for addr as the server receives it.
func (l *lab) selecting(c *client, addr netip.Addr) []byte {
	m := c.msg(l.t, 1, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(addr.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(srvAddr.AsSlice())))
	if c.relay.IsValid() {
		m.GatewayIPAddr, m.HopCount = c.relay.AsSlice(), 1
		if c.rai != nil {
			m.Options.Update(dhcpv4.OptGeneric(dhcpv4.OptionRelayAgentInformation, c.rai))
		}
		return frame(l.t, m, c.relay, srvAddr)
	}
	return frame(l.t, m, netip.IPv4Unspecified(), netip.MustParseAddr("255.255.255.255"))
}

// keaExchange sends the DHCP payload of fr to kea-dhcp4 from the client
// namespace as the frame's sender would (a relay from its giaddr:67, a
// client from :68), to the server's address, and returns the reply.
func keaExchange(t *testing.T, ns *testenv.Netns, c *client, fr []byte) *dhcpv4.DHCPv4 {
	t.Helper()
	var f packet.Frame
	if err := packet.Decode(fr, &f); err != nil {
		t.Fatal(err)
	}
	var reply *dhcpv4.DHCPv4
	err := ns.Do(func() error {
		local := &net.UDPAddr{Port: 68}
		if c.relay.IsValid() {
			local = &net.UDPAddr{IP: c.relay.AsSlice(), Port: 67}
		}
		conn, err := net.ListenUDP("udp4", local)
		if err != nil {
			return err
		}
		defer conn.Close()
		// To the server's address (a SELECTING broadcast is sent unicast
		// here: the client namespace has no route for 255.255.255.255).
		dst := &net.UDPAddr{IP: srvAddr.AsSlice(), Port: 67}
		if _, err := conn.WriteToUDP(f.Payload, dst); err != nil {
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 1500)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return err
			}
			m, err := dhcpv4.FromBytes(buf[:n])
			if err == nil && m.OpCode == dhcpv4.OpcodeBootReply && m.TransactionID == [4]byte(f.Payload[4:8]) {
				reply = m
				return nil
			}
		}
	})
	if err != nil {
		t.Fatalf("kea-dhcp4 exchange: %v", err)
	}
	return reply
}

// compareWithKea holds the kernel's ACK to Kea's: header fields, option
// codes, option values; lifetimes by Kea's rules on each side's own age.
func compareWithKea(t *testing.T, kern, kea *dhcpv4.DHCPv4) {
	t.Helper()
	hdr := func(m *dhcpv4.DHCPv4) string {
		return fmt.Sprintf("op %d htype %d hops %d xid %x flags %#x ciaddr %s yiaddr %s siaddr %s giaddr %s chaddr %s sname %q file %q",
			m.OpCode, m.HWType, m.HopCount, m.TransactionID, m.Flags, m.ClientIPAddr, m.YourIPAddr, m.ServerIPAddr,
			m.GatewayIPAddr, m.ClientHWAddr, m.ServerHostName, m.BootFileName)
	}
	if hdr(kern) != hdr(kea) {
		t.Errorf("header differs\nkernel %s\nkea    %s", hdr(kern), hdr(kea))
	}
	codes := func(m *dhcpv4.DHCPv4) []uint8 {
		var c []uint8
		for code := range m.Options {
			c = append(c, code)
		}
		slices.Sort(c)
		return c
	}
	if !slices.Equal(codes(kern), codes(kea)) {
		t.Fatalf("options differ: kernel %v, kea %v", codes(kern), codes(kea))
	}
	t.Logf("kernel and kea-dhcp4: options %v; %s", codes(kea), hdr(kea))
	u32 := func(m *dhcpv4.DHCPv4, code uint8) uint32 {
		if b := m.Options[code]; len(b) == 4 {
			return binary.BigEndian.Uint32(b)
		}
		return 0
	}
	for code, v := range kea.Options {
		switch code {
		case 51, 58, 59:
			continue
		}
		if string(kern.Options[code]) != string(v) {
			t.Errorf("option %d: kernel % x, kea % x", code, kern.Options[code], v)
		}
	}
	// Both report valid lifetime minus their own age (a few seconds here).
	for _, m := range []*dhcpv4.DHCPv4{kern, kea} {
		lft := u32(m, 51)
		if lft > 3600 || lft < 3590 {
			t.Errorf("lifetime %d, want 3600 minus a few seconds", lft)
		}
		t1, t2 := u32(m, 58), u32(m, 59)
		if m.YourIPAddr.To4()[1] == 18 { // 198.18.0.0/24: calculated, rounded as C's round
			if t1 != uint32(math.Round(0.5*float64(lft))) || t2 != uint32(math.Round(0.875*float64(lft))) {
				t.Errorf("T1/T2 %d/%d for lifetime %d", t1, t2, lft)
			}
		} else if t1 != 600 || t2 != 1200 {
			t.Errorf("fixed T1/T2 %d/%d, want 600/1200", t1, t2)
		}
	}
}
