package classify

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// TestBoolLab checks boolean expressions against the spec's [lab] results
// and the documented semantics, on the lab packet.
func TestBoolLab(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		// operators and literals
		{"'abc' == 'ABC'", false},
		{"'abc' == 'abc'", true},
		{"0x123 == 0x0123", true},
		{"0X0a == 0x0A", true},
		{"10.0.0.1 == 0x0a000001", true},
		{"1 == 0x00000001", true},
		{"4294967295 == 0xffffffff", true},
		{"'' == ''", true},
		{"'a' == ''", false},
		{"not 'a' == 'b' and 'a' == 'a' or 'x' == 'y'", true},
		{"not ('a' == 'a' and 'b' == 'b')", false},
		{"'a' == 'a' or 'a' == 'b' and 'x' == 'y'", true},
		{"('a' == 'a' or 'a' == 'b') and 'x' == 'y'", false},
		{"not not 'a' == 'a'", true},
		{"'a' + 'b' == 'ab'", true},
		{"'ab' == 'a' + 'b'", true},
		{"('a' + 'b') + 'c' == 'a' + ('b' + 'c')", true},
		{"  'a'\n==\t'a'  ", true},
		// options
		{"option[61].hex == 0x010A0B0C0D0E0F", true},
		{"option[dhcp-client-identifier].hex == 0x010A0B0C0D0E0F", true},
		{"option[ host-name ].text == 'MyHost'", true},
		{"option[60].text == 'MSFT 5.0'", true},
		{"option[60].hex == 'MSFT 5.0'", true},
		{"option[60].exists", true},
		{"option[66].exists", false},
		{"option[66].hex == ''", true},
		{"option[66].text == ''", true},
		{"option[82].option[1].exists", true},
		{"option[82].option[3].exists", false},
		{"option[82].option[1].hex == 'eth0'", true},
		{"option[66].option[1].exists", false},
		{"relay4[2].hex == 0x0102", true},
		{"relay4[1].hex == 'eth0'", true},
		{"relay4[1].exists", true},
		{"relay4[9].exists", false},
		{"relay4[9].hex == ''", true},
		// packet fields
		{"pkt4.mac == 0x0A0B0C0D0E0F", true},
		{"pkt4.hlen == 6", true},
		{"pkt4.htype == 1", true},
		{"pkt4.msgtype == 1", true},
		{"pkt4.transid == 0x11223344", true},
		{"pkt4.giaddr == 127.0.0.2", true},
		{"pkt4.ciaddr == 0.0.0.0", true},
		{"pkt4.yiaddr == 0.0.0.0", true},
		{"pkt4.siaddr == 0.0.0.0", true},
		{"pkt.iface == 'lo'", true},
		{"pkt.src == 127.0.0.2", true},
		{"pkt.dst == 127.0.0.1", true},
		{"pkt.len == 296", true},
		// functions
		{"substring(option[60].hex,0,6) == 'Aastra'", false},
		{"substring('MSFT 5.0',0,4) == 'MSFT'", true},
		{"split('a.b.c','.',2) == 'b'", true},
		{"ifelse(option[60].exists, 'yes', 'no') == 'yes'", true},
		{"hexstring(pkt4.mac, ':') == '0a:0b:0c:0d:0e:0f'", true},
		{"addrtotext(option[50].hex) == '127.0.100.9'", true},
		{"uint16totext(option[57].hex) == '1500'", true},
		{"concat('a','b') == 'ab'", true},
		// vendor options absent in the lab packet
		{"vendor[*].exists", false},
		{"vendor[4491].exists", false},
		{"vendor.enterprise == ''", true},
		{"vendor[4491].option[1].exists", false},
		{"vendor-class[*].exists", false},
		{"vendor-class.enterprise == ''", true},
		{"vendor-class[4491].data == ''", true},
		// member with no classes
		{"member('ALL')", false},
	}
	p := labPacket()
	for _, tt := range tests {
		e, err := Compile(tt.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.expr, err)
			continue
		}
		got, err := e.Eval(p, nil)
		if err != nil || got != tt.want {
			t.Errorf("Eval(%q) = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
	}
}

// TestStringLab checks the value of string expressions on the lab packet.
func TestStringLab(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"'MSFT'", "MSFT"},
		{"0x0a0B", "\x0a\x0b"},
		{"0x1", "\x01"},
		{"1", "\x00\x00\x00\x01"},
		{"10.0.0.1", "\x0a\x00\x00\x01"},
		{"2001:db8::1", "\x20\x01\x0d\xb8" + strings.Repeat("\x00", 11) + "\x01"},
		{"option[61].hex", "\x01\x0a\x0b\x0c\x0d\x0e\x0f"},
		{"option[60].text", "MSFT 5.0"},
		{"option[12].text", "MyHost"},
		{"option[61].text", "type=061, len=007: 01:0a:0b:0c:0d:0e:0f"},
		{"option[50].text", "type=050, len=004: 127.0.100.9 (ipv4-address)"},
		{"option[57].text", "type=057, len=002: 1500 (uint16)"},
		{"option[53].text", "type=053, len=001: 1 (uint8)"},
		{"option[82].text", "type=082, len=010:,\noptions:\n  type=001, len=004: 65:74:68:30\n  type=002, len=002: 01:02"},
		{"relay4[1].text", "type=001, len=004: 65:74:68:30"},
		{"relay4[2].hex", "\x01\x02"},
		{"pkt4.mac", "\x0a\x0b\x0c\x0d\x0e\x0f"},
		{"pkt4.hlen", "\x00\x00\x00\x06"},
		{"pkt4.transid", "\x11\x22\x33\x44"},
		{"pkt4.giaddr", "\x7f\x00\x00\x02"},
		{"pkt.iface", "lo"},
		{"pkt.len", "\x00\x00\x01\x28"},
		{"pkt.src", "\x7f\x00\x00\x02"},
		// substring [lab] and edge cases
		{"substring('MSFT 5.0',0,4)", "MSFT"},
		{"substring('MSFT 5.0',-3,all)", "5.0"},
		{"substring('MSFT 5.0',-3,-2)", "T "},
		{"substring('MSFT 5.0',20,2)", ""},
		{"substring('MSFT 5.0',0,all)", "MSFT 5.0"},
		{"substring('MSFT 5.0',5,100)", "5.0"},
		{"substring('MSFT 5.0',-8,1)", "M"},
		{"substring('MSFT 5.0',-9,1)", ""},
		{"substring('MSFT 5.0',2,-5)", "MS"},
		{"substring('MSFT 5.0',0,0)", ""},
		{"substring('',0,all)", ""},
		{"substring(option[60].hex,0,6)", "MSFT 5"},
		// split [lab] and edge cases
		{"split('a.b.c','.',2)", "b"},
		{"split('a.b.c','.',1)", "a"},
		{"split('a.b.c','.',3)", "c"},
		{"split('a.b.c','.',4)", ""},
		{"split('a.b.c','.',0)", ""},
		{"split('a.b.c','.',-1)", ""},
		{"split('a..c','.',2)", ""},
		{"split('a..c','.',3)", "c"},
		{"split('a.b|c','.|',3)", "c"},
		{"split('a.b.c','',1)", "a.b.c"},
		{"split('','.',1)", ""},
		{"split('abc','.',1)", "abc"},
		// concat, ifelse, hexstring
		{"concat('a','b')", "ab"},
		{"concat('', '')", ""},
		{"'a' + 'b' + 'c'", "abc"},
		{"concat(option[12].text, '.' + 'example')", "MyHost.example"},
		{"ifelse('a' == 'a', 'yes', 'no')", "yes"},
		{"ifelse('a' == 'b', 'yes', 'no')", "no"},
		{"hexstring(pkt4.mac, ':')", "0a:0b:0c:0d:0e:0f"},
		{"hexstring(0x0aff, '')", "0aff"},
		{"hexstring('', ':')", ""},
		{"hexstring(0x0102, '--')", "01--02"},
		// addrtotext and int*totext
		{"addrtotext(pkt4.giaddr)", "127.0.0.2"},
		{"addrtotext(0x20010db8000000000000000000000001)", "2001:db8::1"},
		{"addrtotext('')", ""},
		{"int8totext(0xff)", "-1"},
		{"uint8totext(0xff)", "255"},
		{"int16totext(0xffff)", "-1"},
		{"uint16totext(0x0102)", "258"},
		{"int32totext(0xfffffffe)", "-2"},
		{"uint32totext(0xfffffffe)", "4294967294"},
		{"uint32totext(pkt4.transid)", "287454020"},
		{"uint8totext('')", ""},
		// vendor absent
		{"vendor.enterprise", ""},
		{"vendor[*].option[1].hex", ""},
		{"vendor-class[*].data", ""},
	}
	p := labPacket()
	for _, tt := range tests {
		got, err := evalString(tt.expr, p)
		if err != nil || !bytes.Equal(got, []byte(tt.want)) {
			t.Errorf("%s = %q, %v; want %q", tt.expr, got, err, tt.want)
		}
	}
}

// TestOptionTextTypes covers .text for the option types Kea renders with
// its debug form, and string options with trailing NULs.
func TestOptionTextTypes(t *testing.T) {
	tests := []struct {
		code uint8
		data []byte
		want string
	}{
		{55, []byte{1, 3, 6, 15, 28, 51}, "type=055, len=006: 1(uint8) 3(uint8) 6(uint8) 15(uint8) 28(uint8) 51(uint8)"},
		{6, []byte{192, 0, 2, 53, 192, 0, 2, 54}, "type=006, len=008: 192.0.2.53 192.0.2.54"},
		{19, []byte{1}, "type=019, len=001: true (boolean)"},
		{51, []byte{0, 0, 0x0e, 0x10}, "type=051, len=004: 3600 (uint32)"},
		{2, []byte{0xff, 0xff, 0xff, 0xff}, "type=002, len=004: -1 (int32)"},
		{93, []byte{0, 7}, "type=093, len=002: 7(uint16)"},
		{57, []byte{1, 2, 3}, "type=057, len=003: 01:02:03"}, // malformed: binary form
		{200, []byte{0xab}, "type=200, len=001: ab"},         // no definition
		{67, []byte("boot.efi\x00\x00"), "boot.efi"},
	}
	for _, tt := range tests {
		p := withOptions(labPacket(), map[uint8][]byte{tt.code: tt.data})
		expr := "option[" + strconv.Itoa(int(tt.code)) + "].text"
		got, err := evalString(expr, p)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s = %q, %v; want %q", expr, got, err, tt.want)
		}
	}
}

// TestVendorOptions covers options 124 and 125 when present.
func TestVendorOptions(t *testing.T) {
	vivso := []byte{0, 0, 0x11, 0x8b, 7, 1, 2, 0xaa, 0xbb, 2, 1, 0xcc} // ent 4491, sub 1=aabb, 2=cc
	vivco := []byte{0, 0, 0x11, 0x8b, 3, 'a', 'b', 'c', 0, 0, 0x11, 0x8b, 2, 'd', 'e'}
	p := withOptions(labPacket(), map[uint8][]byte{125: vivso, 124: vivco})
	bools := []struct {
		expr string
		want bool
	}{
		{"vendor[*].exists", true},
		{"vendor[4491].exists", true},
		{"vendor[9].exists", false},
		{"vendor[4491].option[1].exists", true},
		{"vendor[4491].option[3].exists", false},
		{"vendor[9].option[1].exists", false},
		{"vendor[*].option[2].hex == 0xcc", true},
		{"vendor.enterprise == 4491", true},
		{"option[125].option[1].hex == 0xaabb", true},
		{"vendor-class[*].exists", true},
		{"vendor-class[4491].exists", true},
		{"vendor-class[1].exists", false},
		{"vendor-class.enterprise == 4491", true},
		{"vendor-class[4491].data == 'abc'", true},
		{"vendor-class[4491].data[0] == 'abc'", true},
		{"vendor-class[4491].data[1] == 'de'", true},
		{"vendor-class[4491].data[2] == ''", true},
		{"vendor-class[1].data == ''", true},
	}
	for _, tt := range bools {
		e, err := Compile(tt.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.expr, err)
			continue
		}
		if got, err := e.Eval(p, nil); err != nil || got != tt.want {
			t.Errorf("Eval(%q) = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
	}
	// Malformed 124/125 evaluate as absent.
	bad := withOptions(labPacket(), map[uint8][]byte{125: {0, 0, 1}, 124: {0, 0, 0x11, 0x8b, 9, 'x'}})
	for _, expr := range []string{"vendor[*].exists", "vendor-class[*].exists"} {
		e, _ := Compile(expr)
		if got, err := e.Eval(bad, nil); err != nil || got {
			t.Errorf("malformed: Eval(%q) = %v, %v; want false", expr, got, err)
		}
	}
}

// TestRuntimeErrors covers the tests Kea cannot evaluate: the class is
// then not assigned.
func TestRuntimeErrors(t *testing.T) {
	tests := []string{
		"addrtotext(0x010203) == ''",
		"uint8totext(0x0102) == ''",
		"int16totext(0x01) == ''",
		"uint32totext(0x0102) == ''",
		"substring('abc', 3000000000, 1) == ''",
		"split('a.b', '.', 3000000000) == ''",
		// errors propagate through and/or/not/ifelse/concat (no short-circuit)
		"'a' == 'b' and addrtotext(0x01) == ''",
		"'a' == 'a' or addrtotext(0x01) == ''",
		"not addrtotext(0x01) == ''",
		"ifelse('a' == 'a', 'x', addrtotext(0x01)) == 'x'",
		"concat('a', addrtotext(0x01)) == 'a'",
	}
	p := labPacket()
	for _, expr := range tests {
		e, err := Compile(expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", expr, err)
			continue
		}
		if got, err := e.Eval(p, nil); err == nil {
			t.Errorf("Eval(%q) = %v, want an error", expr, got)
		}
	}
}

func TestMemberCallback(t *testing.T) {
	e, err := Compile("member('a') and not member('b')")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   map[string]bool
		want bool
	}{
		{map[string]bool{"a": true}, true},
		{map[string]bool{"a": true, "b": true}, false},
		{map[string]bool{}, false},
	}
	for _, tt := range tests {
		got, err := e.Eval(labPacket(), func(c string) bool { return tt.in[c] })
		if err != nil || got != tt.want {
			t.Errorf("classes %v: got %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if got := e.Members(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("Members() = %v", got)
	}
}

func TestNilPacket(t *testing.T) {
	for _, expr := range []string{"option[60].exists", "pkt4.mac == ''", "pkt.iface == ''", "pkt4.hlen == 0", "vendor[*].exists"} {
		e, err := Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Eval(&Packet{}, nil); err != nil {
			t.Errorf("%s on empty packet: %v", expr, err)
		}
		if _, err := e.Eval(nil, nil); err != nil {
			t.Errorf("%s on nil packet: %v", expr, err)
		}
	}
}
