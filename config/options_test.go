package config

import (
	"bytes"
	"strings"
	"testing"
)

func TestOptionEncoding(t *testing.T) {
	defs := `"option-def": [
		{ "name": "rec", "code": 222, "type": "record", "record-types": "uint8, ipv4-address, string" },
		{ "name": "u8s", "code": 223, "type": "uint8", "array": true },
		{ "name": "csr", "code": 121, "type": "binary" },
		{ "name": "sub1", "code": 1, "type": "uint16", "space": "vendor-x" } ], `
	tests := []struct {
		name     string
		entry    string
		wantCode uint8
		want     []byte
		wantErr  string
	}{
		{"routers list", `"name": "routers", "data": "192.0.2.1, 192.0.2.2"`, 3, []byte{192, 0, 2, 1, 192, 0, 2, 2}, ""},
		{"by code", `"code": 6, "data": "192.0.2.53"`, 6, []byte{192, 0, 2, 53}, ""},
		{"string", `"name": "domain-name", "data": "example.org"`, 15, []byte("example.org"), ""},
		{"string escaped comma", `"name": "domain-name", "data": "a\\,b"`, 15, []byte("a,b"), ""},
		{"string unescaped comma keeps first", `"name": "domain-name", "data": "a,b"`, 15, []byte("a"), ""},
		{"fqdn array", `"name": "domain-search", "data": "example.org, a.b."`, 119, []byte("\x07example\x03org\x00\x01a\x01b\x00"), ""},
		{"uint16", `"name": "interface-mtu", "data": "1500"`, 26, []byte{0x05, 0xdc}, ""},
		{"int32 negative", `"name": "time-offset", "data": "-18000"`, 2, []byte{0xff, 0xff, 0xb9, 0xb0}, ""},
		{"uint32", `"name": "v6-only-preferred", "data": "1800"`, 108, []byte{0, 0, 7, 8}, ""},
		{"boolean", `"name": "ip-forwarding", "data": "true"`, 19, []byte{1}, ""},
		{"uint8 array", `"name": "u8s", "data": "1, 2, 255"`, 223, []byte{1, 2, 255}, ""},
		{"record", `"name": "rec", "data": "7, 192.0.2.1, hi"`, 222, []byte{7, 192, 0, 2, 1, 'h', 'i'}, ""},
		{"hex plain", `"code": 252, "csv-format": false, "data": "0A0B0C"`, 252, []byte{10, 11, 12}, ""},
		{"hex colons", `"code": 252, "csv-format": false, "data": "0a:b:0c"`, 252, []byte{10, 11, 12}, ""},
		{"hex spaces 0x", `"code": 252, "csv-format": false, "data": "0x0a 0b"`, 252, []byte{10, 11}, ""},
		{"custom binary", `"name": "csr", "data": "18 0a 00 00 c0 00 02 01"`, 121, []byte{0x18, 10, 0, 0, 192, 0, 2, 1}, ""},
		{"custom space", `"name": "sub1", "space": "vendor-x", "data": "258"`, 1, []byte{1, 2}, ""},
		{"empty array data", `"name": "routers"`, 3, []byte{}, ""},
		{"empty type", `"name": "vendor-encapsulated-options"`, 43, []byte{}, ""},
		{"empty type with data", `"code": 43, "data": "01"`, 0, nil, "takes no data"},
		{"bad bool", `"name": "ip-forwarding", "data": "yes"`, 0, nil, "to boolean"},
		{"uint16 overflow", `"name": "interface-mtu", "data": "70000"`, 0, nil, "0..65535"},
		{"record short", `"name": "rec", "data": "7"`, 0, nil, "needs 3 values"},
		{"no name no code", `"data": "1"`, 0, nil, "requires one of 'code' or 'name'"},
		{"code out of range", `"code": 255, "data": "1"`, 0, nil, "out of range"},
		{"bad hex", `"code": 252, "csv-format": false, "data": "zz"`, 0, nil, "hexadecimal"},
		// v4-portparams is uint8 then psid, "PSID/PSID-len" (std_option_defs.h
		// V4_PORTPARAMS_RECORDS; option_data_types.cc writePsid): 3/4 is
		// length 4, PSID 3 in the high 4 bits: 04 30 00. all-options.json.
		{"psid", `"name": "v4-portparams", "data": "2, 3/4"`, 159, []byte{2, 4, 0x30, 0x00}, ""},
		{"psid blanks", `"name": "v4-portparams", "data": "0, 1 / 16"`, 159, []byte{0, 16, 0x00, 0x01}, ""},
		{"psid zero length", `"name": "v4-portparams", "data": "0, 0/0"`, 159, []byte{0, 0, 0, 0}, ""},
		{"psid too big for length", `"name": "v4-portparams", "data": "1, 16/4"`, 0, nil, "invalid PSID value 16 for a specified PSID length 4"},
		{"psid length over 16", `"name": "v4-portparams", "data": "1, 1/17"`, 0, nil, "invalid PSID length value 17"},
		{"psid without slash", `"name": "v4-portparams", "data": "1, 5"`, 0, nil, "provided PSID value 5 is not valid"},
		// CableLabs' options (docsis3_option_defs.h), in "vendor-4491" as
		// reservations.json names them, and in "docsis3-v4" as
		// all-options.json does.
		{"vendor-4491 by name", `"name": "tftp-servers", "space": "vendor-4491", "data": "10.1.1.202,10.1.1.203"`, 2, []byte{10, 1, 1, 202, 10, 1, 1, 203}, ""},
		{"docsis3-v4 by code", `"code": 1, "space": "docsis3-v4", "data": "32, 42"`, 1, []byte{32, 42}, ""},
		{"vendor-4491 unknown", `"name": "nope", "space": "vendor-4491", "data": "1"`, 0, nil, "'vendor-4491.nope'"},
		{"unknown space", `"name": "routers", "space": "nope", "data": "1.2.3.4"`, 0, nil, "'nope.routers'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := wrap(defs + `"option-data": [ { ` + tt.entry + ` } ]`)
			c, _, err := Parse("t.json", []byte(in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if want, got := posOf(t, in, `|{ `+tt.entry), err.(*Error).Pos; got.Line != want.Line || got.Col < want.Col {
					t.Errorf("error %v does not point at the option-data entry (col %d)", err, want.Col)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			od := c.Dhcp4.OptionData[0]
			if od.Code != tt.wantCode || !bytes.Equal(od.Wire, tt.want) {
				t.Errorf("code %d wire %x, want code %d wire %x", od.Code, od.Wire, tt.wantCode, tt.want)
			}
		})
	}
}

func TestStandardDefs(t *testing.T) {
	d := newStdDefs()
	for _, tt := range []struct {
		name  string
		code  uint8
		typ   string
		array bool
	}{
		{"subnet-mask", 1, "ipv4-address", false}, {"routers", 3, "ipv4-address", true},
		{"domain-name", 15, "string", false}, {"static-routes", 33, "ipv4-address", true},
		{"netbios-node-type", 46, "uint8", false}, {"dhcp-parameter-request-list", 55, "uint8", true},
		{"dhcp-client-identifier", 61, "binary", false}, {"fqdn", 81, "record", false},
		{"dhcp-agent-options", 82, "empty", false}, {"v6-only-preferred", 108, "uint32", false},
		{"v4-captive-portal", 114, "string", false}, {"domain-search", 119, "fqdn", true},
		{"vivso-suboptions", 125, "uint32", false}, {"vendor-encapsulated-options", 43, "empty", false},
	} {
		od := d.ByName(SpaceDHCP4, tt.name)
		if od == nil || od.Code != tt.code || od.Type != tt.typ || od.Array != tt.array || d.ByCode(SpaceDHCP4, tt.code) != od {
			t.Errorf("%s: got %+v", tt.name, od)
		}
	}
	if d.ByCode(SpaceDHCP4, 121) != nil || d.ByCode(SpaceDHCP4, 150) != nil {
		t.Error("121/150 must have no standard definition in 2.2")
	}
	if od := d.ByName("dhcp-agent-options-space", "link-selection"); od == nil || od.Code != 5 {
		t.Errorf("link-selection = %+v", od)
	}
}
