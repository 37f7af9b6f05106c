//go:build linux

package renewcache

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/packet"
)

// FuzzKernelRenew: the program against its model on mutations of a cached
// renewal (set byte off to val, then cut or extend the frame). A change
// user space would read differently, or drop on, never gets a kernel
// answer; a change to xid or secs only always does; every kernel answer is
// the user-space ACK with the request's xid.
func FuzzKernelRenew(f *testing.F) {
	l := newLab(f, fmt.Sprintf(labConfig, ""), true)
	c := &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 10}, cid: []byte{1, 2, 0, 0, 0, 0, 10},
		prl: []dhcpv4.OptionCode{dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter}}
	addr := netip.MustParseAddr("198.18.0.10")
	l.lease(c, addr)
	l.advance(5)
	l.teach(c, addr)
	base := l.renewal(c, addr, 2, 0)
	_, want, _ := l.serve(base) // the user-space ACK at this age (reused: no change)
	for _, s := range []struct {
		off, val int
		cut      int
	}{
		{47, 9, 0}, {50, 1, 0}, {0, 1, 0}, {14 + 12, 1, 0}, {42 + 12, 1, 0}, {42 + 28, 0xff, 0},
		{42 + 240, 0, 0}, {len(base) - 1, 1, 0}, {0, 0, 10}, {0, 0, -4}, {42 + 10, 0x80, 0}, {42 + 3, 1, 0},
	} {
		f.Add(uint16(s.off), byte(s.val), int16(s.cut))
	}
	f.Fuzz(func(t *testing.T, off uint16, val byte, cut int16) {
		l.t = t
		fr := append([]byte{}, base...)
		o := int(off) % len(fr)
		fr[o] = val
		cutN := 0 // bytes cut off the datagram
		switch {
		case cut > 0:
			fr = append(fr, make([]byte, int(cut)%64)...)
		case cut < 0:
			cutN = int(-cut) % 64
			fr = fr[:len(fr)-cutN]
		}
		ret, got, moved := l.run(fr)
		// What a change to byte i means for user space's answer: xid and
		// secs (46..51) change only the reply's xid; the MACs (0..11), the
		// UDP source port and checksum (34, 35, 40, 41; not verified) and
		// bytes after the datagram may change nothing, or stop the frame
		// earlier (not ours); any other byte changes what user space reads
		// or makes it drop the frame (IPv4 checksum, lengths).
		xidOnly, forbidden := true, cutN > 0
		for i := range min(len(fr), len(base)) {
			if fr[i] == base[i] {
				continue
			}
			switch {
			case i >= 46 && i < 52:
			case i < 12 || i == 34 || i == 35 || i == 40 || i == 41:
				xidOnly = false
			default:
				forbidden = true
			}
		}
		if forbidden {
			if ret == xdpTX || moved["tx_renew"] != 0 {
				t.Fatalf("changed frame (byte %d = %#x, cut %d) answered in the kernel", o, val, cut)
			}
			return
		}
		if xidOnly && ret != xdpTX {
			t.Fatalf("xid/secs change (byte %d): verdict %d, counters %v", o, ret, moved)
		}
		if ret != xdpTX {
			return
		}
		// The user-space ACK with the request's xid (its secs stay 0),
		// encoded again for the UDP checksum.
		var wf packet.Frame
		if err := packet.Decode(want, &wf); err != nil {
			t.Fatal(err)
		}
		wf.Payload = append([]byte{}, wf.Payload...)
		copy(wf.Payload[4:8], fr[42+4:42+8])
		exp, err := packet.AppendFrame(nil, &wf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, exp) {
			t.Fatalf("kernel ACK differs from the model\n got % x\nwant % x", got, exp)
		}
	})
}
