package classify

import "testing"

// FuzzCompile checks that no input makes Compile or Eval panic.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"substring(option[60].hex,0,6) == 'Aastra'",
		"not member('phones')",
		"member('phones') and member('HA_server1')",
		"not 'a' == 'b' and 'a' == 'a' or 'x' == 'y'",
		"split(option[host-name].text, '.', 2) == 'b'",
		"ifelse(relay4[1].exists, hexstring(pkt4.mac, ':'), addrtotext(pkt.src)) == ''",
		"vendor-class[4491].data[1] == uint32totext(vendor.enterprise)",
		"option[82].option[2].text == int8totext(0xff)",
		"0x123 == 10.0.0.1 + ::1",
	} {
		f.Add(s)
	}
	p := labPacket()
	vendor := withOptions(p, map[uint8][]byte{
		125: {0, 0, 0x11, 0x8b, 4, 1, 2, 0xaa, 0xbb},
		124: {0, 0, 0x11, 0x8b, 3, 'a', 'b', 'c'},
	})
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Compile(expr)
		if err != nil {
			return
		}
		for _, pkt := range []*Packet{p, vendor, {}, nil} {
			e.Eval(pkt, func(string) bool { return true })
		}
	})
}
