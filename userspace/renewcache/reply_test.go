package renewcache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// ack encodes an ACK as the user-space encoder does, with the given options.
func ack(t *testing.T, opts ...dhcpv4.Option) []byte {
	t.Helper()
	m, err := dhcpv4.New(dhcpv4.WithReply(&dhcpv4.DHCPv4{OpCode: dhcpv4.OpcodeBootRequest, HWType: 1,
		ClientHWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, TransactionID: dhcpv4.TransactionID{1, 2, 3, 4}}),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeAck), dhcpv4.WithYourIP(net.IP{198, 18, 0, 10}))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		m.UpdateOption(o)
	}
	return m.ToBytes()
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// TestSplitReply: Reply rebuilds every ACK Split accepts byte for byte
// (with its own lifetimes), for replies with and without options 61, 82,
// 58/59 and with options on both sides of 61; Split refuses the shapes the
// kernel cannot rebuild.
func TestSplitReply(t *testing.T) {
	lt := dhcpv4.OptGeneric(dhcpv4.OptionIPAddressLeaseTime, u32(3000))
	t1 := dhcpv4.OptGeneric(dhcpv4.OptionRenewTimeValue, u32(1500))
	t2 := dhcpv4.OptGeneric(dhcpv4.OptionRebindingTimeValue, u32(2625))
	sid := dhcpv4.OptServerIdentifier(net.IP{198, 18, 0, 1})
	cid := dhcpv4.OptClientIdentifier([]byte{1, 2, 0, 0, 0, 0, 1})
	rai := dhcpv4.OptGeneric(dhcpv4.OptionRelayAgentInformation, []byte{1, 3, 'a', 'b', 'c'})
	cls := dhcpv4.OptGeneric(dhcpv4.OptionClasslessStaticRoute, []byte{24, 10, 0, 0, 198, 18, 0, 1})
	long := dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(224), bytes.Repeat([]byte{7}, 250))
	ok := []struct {
		name string
		opts []dhcpv4.Option
	}{
		{"51 only", []dhcpv4.Option{lt, sid}},
		{"T1 T2", []dhcpv4.Option{lt, t1, t2, sid, dhcpv4.OptRouter(net.IP{198, 18, 0, 1})}},
		{"client id and options above 61", []dhcpv4.Option{lt, t1, t2, sid, cid, cls}},
		{"option 82 last", []dhcpv4.Option{lt, sid, cid, cls, rai}},
		{"long option, past 300 bytes", []dhcpv4.Option{lt, sid, long}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			b := ack(t, c.opts...)
			s, err := Split(b)
			if err != nil {
				t.Fatal(err)
			}
			var v [3]uint32
			for i, code := range []dhcpv4.OptionCode{dhcpv4.OptionIPAddressLeaseTime, dhcpv4.OptionRenewTimeValue, dhcpv4.OptionRebindingTimeValue} {
				m, _ := dhcpv4.FromBytes(b)
				if x := m.Options.Get(code); len(x) == 4 {
					v[i] = binary.BigEndian.Uint32(x)
				}
			}
			got := Reply(s, [4]byte{1, 2, 3, 4}, v[0], v[1], v[2])
			if !bytes.Equal(got, b) {
				t.Fatalf("rebuilt reply differs\n got % x\nwant % x", got, b)
			}
			// Other lifetimes land in the option values, nowhere else.
			other := Reply(s, [4]byte{9, 9, 9, 9}, 77, v[1], v[2])
			m, err := dhcpv4.FromBytes(other)
			if err != nil || m.TransactionID != [4]byte{9, 9, 9, 9} || binary.BigEndian.Uint32(m.Options.Get(dhcpv4.OptionIPAddressLeaseTime)) != 77 {
				t.Fatalf("lifetime 77: %v %v", err, m)
			}
		})
	}
	bad := []struct {
		name string
		b    []byte
	}{
		{"no option 51", ack(t, sid)},
		{"option 52", ack(t, lt, dhcpv4.OptGeneric(dhcpv4.OptionOptionOverload, []byte{1}))},
		{"client id too long", ack(t, lt, dhcpv4.OptClientIdentifier(bytes.Repeat([]byte{1}, 70)))},
		{"short", ack(t, lt)[:200]},
	}
	for _, c := range bad {
		if _, err := Split(c.b); !errors.Is(err, ErrShape) {
			t.Errorf("%s: Split err %v, want ErrShape", c.name, err)
		}
	}
}

// TestDigest: the digest leaves out exactly xid and secs.
func TestDigest(t *testing.T) {
	p := make([]byte, 300)
	for i := range p {
		p[i] = byte(i)
	}
	d := Digest(p)
	for i := range p {
		q := append([]byte{}, p...)
		q[i] ^= 0xff
		if same := Digest(q) == d; same != (i >= 4 && i < 10) {
			t.Errorf("byte %d changed: digest same %v", i, same)
		}
	}
	if Digest(p[:299]) == d {
		t.Error("length not in the digest")
	}
}
