package classify

// optType is how Kea 2.2 defines a standard DHCPv4 option's data, which
// decides what option[N].text returns.
type optType uint8

const (
	otBinary optType = iota // also the type of options without a definition
	otString
	otEmpty // no data of its own; carries sub-options (43, 82)
	otBool
	otUint8
	otUint16
	otUint32
	otInt32
	otIPv4
	otIPv4List
	otUint8List
	otUint16List
	otRecord // record/fqdn types: .text falls back to the binary form
)

type optDef struct {
	name string
	typ  optType
}

// stdOptions are Kea 2.2's standard DHCPv4 option definitions
// (src/lib/dhcp/std_option_defs.h): name and data type.
var stdOptions = map[uint8]optDef{
	1: {"subnet-mask", otIPv4}, 2: {"time-offset", otInt32}, 3: {"routers", otIPv4List},
	4: {"time-servers", otIPv4List}, 5: {"name-servers", otIPv4List},
	6: {"domain-name-servers", otIPv4List}, 7: {"log-servers", otIPv4List},
	8: {"cookie-servers", otIPv4List}, 9: {"lpr-servers", otIPv4List},
	10: {"impress-servers", otIPv4List}, 11: {"resource-location-servers", otIPv4List},
	12: {"host-name", otString}, 13: {"boot-size", otUint16}, 14: {"merit-dump", otString},
	15: {"domain-name", otString}, 16: {"swap-server", otIPv4}, 17: {"root-path", otString},
	18: {"extensions-path", otString}, 19: {"ip-forwarding", otBool},
	20: {"non-local-source-routing", otBool}, 21: {"policy-filter", otIPv4List},
	22: {"max-dgram-reassembly", otUint16}, 23: {"default-ip-ttl", otUint8},
	24: {"path-mtu-aging-timeout", otUint32}, 25: {"path-mtu-plateau-table", otUint16List},
	26: {"interface-mtu", otUint16}, 27: {"all-subnets-local", otBool},
	28: {"broadcast-address", otIPv4}, 29: {"perform-mask-discovery", otBool},
	30: {"mask-supplier", otBool}, 31: {"router-discovery", otBool},
	32: {"router-solicitation-address", otIPv4}, 33: {"static-routes", otIPv4List},
	34: {"trailer-encapsulation", otBool}, 35: {"arp-cache-timeout", otUint32},
	36: {"ieee802-3-encapsulation", otBool}, 37: {"default-tcp-ttl", otUint8},
	38: {"tcp-keepalive-interval", otUint32}, 39: {"tcp-keepalive-garbage", otBool},
	40: {"nis-domain", otString}, 41: {"nis-servers", otIPv4List}, 42: {"ntp-servers", otIPv4List},
	43: {"vendor-encapsulated-options", otEmpty}, 44: {"netbios-name-servers", otIPv4List},
	45: {"netbios-dd-server", otIPv4List}, 46: {"netbios-node-type", otUint8},
	47: {"netbios-scope", otString}, 48: {"font-servers", otIPv4List},
	49: {"x-display-manager", otIPv4List}, 50: {"dhcp-requested-address", otIPv4},
	51: {"dhcp-lease-time", otUint32}, 52: {"dhcp-option-overload", otUint8},
	53: {"dhcp-message-type", otUint8}, 54: {"dhcp-server-identifier", otIPv4},
	55: {"dhcp-parameter-request-list", otUint8List}, 56: {"dhcp-message", otString},
	57: {"dhcp-max-message-size", otUint16}, 58: {"dhcp-renewal-time", otUint32},
	59: {"dhcp-rebinding-time", otUint32}, 60: {"vendor-class-identifier", otString},
	61: {"dhcp-client-identifier", otBinary}, 62: {"nwip-domain-name", otString},
	63: {"nwip-suboptions", otBinary}, 64: {"nisplus-domain-name", otString},
	65: {"nisplus-servers", otIPv4List}, 66: {"tftp-server-name", otString},
	67: {"boot-file-name", otString}, 68: {"mobile-ip-home-agent", otIPv4List},
	69: {"smtp-server", otIPv4List}, 70: {"pop-server", otIPv4List},
	71: {"nntp-server", otIPv4List}, 72: {"www-server", otIPv4List},
	73: {"finger-server", otIPv4List}, 74: {"irc-server", otIPv4List},
	75: {"streettalk-server", otIPv4List}, 76: {"streettalk-directory-assistance-server", otIPv4List},
	77: {"user-class", otBinary}, 78: {"slp-directory-agent", otRecord},
	79: {"slp-service-scope", otRecord}, 81: {"fqdn", otRecord},
	82: {"dhcp-agent-options", otEmpty}, 85: {"nds-servers", otIPv4List},
	86: {"nds-tree-name", otString}, 87: {"nds-context", otString},
	88: {"bcms-controller-names", otRecord}, 89: {"bcms-controller-address", otIPv4List},
	90: {"authenticate", otBinary}, 91: {"client-last-transaction-time", otUint32},
	92: {"associated-ip", otIPv4List}, 93: {"client-system", otUint16List},
	94: {"client-ndi", otRecord}, 97: {"uuid-guid", otRecord}, 98: {"uap-servers", otString},
	99: {"geoconf-civic", otBinary}, 100: {"pcode", otString}, 101: {"tcode", otString},
	108: {"v6-only-preferred", otUint32}, 112: {"netinfo-server-address", otIPv4List},
	113: {"netinfo-server-tag", otString}, 114: {"v4-captive-portal", otString},
	116: {"auto-config", otUint8}, 117: {"name-service-search", otUint16List},
	118: {"subnet-selection", otIPv4}, 119: {"domain-search", otRecord},
	124: {"vivco-suboptions", otRecord}, 125: {"vivso-suboptions", otRecord},
	136: {"pana-agent", otIPv4List}, 137: {"v4-lost", otRecord},
	138: {"capwap-ac-v4", otIPv4List}, 141: {"sip-ua-cs-domains", otRecord},
	146: {"rdnss-selection", otRecord}, 159: {"v4-portparams", otRecord},
	212: {"option-6rd", otRecord}, 213: {"v4-access-domain", otRecord},
}

// agentSubOptions are the definitions of dhcp-agent-options-space
// (sub-options of option 82); undefined sub-options are binary.
var agentSubOptions = map[uint8]optType{
	1: otBinary, 2: otBinary, 5: otIPv4, 6: otString, 11: otIPv4, 12: otBinary,
	151: otString, 152: otEmpty,
}

// stdOptionCodes maps standard option names to codes.
var stdOptionCodes = func() map[string]uint8 {
	m := make(map[string]uint8, len(stdOptions))
	for code, d := range stdOptions {
		m[d.name] = code
	}
	return m
}()

// encapsulates reports whether Kea parses the option's data as sub-options.
func encapsulates(code uint8) bool { return code == 43 || code == 82 }

// findTLV returns the data of option code in a DHCPv4 TLV buffer (1-byte
// code, 1-byte length; pad 0 and end 255 have no length). ok is false if
// the buffer is malformed or the option is absent.
func findTLV(buf []byte, code uint8) ([]byte, bool) {
	for i := 0; i < len(buf); {
		c := buf[i]
		if c == 0 || c == 255 {
			i++
			continue
		}
		if i+1 >= len(buf) {
			return nil, false
		}
		n := int(buf[i+1])
		if i+2+n > len(buf) {
			return nil, false
		}
		if c == code {
			return buf[i+2 : i+2+n], true
		}
		i += 2 + n
	}
	return nil, false
}

// trimNUL drops trailing NUL bytes, as Kea's OptionString does on unpack.
func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
