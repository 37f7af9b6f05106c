package config

// stdDef is one standard DHCPv4 option definition (Kea 2.2 std_option_defs.h).
type stdDef struct {
	name        string
	code        uint8
	typ         string
	array       bool
	record      []string
	encapsulate string
}

// stdV4Defs are the standard definitions of the "dhcp4" option space.
var stdV4Defs = []stdDef{
	{"subnet-mask", 1, "ipv4-address", false, nil, ""},
	{"time-offset", 2, "int32", false, nil, ""},
	{"routers", 3, "ipv4-address", true, nil, ""},
	{"time-servers", 4, "ipv4-address", true, nil, ""},
	{"name-servers", 5, "ipv4-address", true, nil, ""},
	{"domain-name-servers", 6, "ipv4-address", true, nil, ""},
	{"log-servers", 7, "ipv4-address", true, nil, ""},
	{"cookie-servers", 8, "ipv4-address", true, nil, ""},
	{"lpr-servers", 9, "ipv4-address", true, nil, ""},
	{"impress-servers", 10, "ipv4-address", true, nil, ""},
	{"resource-location-servers", 11, "ipv4-address", true, nil, ""},
	{"host-name", 12, "string", false, nil, ""},
	{"boot-size", 13, "uint16", false, nil, ""},
	{"merit-dump", 14, "string", false, nil, ""},
	{"domain-name", 15, "string", false, nil, ""},
	{"swap-server", 16, "ipv4-address", false, nil, ""},
	{"root-path", 17, "string", false, nil, ""},
	{"extensions-path", 18, "string", false, nil, ""},
	{"ip-forwarding", 19, "boolean", false, nil, ""},
	{"non-local-source-routing", 20, "boolean", false, nil, ""},
	{"policy-filter", 21, "ipv4-address", true, nil, ""},
	{"max-dgram-reassembly", 22, "uint16", false, nil, ""},
	{"default-ip-ttl", 23, "uint8", false, nil, ""},
	{"path-mtu-aging-timeout", 24, "uint32", false, nil, ""},
	{"path-mtu-plateau-table", 25, "uint16", true, nil, ""},
	{"interface-mtu", 26, "uint16", false, nil, ""},
	{"all-subnets-local", 27, "boolean", false, nil, ""},
	{"broadcast-address", 28, "ipv4-address", false, nil, ""},
	{"perform-mask-discovery", 29, "boolean", false, nil, ""},
	{"mask-supplier", 30, "boolean", false, nil, ""},
	{"router-discovery", 31, "boolean", false, nil, ""},
	{"router-solicitation-address", 32, "ipv4-address", false, nil, ""},
	{"static-routes", 33, "ipv4-address", true, nil, ""},
	{"trailer-encapsulation", 34, "boolean", false, nil, ""},
	{"arp-cache-timeout", 35, "uint32", false, nil, ""},
	{"ieee802-3-encapsulation", 36, "boolean", false, nil, ""},
	{"default-tcp-ttl", 37, "uint8", false, nil, ""},
	{"tcp-keepalive-interval", 38, "uint32", false, nil, ""},
	{"tcp-keepalive-garbage", 39, "boolean", false, nil, ""},
	{"nis-domain", 40, "string", false, nil, ""},
	{"nis-servers", 41, "ipv4-address", true, nil, ""},
	{"ntp-servers", 42, "ipv4-address", true, nil, ""},
	{"netbios-name-servers", 44, "ipv4-address", true, nil, ""},
	{"netbios-dd-server", 45, "ipv4-address", true, nil, ""},
	{"netbios-node-type", 46, "uint8", false, nil, ""},
	{"netbios-scope", 47, "string", false, nil, ""},
	{"font-servers", 48, "ipv4-address", true, nil, ""},
	{"x-display-manager", 49, "ipv4-address", true, nil, ""},
	{"dhcp-requested-address", 50, "ipv4-address", false, nil, ""},
	{"dhcp-lease-time", 51, "uint32", false, nil, ""},
	{"dhcp-option-overload", 52, "uint8", false, nil, ""},
	{"dhcp-message-type", 53, "uint8", false, nil, ""},
	{"dhcp-server-identifier", 54, "ipv4-address", false, nil, ""},
	{"dhcp-parameter-request-list", 55, "uint8", true, nil, ""},
	{"dhcp-message", 56, "string", false, nil, ""},
	{"dhcp-max-message-size", 57, "uint16", false, nil, ""},
	{"dhcp-renewal-time", 58, "uint32", false, nil, ""},
	{"dhcp-rebinding-time", 59, "uint32", false, nil, ""},
	{"vendor-class-identifier", 60, "string", false, nil, ""},
	{"dhcp-client-identifier", 61, "binary", false, nil, ""},
	{"nwip-domain-name", 62, "string", false, nil, ""},
	{"nwip-suboptions", 63, "binary", false, nil, ""},
	{"nisplus-domain-name", 64, "string", false, nil, ""},
	{"nisplus-servers", 65, "ipv4-address", true, nil, ""},
	{"tftp-server-name", 66, "string", false, nil, ""},
	{"boot-file-name", 67, "string", false, nil, ""},
	{"mobile-ip-home-agent", 68, "ipv4-address", true, nil, ""},
	{"smtp-server", 69, "ipv4-address", true, nil, ""},
	{"pop-server", 70, "ipv4-address", true, nil, ""},
	{"nntp-server", 71, "ipv4-address", true, nil, ""},
	{"www-server", 72, "ipv4-address", true, nil, ""},
	{"finger-server", 73, "ipv4-address", true, nil, ""},
	{"irc-server", 74, "ipv4-address", true, nil, ""},
	{"streettalk-server", 75, "ipv4-address", true, nil, ""},
	{"streettalk-directory-assistance-server", 76, "ipv4-address", true, nil, ""},
	{"user-class", 77, "binary", false, nil, ""},
	{"slp-directory-agent", 78, "record", true, []string{"boolean", "ipv4-address"}, ""},
	{"slp-service-scope", 79, "record", false, []string{"boolean", "string"}, ""},
	{"fqdn", 81, "record", false, []string{"uint8", "uint8", "uint8", "fqdn"}, ""},
	{"dhcp-agent-options", 82, "empty", false, nil, "dhcp-agent-options-space"},
	{"nds-servers", 85, "ipv4-address", true, nil, ""},
	{"nds-tree-name", 86, "string", false, nil, ""},
	{"nds-context", 87, "string", false, nil, ""},
	{"bcms-controller-names", 88, "fqdn", true, nil, ""},
	{"bcms-controller-address", 89, "ipv4-address", true, nil, ""},
	{"authenticate", 90, "binary", false, nil, ""},
	{"client-last-transaction-time", 91, "uint32", false, nil, ""},
	{"associated-ip", 92, "ipv4-address", true, nil, ""},
	{"client-system", 93, "uint16", true, nil, ""},
	{"client-ndi", 94, "record", false, []string{"uint8", "uint8", "uint8"}, ""},
	{"uuid-guid", 97, "record", false, []string{"uint8", "binary"}, ""},
	{"uap-servers", 98, "string", false, nil, ""},
	{"geoconf-civic", 99, "binary", false, nil, ""},
	{"pcode", 100, "string", false, nil, ""},
	{"tcode", 101, "string", false, nil, ""},
	{"v6-only-preferred", 108, "uint32", false, nil, ""},
	{"netinfo-server-address", 112, "ipv4-address", true, nil, ""},
	{"netinfo-server-tag", 113, "string", false, nil, ""},
	{"v4-captive-portal", 114, "string", false, nil, ""},
	{"auto-config", 116, "uint8", false, nil, ""},
	{"name-service-search", 117, "uint16", true, nil, ""},
	{"subnet-selection", 118, "ipv4-address", false, nil, ""},
	{"domain-search", 119, "fqdn", true, nil, ""},
	{"vivco-suboptions", 124, "record", false, []string{"uint32", "binary"}, ""},
	{"vivso-suboptions", 125, "uint32", false, nil, ""},
	{"pana-agent", 136, "ipv4-address", true, nil, ""},
	{"v4-lost", 137, "fqdn", false, nil, ""},
	{"capwap-ac-v4", 138, "ipv4-address", true, nil, ""},
	{"sip-ua-cs-domains", 141, "fqdn", true, nil, ""},
	{"rdnss-selection", 146, "record", true, []string{"uint8", "ipv4-address", "ipv4-address", "fqdn"}, ""},
	{"v4-portparams", 159, "record", false, []string{"uint8", "psid"}, ""}, // std_option_defs.h V4_PORTPARAMS_RECORDS: offset, PSID-len/PSID
	{"option-6rd", 212, "record", true, []string{"uint8", "uint8", "ipv6-address", "ipv4-address"}, ""},
	{"v4-access-domain", 213, "fqdn", false, nil, ""},
}

// lastResortV4Defs apply when no other definition exists (option 43).
var lastResortV4Defs = []stdDef{
	{"vendor-encapsulated-options", 43, "empty", false, nil, "vendor-encapsulated-options-space"},
}

// stdAgentDefs are the dhcp-agent-options-space (option 82) sub-options.
var stdAgentDefs = []stdDef{
	{"circuit-id", 1, "binary", false, nil, ""},
	{"remote-id", 2, "binary", false, nil, ""},
	{"link-selection", 5, "ipv4-address", false, nil, ""},
	{"subscriber-id", 6, "binary", false, nil, ""},
	{"server-id-override", 11, "ipv4-address", false, nil, ""},
	{"relay-id", 12, "binary", false, nil, ""},
	{"relay-port", 19, "uint16", false, nil, ""},
}

// SpaceDOCSIS3V4 and SpaceVendor4491 name the CableLabs (enterprise 4491)
// vendor options. Kea 2.2 defines them in libdhcp as the standard space
// "docsis3-v4" (docsis3_option_defs.h DOCSIS3_V4_OPTION_DEFINITIONS, in
// libdhcp++.cc OPTION_DEF_PARAMS), and option data in the space
// "vendor-4491" finds the same definitions (option_data_parser.cc
// findOptionDefinition: LibDHCP::optionSpaceToVendorId, then
// LibDHCP::getVendorOptionDef, which maps vendor 4491 to "docsis3-v4").
const (
	SpaceDOCSIS3V4  = "docsis3-v4"
	SpaceVendor4491 = "vendor-4491"
)

// docsis3V4Defs are Kea 2.2's DOCSIS3_V4_OPTION_DEFINITIONS.
var docsis3V4Defs = []stdDef{
	{"oro", 1, "uint8", true, nil, ""},
	{"tftp-servers", 2, "ipv4-address", true, nil, ""},
}
